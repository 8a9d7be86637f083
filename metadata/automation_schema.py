"""The JSON Schema of automation: workflows, their triggers and actions, and approval
processes (part of ``metadata.schema.json``, built by ``metadata/json_schema.py``)."""

from __future__ import annotations

from typing import Any

from metadata.automation import SECRET_ENV_PATTERN
from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.identifiers import identifier_schema as _identifier
from metadata.identifiers import identifiers_schema as _names


def automation_defs() -> dict[str, Any]:
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

    approver = {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {
            "user": {"type": "string", "minLength": 3},
            "role": _identifier("Any member of this role."),
            "manager": {"const": True, "description": "The owner's manager."},
        },
    }
    timeout = {
        "type": "object",
        "additionalProperties": False,
        "description": "How long the step waits: after (2d, 12h) or workdays (by the "
        "tenant's calendar); then escalate (to the approvers' managers, or to), approve "
        "or reject.",
        "oneOf": [{"required": ["after"]}, {"required": ["workdays"]}],
        "properties": {
            "after": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
            "workdays": {"type": "integer", "minimum": 1, "maximum": 60},
            "then": {"enum": ["escalate", "approve", "reject"]},
            "to": approver,
        },
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
                    "strategy": {
                        "enum": ["round_robin", "least_loaded", "actor", "user"],
                        "description": "round_robin: in turn (weights: more turns); "
                        "least_loaded: whoever holds the fewest open records; actor: who "
                        "caused the run; user: one named user. Members who are inactive or "
                        "away are skipped.",
                    },
                    "weights": {
                        "type": "object",
                        "description": "E-mail → turns in each round (default 1).",
                        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                    "capacity": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Skip anyone already owning this many open records.",
                    },
                    "open": {
                        **expression,
                        "description": "Which of the object's records count as open for "
                        "capacity and least_loaded (default: all live records).",
                    },
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
            "update_parent",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["on", "values"],
                "properties": {
                    "on": _identifier(
                        "A lookup (or polymorphic lookup) of this record: the record it "
                        "points to is updated."
                    ),
                    "values": {
                        **values,
                        "description": "Field of the parent → expression over this record.",
                    },
                },
            },
            "Update the record a lookup points to (a follow-up setting its lead's "
            "last_activity). A polymorphic lookup's target without a field is skipped.",
        ),
        action(
            "update_children",
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["object", "via", "values"],
                "properties": {
                    "object": _identifier("The child object."),
                    "via": _identifier("The child's lookup to this record."),
                    "where": {**expression, "description": "Only children meeting this."},
                    "values": {
                        **values,
                        "description": "Field of the child → expression over the child "
                        "(reach this record through the lookup: account.tier).",
                    },
                },
            },
            "Update every live child of the record that meets a condition (at most "
            "500 per step: a step is one transaction).",
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
                "run_as": {
                    "enum": ["system", "actor"],
                    "description": "Whose permissions record writes go through: the "
                    "platform's (default) or those of the person who caused the run.",
                },
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
                        "repeat": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["every", "times"],
                            "description": "Fire again every so long while the condition "
                            "holds, at most times in all.",
                            "properties": {
                                "every": {"type": "string", "pattern": "^[0-9]+[smhd]$"},
                                "times": {"type": "integer", "minimum": 2, "maximum": 1000},
                            },
                        },
                        "catch_up": {
                            "enum": ["fire", "skip"],
                            "description": "Records already past their moment when the "
                            "workflow starts: fire each once now (default), or skip them.",
                        },
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
                            "day-of-week, in the tenant's time zone.",
                        },
                        "condition": {
                            **expression,
                            "description": "With object: the records each firing runs "
                            "on, one run per record.",
                        },
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
                                "access": {
                                    "enum": ["edit", "read"],
                                    "description": "Who may start it on a record: those "
                                    "who can edit it (default) or read it.",
                                },
                            },
                        },
                        "condition": {
                            **expression,
                            "description": "Records it may start on (checked when "
                            "started and again when it runs).",
                        },
                        "limit": {
                            **expression,
                            "description": "Must hold for the person starting it: "
                            "COUNT('lead', ISBLANK(pool)) < 50.",
                        },
                        "messages": {
                            "type": "object",
                            "additionalProperties": False,
                            "description": "The refusals, {en, zh-CN}.",
                            "properties": {
                                "condition": {"$ref": "#/$defs/text"},
                                "limit": {"$ref": "#/$defs/text"},
                            },
                        },
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
                            "when": {
                                **expression,
                                "description": "Skip the step for records not meeting "
                                "this (a director only above 25%).",
                            },
                            "timeout": timeout,
                            "mode": {
                                "enum": ["any", "all"],
                                "description": "any: one approver decides; all: every "
                                "approver must approve (parallel).",
                            },
                            "approvers": {
                                "type": "array",
                                "minItems": 1,
                                "items": approver,
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
