"""Automation metadata that cannot work is refused at validation, each mistake at its
place with what to do: related-record actions, moments, repeats, manual limits, engine
functions outside the engine, calendars and approval timeouts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metadata.errors import MetadataError
from metadata.validation import validate_data

BASE: dict[str, Any] = {
    "objects": {
        "lead": {
            "fields": {
                "name": {"type": "text"},
                "pool": {"type": "picklist", "values": ["public"]},
                "assigned_at": {"type": "datetime"},
                "score": {"type": "integer"},
            }
        },
        "activity": {
            "fields": {"subject": {"type": "text"}, "lead": {"type": "lookup", "to": "lead"}}
        },
        "quote": {"fields": {"discount": {"type": "percent"}}},
    },
    "roles": {"boss": {}, "rep": {"reports_to": "boss"}},
}


def problems(**sections: Any) -> list[tuple[str, str, str]]:
    doc = copy.deepcopy(BASE)
    for key, value in sections.items():
        if key == "fields":
            doc["objects"]["lead"]["fields"].update(value)
        else:
            doc[key] = value
    try:
        validate_data(doc)
    except MetadataError as exc:
        return [(i.pointer, i.code, i.message) for i in exc.issues]
    return []


def flow(trigger: dict[str, Any], actions: list[Any] | None = None, obj: str = "lead") -> dict:
    return {
        "w": {
            "object": obj,
            "trigger": trigger,
            "actions": actions or [{"update": {"name": "name"}}],
        }
    }


@pytest.mark.parametrize(
    ("sections", "pointer", "code", "words"),
    [
        (
            {"workflows": flow({"at": {"field": "name", "offset": "1d"}})},
            "/workflows/w/trigger/at/field",
            "invalid_field",
            "no moment",
        ),
        (
            {
                "workflows": flow(
                    {"at": {"field": "assigned_at"}, "repeat": {"every": "2x", "times": 3}}
                )
            },
            "/workflows/w/trigger/repeat/every",
            "schema",
            "",
        ),
        (
            {
                "workflows": flow(
                    {"on": ["created"]},
                    [{"update_parent": {"on": "subject", "values": {"name": "'x'"}}}],
                    "activity",
                )
            },
            "/workflows/w/actions/0/update_parent/on",
            "invalid_field",
            "this needs lookup",
        ),
        (
            {
                "workflows": flow(
                    {"on": ["created"]},
                    [{"update_parent": {"on": "lead", "values": {"nope": "'x'"}}}],
                    "activity",
                )
            },
            "/workflows/w/actions/0/update_parent/values",
            "unknown_field",
            "has every field",
        ),
        (
            {
                "workflows": flow(
                    {"on": ["created"]},
                    [
                        {
                            "update_children": {
                                "object": "activity",
                                "via": "lead",
                                "values": {"subject": "score"},
                            }
                        }
                    ],
                )
            },
            "/workflows/w/actions/0/update_children/values/subject",
            "invalid_expression",
            "activity has no field 'score'",
        ),
        (
            {"workflows": flow({"manual": {}, "limit": "COUNT('leed', TRUE) < 5"})},
            "/workflows/w/trigger/limit",
            "invalid_expression",
            "there is no object 'leed'",
        ),
        (
            {"workflows": flow({"manual": {}, "condition": "ISMEMBER('chief')"})},
            "/workflows/w/trigger/condition",
            "invalid_expression",
            "there is no role 'chief'",
        ),
        (
            {
                "fields": {
                    "due": {
                        "type": "formula",
                        "returns": "date",
                        "expression": "ADDWORKDAYS(TODAY(), 2)",
                    }
                }
            },
            "/objects/lead/fields/due/expression",
            "invalid_expression",
            "workflow engine",
        ),
        (
            {
                "workflows": flow({"schedule": "0 9 * * 1", "condition": "score > 1"})
                | {
                    "w": {
                        "trigger": {"schedule": "0 9 * * 1", "condition": "score > 1"},
                        "actions": [{"notify": {"to": {"role": "boss"}, "message": "hi"}}],
                    }
                }
            },
            "/workflows/w/trigger/condition",
            "missing_object",
            "give the workflow an object",
        ),
        (
            {"calendars": {"standard": {"holidays": ["2027-02-30"]}}},
            "/calendars/standard/holidays/0",
            "invalid_date",
            "is not a date",
        ),
        (
            {"calendars": {"standard": {"holidays": ["2027-04-05"], "workdays": ["2027-04-05"]}}},
            "/calendars/standard/workdays",
            "invalid_calendar",
            "both a holiday and a working day",
        ),
        (
            {
                "approvals": {
                    "a": {
                        "object": "quote",
                        "steps": [
                            {
                                "approvers": [{"role": "boss"}],
                                "timeout": {
                                    "workdays": 2,
                                    "then": "approve",
                                    "to": {"role": "boss"},
                                },
                            }
                        ],
                    }
                }
            },
            "/approvals/a/steps/0/timeout/to",
            "invalid_timeout",
            "then: escalate",
        ),
        (
            {
                "approvals": {
                    "a": {
                        "object": "quote",
                        "steps": [{"approvers": [{"role": "boss"}], "when": "discount"}],
                    }
                }
            },
            "/approvals/a/steps/0/when",
            "invalid_expression",
            "boolean",
        ),
    ],
)
def test_mistakes_are_refused_where_they_are(sections, pointer, code, words):
    found = problems(**sections)
    assert any(
        p == pointer and (c == code or code == "schema") and words in m for p, c, m in found
    ), found


def test_the_new_shapes_validate_when_right():
    assert (
        problems(
            fields={
                "idle": {
                    "type": "formula",
                    "returns": "datetime",
                    "expression": "BLANKVALUE(assigned_at, created_at)",
                }
            },
            workflows={
                "reclaim": {
                    "object": "lead",
                    "trigger": {
                        "at": {"field": "idle", "offset": "3d"},
                        "repeat": {"every": "1d", "times": 2},
                        "catch_up": "skip",
                    },
                    "actions": [{"pool": {"field": "pool", "into": "public"}}],
                },
                "touch": {
                    "object": "activity",
                    "run_as": "actor",
                    "trigger": {"on": ["created"]},
                    "actions": [
                        {"update_parent": {"on": "lead", "values": {"assigned_at": "NOW()"}}}
                    ],
                },
                "claim": {
                    "object": "lead",
                    "trigger": {
                        "manual": {"access": "read"},
                        "condition": "pool = 'public' AND ISMEMBER('rep')",
                        "limit": "COUNT('lead', ISBLANK(pool)) < 50",
                        "messages": {"limit": {"en": "Full", "zh-CN": "已满"}},
                    },
                    "actions": [
                        {"pool": {"field": "pool", "out": True}},
                        {"assign": {"strategy": "actor"}},
                    ],
                },
            },
            calendars={
                "standard": {
                    "weekend": ["sun"],
                    "holidays": ["2027-10-01"],
                    "workdays": ["2027-10-09"],
                }
            },
        )
        == []
    )
