"""Build the JSON Schema for metadata documents from the field-type catalogue.

The schema is the contract for pack authors and their editors. It is generated, committed
as ``metadata/schemas/metadata.schema.json`` and checked by a test, so the file and the
code cannot drift apart. Regenerate it with ``tessera metadata schema --write``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from metadata.automation import SECRET_ENV_PATTERN
from metadata.field_types import COMMON_OPTIONS, TYPES
from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.security import (
    ACCESS_DEPTHS,
    CRITERIA_OPERATORS,
    FIELD_LEVELS,
    OBJECT_ACTIONS,
    SHARE_ACCESS,
)

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
    defs.update(_automation_defs())
    defs.update(_view_defs())
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
        },
        "$defs": defs,
    }


def _names(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
        "description": description,
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


def _view_defs() -> dict[str, Any]:
    """Return the definitions of layouts and list views."""
    fields = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
    }
    return {
        "layout": {
            "type": "object",
            "description": "An object's record page: sections of fields, then related lists.",
            "additionalProperties": False,
            "required": ["object", "sections"],
            "properties": {
                "object": _identifier("The object whose records the layout shows."),
                "label": {"$ref": "#/$defs/text"},
                "sections": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["fields"],
                        "properties": {
                            "label": {"$ref": "#/$defs/text"},
                            "columns": {"type": "integer", "minimum": 1, "maximum": 4},
                            "fields": {**fields, "description": "Fields in reading order."},
                        },
                    },
                },
                "related": {
                    "type": "array",
                    "description": "Related lists: records whose lookup points at this one.",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["object", "field"],
                        "properties": {
                            "object": _identifier("The related object."),
                            "field": _identifier("Its lookup to the layout's object."),
                            "columns": {**fields, "description": "Columns shown."},
                        },
                    },
                },
            },
        },
        "list_view": {
            "type": "object",
            "description": "A named table of records: columns, a filter and a sort.",
            "additionalProperties": False,
            "required": ["object", "columns"],
            "properties": {
                "object": _identifier("The object listed."),
                "label": {"$ref": "#/$defs/text"},
                "columns": {**fields, "description": "Fields shown, in order."},
                "filter": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A boolean expression a record must make true "
                    "(docs/expressions.md).",
                },
                "sort": {
                    "type": "array",
                    "items": {"type": "string", "pattern": "^-?[a-z][a-z0-9_]*$"},
                    "description": "Field names; a leading '-' sorts descending.",
                },
            },
        },
    }


def _automation_defs() -> dict[str, Any]:
    """Return the definitions of workflows, their triggers and actions, and approvals."""
    expression = {"type": "string", "minLength": 1}
    values = {
        "type": "object",
        "minProperties": 1,
        "description": "Field name → expression giving its value (docs/expressions.md).",
        "propertyNames": {"pattern": IDENTIFIER_PATTERN},
        "additionalProperties": {"type": "string", "minLength": 1},
    }
    recipient = {
        "description": "owner (the record's owner), actor (who caused the run), or a "
        "{user: e-mail} / {role: name} / {field: e-mail field}.",
        "anyOf": [
            {"enum": ["owner", "actor"]},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": False,
                "properties": {
                    "user": {"type": "string", "minLength": 3},
                    "role": _identifier("Every member of this role."),
                    "field": _identifier("An e-mail field of the record."),
                },
            },
        ],
    }
    template = {
        "description": "Text with {{ expression }} placeholders; a string or {en, zh-CN}.",
        "$ref": "#/$defs/text",
    }

    def action(kind: str, body: dict[str, Any], description: str) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [kind],
            "properties": {kind: {**body, "description": description}},
        }

    actions = [
        action("update", values, "Set fields of the record."),
        action(
            "create",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["object", "values"],
                "properties": {"object": _identifier("The object to create."), "values": values},
            },
            "Create a record (usually related: give its lookup the value `id`).",
        ),
        action(
            "assign",
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "strategy": {"enum": ["round_robin", "actor", "user"]},
                    "role": _identifier("Round-robin over the active members of this role."),
                    "users": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "user": {"type": "string"},
                    "rules": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["when"],
                            "properties": {
                                "when": expression,
                                "role": _identifier("Round-robin within this role."),
                                "users": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                },
            },
            "Set the owner: round-robin over a role's members or listed users (rules pick "
            "the group by the first matching condition), the actor, or one user.",
        ),
        action(
            "pool",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["field"],
                "properties": {
                    "field": _identifier("The picklist field that names the pool."),
                    "into": {"type": "string", "description": "The pool to move into."},
                    "out": {"type": "boolean", "description": "Take the record out."},
                },
            },
            "Move the record into a pool (the field takes the pool's value and the owner "
            "is cleared) or out of it (the field is cleared; assign an owner next).",
        ),
        action(
            "score",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["field", "add"],
                "properties": {
                    "field": _identifier("A number field."),
                    "add": expression,
                    "on": _identifier(
                        "A lookup field: score the record it points to (an activity "
                        "raising its lead's score) instead of this one."
                    ),
                },
            },
            "Add a number (an expression over this record, may be negative) to a number field.",
        ),
        action(
            "tags",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["field"],
                "properties": {
                    "field": _identifier("A multi_picklist field."),
                    "add": {"type": "array", "items": {"type": "string"}},
                    "remove": {"type": "array", "items": {"type": "string"}},
                },
            },
            "Add or remove values of a multi_picklist field.",
        ),
        action(
            "notify",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["to", "message"],
                "properties": {"to": recipient, "message": template},
            },
            "An in-app notification.",
        ),
        action(
            "email",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["to", "subject", "body"],
                "properties": {"to": recipient, "subject": template, "body": template},
            },
            "An e-mail, through TESSERA_EMAIL_URL (smtp://, file:// or console://).",
        ),
        action(
            "webhook",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["url", "secret_env"],
                "properties": {
                    "url": {"type": "string", "pattern": "^https?://"},
                    "secret_env": {
                        "type": "string",
                        "pattern": SECRET_ENV_PATTERN,
                        "description": "Environment variable holding the signing secret; its name "
                        "starts with TESSERA_HOOK_SECRET_.",
                    },
                },
            },
            "POST the record as JSON, signed as Standard Webhooks do (webhook-id, "
            "webhook-timestamp, webhook-signature: v1,HMAC-SHA256). Internal addresses "
            "are refused unless TESSERA_OUTBOUND_ALLOW names them.",
        ),
        action(
            "approval",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["process"],
                "properties": {"process": _identifier("The approval process.")},
            },
            "Submit the record to an approval process.",
        ),
    ]
    return {
        "workflow": {
            "type": "object",
            "description": "A trigger and the actions it runs, in order.",
            "additionalProperties": False,
            "required": ["trigger", "actions"],
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "description": {"$ref": "#/$defs/text"},
                "object": _identifier("The object whose records it runs on."),
                "active": {"type": "boolean", "description": "Default true."},
                "trigger": {"$ref": "#/$defs/trigger"},
                "actions": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/action"}},
            },
        },
        "trigger": {
            "description": "One of: a record event (on), a time relative to a date field "
            "(at), a cron schedule (schedule), manual, or an inbound webhook.",
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["on"],
                    "properties": {
                        "on": {
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": True,
                            "items": {"enum": ["created", "updated", "deleted", "restored"]},
                        },
                        "condition": expression,
                        "before_save": {
                            "type": "boolean",
                            "description": "Run update/score/tags actions inside the write.",
                        },
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["at"],
                    "properties": {
                        "at": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["field"],
                            "properties": {
                                "field": _identifier("A date or datetime field."),
                                "offset": {
                                    "type": "string",
                                    "pattern": "^-?[0-9]+[smhd]$",
                                    "description": "-3d: three days before; 30d: after.",
                                },
                            },
                        },
                        "condition": expression,
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["schedule"],
                    "properties": {
                        "schedule": {
                            "type": "string",
                            "description": "Cron: minute hour day-of-month month "
                            "day-of-week, in UTC.",
                        }
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["manual"],
                    "properties": {
                        "manual": {
                            "type": ["object", "null"],
                            "additionalProperties": False,
                            "properties": {
                                "label": {"$ref": "#/$defs/text"},
                                "roles": _names("Roles (and those above) that may start it."),
                            },
                        }
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["webhook"],
                    "properties": {
                        "webhook": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["secret_env"],
                            "properties": {
                                "secret_env": {
                                    "type": "string",
                                    "pattern": SECRET_ENV_PATTERN,
                                    "description": "Environment variable holding the secret "
                                    "callers sign with, as Standard Webhooks do "
                                    "(webhook-signature).",
                                }
                            },
                        }
                    },
                },
            ],
        },
        "action": {"description": "One action, a one-key mapping.", "oneOf": actions},
        "approval_process": {
            "type": "object",
            "description": "Steps run one after another; an approval locks its record.",
            "additionalProperties": False,
            "required": ["object", "steps"],
            "properties": {
                "label": {"$ref": "#/$defs/text"},
                "object": _identifier("The object whose records are approved."),
                "entry": {**expression, "description": "Records must meet this to enter."},
                "lock": {"type": "boolean", "description": "Default true."},
                "steps": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["approvers"],
                        "properties": {
                            "name": _identifier("The step's name."),
                            "label": {"$ref": "#/$defs/text"},
                            "mode": {
                                "enum": ["any", "all"],
                                "description": "any: one approver decides; all: every "
                                "approver must approve (parallel).",
                            },
                            "approvers": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "minProperties": 1,
                                    "maxProperties": 1,
                                    "additionalProperties": False,
                                    "properties": {
                                        "user": {"type": "string", "minLength": 3},
                                        "role": _identifier("Any member of this role."),
                                        "manager": {
                                            "const": True,
                                            "description": "The owner's manager.",
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
                **{
                    key: {"type": "array", "items": {"$ref": "#/$defs/action"}}
                    for key in ("on_approve", "on_reject", "on_recall")
                },
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
