"""Build the JSON Schema for metadata documents from the field-type catalogue.

The schema is the contract for pack authors and their editors. It is generated, committed
as ``metadata/schemas/metadata.schema.json`` and checked by a test, so the file and the
code cannot drift apart. Regenerate it with ``tessera metadata schema --write``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metadata.automation_schema import automation_defs
from metadata.calendar import calendar_schema
from metadata.conversions import conversion_schema
from metadata.field_types import COMMON_OPTIONS, TYPES
from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.identifiers import identifier_schema as _identifier
from metadata.identifiers import identifiers_schema as _names
from metadata.security import (
    ACCESS_DEPTHS,
    CRITERIA_OPERATORS,
    FIELD_LEVELS,
    OBJECT_ACTIONS,
    SHARE_ACCESS,
)
from metadata.views_schema import view_defs

SCHEMA_ID = "https://tessera.dev/schemas/metadata.schema.json"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "metadata.schema.json"
LOCALE_PATTERN = "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


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
                "history": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
                    "description": "Opt in to field history: changes to these fields are "
                    "kept (old value, new value, who, when) and queryable in GraphQL.",
                },
                "validation_rules": {
                    "type": "object",
                    "description": "Rules checked on every create and update, in order: a "
                    "write is rejected with the rule's message when its condition is true.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"$ref": "#/$defs/validation_rule"},
                },
                "transitions": {
                    "type": "object",
                    "description": "State machines: which changes of a picklist field are "
                    "allowed, and to whom (by role).",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"$ref": "#/$defs/state_machine"},
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
    defs.update(_security_defs())
    defs.update(automation_defs())
    defs["calendar"] = calendar_schema()
    defs["conversion"] = conversion_schema()
    defs.update(view_defs())
    defs["validation_rule"] = {
        "type": "object",
        "description": "Reject a write whose record makes the condition true.",
        "additionalProperties": False,
        "required": ["condition", "message"],
        "properties": {
            "condition": {
                "type": "string",
                "minLength": 1,
                "description": "A boolean expression over the record (docs/expressions.md); "
                "ISCHANGED and PRIORVALUE compare it with its values before the write.",
            },
            "message": {"$ref": "#/$defs/text"},
            "field": _identifier("The field the message is about (optional)."),
        },
    }
    one_or_many = {
        "anyOf": [
            {"type": "string"},
            {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
        ]
    }
    defs["state_machine"] = {
        "type": "object",
        "description": "Allowed changes of one picklist field; any other change is refused.",
        "additionalProperties": False,
        "required": ["allow"],
        "properties": {
            "initial": {
                **one_or_many,
                "description": "Values a new record may start in (default: any).",
            },
            "allow": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["from", "to"],
                    "properties": {
                        "from": {**one_or_many, "description": "The value(s) moved from."},
                        "to": {**one_or_many, "description": "The value(s) moved to."},
                        "roles": {
                            **one_or_many,
                            "description": "Only these roles (and roles above them) may.",
                        },
                    },
                },
            },
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Tessera metadata",
        "description": "Objects, fields and permissions of a Tessera tenant. See docs/metadata.md "
        "and docs/security.md.",
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
            "roles": {
                "type": "object",
                "description": "The role hierarchy, by role name.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/role"},
            },
            "permission_sets": {
                "type": "object",
                "description": "Permission sets by name; a user holds the union of theirs.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/permission_set"},
            },
            "sharing_rules": {
                "type": "object",
                "description": "Criteria-based sharing rules by name.",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/sharing_rule"},
            },
            "workflows": {
                "type": "object",
                "description": "Workflows by name: a trigger and the actions it runs "
                "(docs/workflows.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/workflow"},
            },
            "approvals": {
                "type": "object",
                "description": "Approval processes by name (docs/workflows.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/approval_process"},
            },
            "calendars": {
                "type": "object",
                "description": "Working-day calendars by name; standard is the tenant's "
                "(docs/workflows.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/calendar"},
            },
            "conversions": {
                "type": "object",
                "description": "Conversions by name: a record made into others, with a "
                "duplicate check (docs/workflows.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/conversion"},
            },
            "layouts": {
                "type": "object",
                "description": "Record page layouts by name (docs/metadata.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/layout"},
            },
            "list_views": {
                "type": "object",
                "description": "List views by name (docs/metadata.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/list_view"},
            },
            "navigation": {
                "type": "object",
                "description": "Apps of the web app's switcher by name, each with its "
                "navigation (docs/web-app.md).",
                "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/app"},
            },
        },
        "$defs": defs,
    }


def _security_defs() -> dict[str, Any]:
    """Return the definitions of roles, permission sets and sharing rules."""
    return {
        "role": {
            "type": ["object", "null"],
            "description": "A role. Managers' roles see what their subtree owns.",
            "additionalProperties": False,
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "reports_to": _identifier("The role directly above this one."),
            },
        },
        "permission_set": {
            "type": "object",
            "description": "Object, field and record-access permissions.",
            "additionalProperties": False,
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "description": {"$ref": "#/$defs/text"},
                "roles": _names("Roles whose members all hold this set."),
                "objects": {
                    "type": "object",
                    "description": "What the set allows, by object name.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"$ref": "#/$defs/object_grant"},
                },
            },
        },
        "object_grant": {
            "type": "object",
            "description": "Permissions on one object.",
            "additionalProperties": False,
            "required": ["allow"],
            "properties": {
                "allow": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": list(OBJECT_ACTIONS)},
                    "description": "Actions allowed; any of them implies read.",
                },
                "access": {
                    "enum": list(ACCESS_DEPTHS),
                    "description": "Which records: those one owns (own, the default), those "
                    "owned in one's role subtree (subtree), or all (tenant).",
                },
                "fields": {
                    "type": "object",
                    "description": "Field levels below edit (the default): read or none.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"enum": list(FIELD_LEVELS)},
                },
            },
        },
        "sharing_rule": {
            "type": "object",
            "description": "Share the records of an object that match criteria with a role.",
            "additionalProperties": False,
            "required": ["object", "criteria", "share_with"],
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "object": _identifier("The object whose records are shared."),
                "criteria": {
                    "type": "object",
                    "minProperties": 1,
                    "description": "Field name → value (equals) or {operator: value}; all "
                    "must hold.",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {
                        "anyOf": [
                            {"type": ["string", "number", "boolean"]},
                            {
                                "type": "object",
                                "minProperties": 1,
                                "maxProperties": 1,
                                "propertyNames": {"enum": list(CRITERIA_OPERATORS)},
                            },
                        ]
                    },
                },
                "share_with": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["role"],
                    "properties": {
                        "role": _identifier("The role the records are shared with."),
                        "subordinates": {
                            "type": "boolean",
                            "description": "Also share with the roles below it.",
                        },
                    },
                },
                "access": {"enum": list(SHARE_ACCESS), "description": "read (default) or edit."},
            },
        },
    }


def render_schema() -> str:
    """Return the schema as the exact text committed to the repository."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the generated schema to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_schema(), encoding="utf-8")
    return path
