"""The catalogue of field types: options, allowed defaults and capabilities.

This is the single source for what a field of each type may declare. The JSON Schema
(``metadata.json_schema``), semantic validation and the docs all read it, so adding a type
here is the first step and the tests point out the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metadata.identifiers import IDENTIFIER_PATTERN

#: Largest / smallest value a 64-bit integer column holds.
BIGINT_MAX = 2**63 - 1
BIGINT_MIN = -(2**63)


@dataclass(frozen=True)
class Option:
    """A type-specific field option such as ``max_length`` or ``precision``."""

    schema: Mapping[str, Any]
    """JSON Schema fragment the option's value must match."""
    description: str
    """One sentence for the docs and for editors that show schema descriptions."""
    default: Any = None
    """Value the canonical form fills in when the option is omitted (None: stays absent)."""
    required: bool = False
    """Whether the option must be given."""


@dataclass(frozen=True)
class FieldType:
    """One field type and everything a metadata author may say about it."""

    name: str
    description: str
    options: Mapping[str, Option] = field(default_factory=dict)
    default_schema: Mapping[str, Any] | None = None
    """JSON Schema for the field's ``default``; None means the type takes no default."""
    can_be_unique: bool = True
    can_be_indexed: bool = True
    can_be_required: bool = True
    is_relation: bool = False
    is_string: bool = False
    """Stored as a bounded string column whose length comes from ``max_length``."""
    computed: bool = False
    """Not stored: computed in the SQL of each read (formulas, roll-ups)."""


def _len(limit: int, default: int | None, what: str) -> Option:
    return Option(
        schema={"type": "integer", "minimum": 1, "maximum": limit},
        description=f"Longest {what} accepted, in characters (at most {limit}).",
        default=default,
    )


def _precision(default: int) -> Option:
    return Option(
        schema={"type": "integer", "minimum": 1, "maximum": 38},
        description="Total number of significant digits (1-38).",
        default=default,
    )


def _scale(default: int) -> Option:
    return Option(
        schema={"type": "integer", "minimum": 0, "maximum": 38},
        description="Digits after the decimal point; at most the precision.",
        default=default,
    )


_PICKLIST_VALUE = "^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,99}$"
_VALUES = Option(
    schema={
        "type": "array",
        "minItems": 1,
        "items": {
            "anyOf": [
                {"type": "string", "pattern": _PICKLIST_VALUE},
                {
                    "type": "object",
                    "required": ["value"],
                    "additionalProperties": False,
                    "properties": {
                        "value": {"type": "string", "pattern": _PICKLIST_VALUE},
                        "label": {"$ref": "#/$defs/text"},
                        "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
                        "inactive": {
                            "type": "boolean",
                            "description": "Kept on existing records but no longer offered.",
                        },
                    },
                },
            ]
        },
    },
    description="Allowed values, in display order: a value code, or an object with a "
    "translatable label.",
    required=True,
)
_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_ISO_TIME = r"\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"

TYPES: Mapping[str, FieldType] = MappingProxyType(
    {
        t.name: t
        for t in (
            FieldType(
                "text",
                "Single-line text.",
                {"max_length": _len(4000, 255, "text")},
                {"type": "string"},
                is_string=True,
            ),
            FieldType(
                "long_text",
                "Multi-line plain text.",
                {"max_length": _len(1_000_000, 131072, "text")},
                {"type": "string"},
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "rich_text",
                "Formatted text (HTML).",
                {"max_length": _len(1_000_000, 131072, "text")},
                {"type": "string"},
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "integer",
                "Whole number (64-bit).",
                {},
                {"type": "integer", "minimum": BIGINT_MIN, "maximum": BIGINT_MAX},
            ),
            FieldType(
                "decimal",
                "Exact decimal number.",
                {"precision": _precision(18), "scale": _scale(2)},
                {"type": "number"},
            ),
            FieldType(
                "currency",
                "Money: an amount plus its ISO 4217 currency code.",
                {
                    "precision": _precision(18),
                    "scale": _scale(2),
                    "default_currency": Option(
                        schema={"type": "string", "pattern": "^[A-Z]{3}$"},
                        description="ISO 4217 code used when a value comes without one.",
                        default="CNY",
                    ),
                },
                {"type": "number"},
            ),
            FieldType(
                "percent",
                "Percentage, stored as the number shown (12.5 means 12.5%).",
                {"precision": _precision(7), "scale": _scale(2)},
                {"type": "number"},
            ),
            FieldType(
                "boolean",
                "True or false.",
                {},
                {"type": "boolean"},
                can_be_unique=False,
            ),
            FieldType(
                "date",
                "Calendar date.",
                {},
                {"type": "string", "pattern": f"^(today|{_ISO_DATE})$"},
            ),
            FieldType(
                "datetime",
                "Point in time, stored in UTC.",
                {},
                {
                    "type": "string",
                    "pattern": f"^(now|{_ISO_DATE}T{_ISO_TIME}(Z|[+-]\\d{{2}}:\\d{{2}}))$",
                },
            ),
            FieldType(
                "time",
                "Time of day.",
                {},
                {"type": "string", "pattern": f"^{_ISO_TIME}$"},
            ),
            FieldType(
                "duration",
                "Length of time, in whole seconds.",
                {},
                {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX},
            ),
            FieldType(
                "email",
                "E-mail address.",
                {"max_length": _len(320, 254, "address")},
                {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
                is_string=True,
            ),
            FieldType(
                "phone",
                "Phone number.",
                {"max_length": _len(64, 40, "number")},
                {"type": "string", "pattern": r"^\+?[0-9][0-9 ()\-.]{1,62}$"},
                is_string=True,
            ),
            FieldType(
                "url",
                "Web address.",
                {"max_length": _len(4000, 2048, "address")},
                {"type": "string", "pattern": r"^https?://\S+$"},
                is_string=True,
            ),
            FieldType(
                "picklist",
                "One value from a fixed list.",
                {"values": _VALUES},
                {"type": "string"},
            ),
            FieldType(
                "multi_picklist",
                "Any number of values from a fixed list.",
                {"values": _VALUES},
                {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "lookup",
                "Reference to one record of another (or the same) object.",
                {
                    "to": Option(
                        schema={"type": "string"},
                        description="Name of the object referred to.",
                        required=True,
                    ),
                    "on_delete": Option(
                        schema={"enum": ["restrict", "set_null", "cascade"]},
                        description="What happens to this record when the referred record "
                        "is deleted. Defaults to set_null, or restrict for a required lookup.",
                    ),
                    "related_name": Option(
                        schema={"type": "string"},
                        description="Name of the reverse to-many relation on the referred "
                        "object. Defaults to this object's plural name.",
                    ),
                },
                None,
                is_relation=True,
            ),
            FieldType(
                "master_detail",
                "Required reference to a parent record that owns this one: deleting the "
                "parent deletes its details.",
                {
                    "to": Option(
                        schema={"type": "string"},
                        description="Name of the master object.",
                        required=True,
                    ),
                    "related_name": Option(
                        schema={"type": "string"},
                        description="Name of the reverse to-many relation on the master.",
                    ),
                },
                None,
                can_be_required=False,
                is_relation=True,
            ),
            FieldType(
                "auto_number",
                "Number assigned on insert from a pattern, without gaps within a tenant.",
                {
                    "format": Option(
                        schema={"type": "string", "minLength": 1, "maxLength": 60},
                        description="Pattern such as 'Q-{YYYY}-{0000}': {YYYY}, {YY}, {MM} "
                        "and {DD} are the insert date, and one run of zeros in braces is the "
                        "counter, padded to that width.",
                        required=True,
                    ),
                    "start": Option(
                        schema={"type": "integer", "minimum": 0, "maximum": BIGINT_MAX},
                        description="First counter value.",
                        default=1,
                    ),
                    "reset": Option(
                        schema={"enum": ["never", "yearly", "monthly", "daily"]},
                        description="Restart the counter each period; the format must show "
                        "that period's date parts.",
                        default="never",
                    ),
                },
                None,
                can_be_required=False,
            ),
            FieldType("json", "Any JSON value.", {}, {}, can_be_unique=False, can_be_indexed=False),
            FieldType(
                "formula",
                "Computed from an expression over the record (docs/expressions.md) each time "
                "it is read; not stored, so it can be filtered and sorted but not written.",
                {
                    "expression": Option(
                        schema={"type": "string", "minLength": 1},
                        description="The expression, e.g. amount * probability / 100.",
                        required=True,
                    ),
                    "returns": Option(
                        schema={"enum": ["number", "text", "boolean", "date", "datetime"]},
                        description="The type the expression gives.",
                        required=True,
                    ),
                    "scale": Option(
                        schema={"type": "integer", "minimum": 0, "maximum": 10},
                        description="Decimals shown for a number (0-10).",
                        default=2,
                    ),
                },
                None,
                can_be_unique=False,
                can_be_indexed=False,
                can_be_required=False,
                computed=True,
            ),
            FieldType(
                "rollup",
                "A count, sum, minimum or maximum over the child records that refer to this "
                "one through a lookup, optionally filtered; computed in the SQL of each read.",
                {
                    "from": Option(
                        schema={
                            "type": "string",
                            "pattern": "^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$",
                        },
                        description="The children: 'object.lookup_field', a lookup to this "
                        "object (e.g. opportunity.account on account).",
                        required=True,
                    ),
                    "function": Option(
                        schema={"enum": ["count", "sum", "min", "max"]},
                        description="What to compute over the children.",
                        required=True,
                    ),
                    "field": Option(
                        schema={"type": "string", "pattern": IDENTIFIER_PATTERN},
                        description="The child field summed or compared (not for count).",
                    ),
                    "where": Option(
                        schema={"type": "string", "minLength": 1},
                        description="Only children for which this expression is true.",
                    ),
                },
                None,
                can_be_unique=False,
                can_be_indexed=False,
                can_be_required=False,
                computed=True,
            ),
            FieldType(
                "uuid",
                "Universally unique identifier.",
                {},
                {
                    "type": "string",
                    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                    "[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                },
            ),
            FieldType(
                "address",
                "A postal address in Chinese order: country, province, city, district, "
                "street and postal code, each filterable; also kept as one line for search.",
                {},
                None,
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "polymorphic_lookup",
                "Reference to one record of any of several objects (an activity about an "
                "account, a contact or a deal): the object and the record's id.",
                {
                    "to": Option(
                        schema={
                            "type": "array",
                            "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                            "minItems": 2,
                            "uniqueItems": True,
                        },
                        description="The objects a value may refer to (two or more).",
                        required=True,
                    ),
                },
                None,
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "attachment",
                "A file kept by the platform's file store, uploaded and downloaded through "
                "the API with the record's permissions; the record keeps its name, size, "
                "content type and SHA-256 checksum.",
                {
                    "max_size": Option(
                        schema={"type": "integer", "minimum": 1, "maximum": 1_073_741_824},
                        description="Largest file accepted, in bytes (default 10 MB; the "
                        "platform's TESSERA_FILES_MAX_BYTES caps every field).",
                        default=10_485_760,
                    ),
                    "content_types": Option(
                        schema={
                            "type": "array",
                            "items": {
                                "type": "string",
                                "pattern": "^[a-z]+/([a-z0-9.+-]+|\\*)$",
                            },
                            "uniqueItems": True,
                        },
                        description="Content types accepted, such as application/pdf or "
                        "image/* (default: any).",
                    ),
                },
                None,
                can_be_unique=False,
                can_be_indexed=False,
            ),
            FieldType(
                "geolocation",
                "A point on Earth: latitude and longitude in degrees (WGS 84), filterable by "
                "distance from a point.",
                {},
                None,
                can_be_unique=False,
                can_be_indexed=False,
            ),
        )
    }
)

#: Options every field may declare, whatever its type.
COMMON_OPTIONS: Mapping[str, Option] = MappingProxyType(
    {
        "label": Option({"$ref": "#/$defs/text"}, "Display name; a string or locale map."),
        "description": Option({"$ref": "#/$defs/text"}, "What the field is for."),
        "help_text": Option({"$ref": "#/$defs/text"}, "Hint shown next to the input."),
        "required": Option({"type": "boolean"}, "Every record must have a value.", default=False),
        "unique": Option(
            {"type": "boolean"},
            "No two live records may share a value (soft-deleted ones do not count).",
            default=False,
        ),
        "renamed_from": Option(
            {"type": "string"},
            "Previous name of this field: the change is a rename and keeps the data.",
        ),
    }
)
