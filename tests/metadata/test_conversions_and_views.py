"""Conversions, layouts' path bars and actions, list views' grouping and the apps'
navigation: each mistake is refused at its place, with the choices when there are any."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metadata.errors import MetadataError
from metadata.source import parse_text
from metadata.validation import validate_data

BASE = Path(__file__).parents[1] / "runtime" / "workflows" / "automation.yaml"

CONVERSION = {
    "object": "lead",
    "roles": ["rep"],
    "condition": "status = 'contacted'",
    "targets": {
        "account": {"object": "account", "values": {"name": "name"}, "match": ["name"]},
        "task": {
            "object": "task",
            "values": {"subject": "'Meet ' & name"},
            "links": {"account": "account"},
        },
    },
    "update": {"status": "'new'"},
}


def problems(**sections: Any) -> dict[str, str]:
    base = parse_text(BASE.read_text(encoding="utf-8"), file=str(BASE)).data
    merged = {**base}
    for section, items in sections.items():
        merged[section] = {**(base.get(section) or {}), **items}
    try:
        validate_data(merged)
    except MetadataError as exc:
        return {issue.pointer: issue.message for issue in exc.issues}
    return {}


def test_a_conversion_validates():
    assert problems(conversions={"convert": CONVERSION}) == {}


@pytest.mark.parametrize(
    ("change", "pointer", "words"),
    [
        ({"object": "nope"}, "/conversions/c/object", "no object"),
        ({"roles": ["nobody"]}, "/conversions/c/roles/0", "no role"),
        ({"condition": "status +"}, "/conversions/c/condition", "in: status +"),
        ({"update": {"nope": "1"}}, "/conversions/c/update/nope", "no field"),
        (
            {"targets": {"account": {"object": "account", "values": {"name": "nope"}}}},
            "/conversions/c/targets/account/values/name",
            "nope",
        ),
        (
            {"targets": {"task": {"object": "task", "links": {"account": "account"}}}},
            "/conversions/c/targets/task/links/account",
            "not the source or an earlier target",
        ),
        (
            {"targets": {"task": {"object": "task", "links": {"account": "source"}}}},
            "/conversions/c/targets/task/links/account",
            "not a lookup to lead",
        ),
        (
            {"targets": {"account": {"object": "account", "match": ["phone"]}}},
            "/conversions/c/targets/account/match/phone",
            "no field",
        ),
    ],
)
def test_conversion_mistakes_are_refused_at_their_place(change, pointer, words):
    found = problems(conversions={"c": {**CONVERSION, **change}})
    assert pointer in found, found
    assert words in found[pointer]


LAYOUT = {"object": "lead", "sections": [{"fields": ["name"]}]}


def test_path_bars_actions_grouping_and_navigation_are_checked():
    found = problems(
        layouts={
            "a": {**LAYOUT, "path": "name", "actions": ["claim_lead", "nope"]},
        },
        list_views={"v": {"object": "lead", "columns": ["name"], "group_by": "nope"}},
        navigation={
            "crm": {
                "items": [
                    {"object": "lead", "list_view": "missing"},
                    {"object": "lead", "kanban": "name"},
                    {"object": "nothing"},
                ]
            }
        },
    )
    assert "no picklist field 'name'" in found["/layouts/a/path"]
    assert "'nope' is not a manual workflow" in found["/layouts/a/actions/1"]
    assert "/layouts/a/actions/0" not in found  # claim_lead is the lead's manual workflow
    assert "no field 'nope'" in found["/list_views/v/group_by/0"]
    assert "no list view 'missing'" in found["/navigation/crm/items/0/list_view"]
    assert "no picklist field" in found["/navigation/crm/items/1/kanban"]
    assert "no object 'nothing'" in found["/navigation/crm/items/2/object"]
    rules = problems(
        layouts={
            "a": {
                **LAYOUT,
                "rules": {
                    "name": {
                        "visible": "territory.name = 'x'",
                        "read_only": "COUNT('lead', TRUE) > 1",
                    },
                    "nope": {"visible": "TRUE"},
                    "status": {"read_only": "ISMEMBER('rep') AND status = 'new'"},
                },
            }
        }
    )
    assert "not through a lookup" in rules["/layouts/a/rules/name/visible"]
    assert "COUNT is not evaluated in the browser" in rules["/layouts/a/rules/name/read_only"]
    assert "no field 'nope'" in rules["/layouts/a/rules/nope"]
    assert not [p for p in rules if p.startswith("/layouts/a/rules/status")]
    good = problems(
        layouts={"a": {**LAYOUT, "path": "status", "actions": ["claim_lead"]}},
        navigation={
            "crm": {
                "label": {"en": "CRM", "zh-CN": "客户"},
                "items": [{"object": "lead", "kanban": "status"}],
            }
        },
    )
    assert good == {}
