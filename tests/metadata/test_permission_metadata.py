"""Permission metadata: parsed into the model, and every wrong name reported with its line."""

from __future__ import annotations

import pytest

from metadata.errors import MetadataError
from metadata.snapshot import Snapshot
from metadata.validation import validate_text

GOOD = """
objects:
  opportunity:
    history: [stage]
    fields:
      name: {type: text, required: true}
      region: {type: picklist, values: [east, west]}
      stage: {type: picklist, values: [new, won]}
      amount: {type: currency}
roles:
  director: {label: {en: Sales director, zh-CN: 销售总监}}
  manager: {reports_to: director}
  rep: {reports_to: manager}
  east_team:
permission_sets:
  sales:
    roles: [rep, manager]
    objects:
      opportunity:
        allow: [create, update]
        access: subtree
        fields: {amount: read, region: none, name: edit}
sharing_rules:
  east:
    object: opportunity
    criteria: {region: east, amount: {gte: 1000}}
    share_with: {role: east_team, subordinates: true}
    access: edit
"""


def test_permission_metadata_builds_the_model():
    model = validate_text(GOOD).model
    security = model.security
    assert security.subtree("director") == ["director", "manager", "rep"]
    assert security.ancestors("rep") == ["manager", "director"]
    grant = security.permission_sets["sales"].objects["opportunity"]
    # Any action implies read; "edit" is the default, so only lower levels are kept.
    assert grant.allow == {"read", "create", "update"}
    assert dict(grant.fields) == {"amount": "read", "region": "none"}
    rule = security.sharing_rules["east"]
    assert dict(rule.criteria["region"]) == {"eq": "east"}
    assert (rule.role, rule.subordinates, rule.access) == ("east_team", True, "edit")
    assert model.objects["opportunity"].history == ("stage",)
    # The canonical form round-trips through a snapshot.
    snapshot = Snapshot.of(model)
    assert Snapshot.from_json(snapshot.json).content_hash == snapshot.content_hash


def errors(text: str) -> set[tuple[str, str, int | None]]:
    with pytest.raises(MetadataError) as caught:
        validate_text(text, file="perm.yaml")
    return {(i.pointer, i.code, i.line) for i in caught.value.errors}


def test_wrong_names_are_reported_with_their_lines():
    bad = """
objects:
  opportunity:
    history: [stag]
    fields:
      region: {type: picklist, values: [east, west]}
      notes: {type: long_text}
roles:
  a: {reports_to: b}
  b: {reports_to: a}
  c: {reports_to: nobody}
permission_sets:
  s:
    roles: [ghost]
    objects:
      oportunity: {allow: [read]}
      opportunity: {allow: [read], fields: {regin: none, owner: none}}
sharing_rules:
  r:
    object: opportunity
    criteria: {region: north, notes: x}
    share_with: {role: c}
"""
    found = errors(bad)
    assert found == {
        ("/objects/opportunity/history/0", "unknown_field", 4),
        ("/roles/a/reports_to", "role_cycle", 9),
        ("/roles/b/reports_to", "role_cycle", 10),
        ("/roles/c/reports_to", "unknown_role", 11),
        ("/permission_sets/s/roles/0", "unknown_role", 14),
        ("/permission_sets/s/objects/oportunity", "unknown_object", 16),
        ("/permission_sets/s/objects/opportunity/fields/regin", "unknown_field", 17),
        ("/permission_sets/s/objects/opportunity/fields/owner", "system_field", 17),
        ("/sharing_rules/r/criteria/region", "invalid_criteria", 21),
        ("/sharing_rules/r/criteria/notes", "invalid_criteria", 21),
    }


def test_structure_errors_name_the_place():
    found = errors(
        """
objects: {account: {fields: {name: {type: text}}}}
permission_sets:
  s:
    objects:
      account: {allow: [read, fly], access: everyone}
"""
    )
    pointers = {p for p, _, _ in found}
    assert "/permission_sets/s/objects/account/allow/1" in pointers
    assert "/permission_sets/s/objects/account/access" in pointers
