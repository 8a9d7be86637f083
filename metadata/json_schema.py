"""Build the JSON Schema for metadata documents from the field-type catalogue.

The schema is the contract for pack authors and their editors. It is generated, committed
as ``metadata/schemas/metadata.schema.json`` and checked by a test, so the file and the
code cannot drift apart. Regenerate it with ``tessera metadata schema --write``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metadata.field_types import COMMON_OPTIONS, TYPES
from metadata.identifiers import IDENTIFIER_PATTERN

SCHEMA_ID = "https://tessera.dev/schemas/metadata.schema.json"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "metadata.schema.json"
LOCALE_PATTERN = "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


def _identifier(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": IDENTIFIER_PATTERN, "description": description}


def _field_variant(type_name: str) -> dict[str, Any]:
    ftype = TYPES[type_name]
    properties: dict[str, Any] = {
        "type": {"const": type_name, "description": ftype.description},
    }
    for name, option in COMMON_OPTIONS.items():
        properties[name] = {**option.schema, "description": option.description}
    for name, option in ftype.options.items():
        properties[name] = {**option.schema, "description": option.description}
    if ftype.default_schema is not None:
        properties["default"] = {
            **ftype.default_schema,
            "description": "Value a new record gets when none is given.",
        }
    variant: dict[str, Any] = {
        "type": "object",
        "description": ftype.description,
        "properties": properties,
        "additionalProperties": False,
    }
    required = [name for name, option in ftype.options.items() if option.required]
    if required:
        variant["required"] = required
    return variant


def build_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) that every metadata document must match."""
    type_names = list(TYPES)
    defs: dict[str, Any] = {
        "text": {
            "description": "Translatable text: a plain string (English) or a map from "
            "locale to string, e.g. {en: Account, zh-CN: 客户}.",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": LOCALE_PATTERN},
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
            ],
        },
        "index": {
            "type": "object",
            "description": "An index over one or more fields, optionally unique.",
            "required": ["fields"],
            "additionalProperties": False,
            "properties": {
                "fields": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "uniqueItems": True,
                    "items": {"type": "string"},
                    "description": "Field names, in index order.",
                },
                "unique": {
                    "type": "boolean",
                    "description": "No two live records may share the combination.",
                },
            },
        },
        "object": {
            "type": "object",
            "description": "A business object: one table per tenant and one GraphQL type.",
            "additionalProperties": False,
            "properties": {
                "label": {"$ref": "#/$defs/text", "description": "Singular display name."},
                "plural": {"$ref": "#/$defs/text", "description": "Plural display name."},
                "description": {"$ref": "#/$defs/text"},
                "plural_name": _identifier(
                    "API name for the list (GraphQL root field); defaults to the English "
                    "plural of the object name."
                ),
                "renamed_from": {
                    "type": "string",
                    "description": "Previous name: the change is a rename and keeps the data.",
                },
                "fields": {
                    "type": "object",
                    "description": "Fields by name. System fields are added automatically.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"$ref": "#/$defs/field"},
                },
                "indexes": {"type": "array", "items": {"$ref": "#/$defs/index"}},
                "search": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                    "description": "Opt in to full-text search: the text fields it matches, "
                    "most telling first (the first one titles a search hit).",
                },
                "junction": {
                    "type": "object",
                    "minProperties": 2,
                    "maxProperties": 2,
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                    "description": "Make this a junction object for a many-to-many relation: "
                    "map each of its two reference fields to the name of the relation that "
                    "the object it refers to gets, reaching the records of the other field.",
                },
            },
        },
        "field": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"enum": type_names, "description": "The field type."},
            },
            "allOf": [
                {
                    "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                    "then": {"$ref": f"#/$defs/field_{name}"},
                }
                for name in type_names
            ],
        },
    }
    for name in type_names:
        defs[f"field_{name}"] = _field_variant(name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera metadata",
        "description": "Objects and fields of a Tessera tenant. See docs/metadata.md.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string"},
            "objects": {
                "type": "object",
                "description": "Objects by name.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/object"},
            },
        },
        "$defs": defs,
    }


def render_schema() -> str:
    """Return the schema as the exact text committed to the repository."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the generated schema to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema(), encoding="utf-8")
    return path
