"""Diff: before → after → operation types, in the order they run."""

from __future__ import annotations

import copy

import pytest

from metadata.diff import PlanRefused, diff
from metadata.diff.operations import ALL_OPERATIONS
from metadata.snapshot import EMPTY_SNAPSHOT, Snapshot
from metadata.validation import validate_data


def snap(objects: dict, **permissions: dict) -> Snapshot:
    return Snapshot.of(validate_data({"objects": objects, **permissions}).model)


def plan_of(before: dict, after: dict, permissions: tuple[dict, dict] = ({}, {})):
    return diff(snap(before, **permissions[0]), snap(after, **permissions[1]))


def kinds(before: dict, after: dict) -> list[str]:
    return [op.kind for op in plan_of(before, after).operations]


ACCOUNT = {"fields": {"name": {"type": "text", "required": True}}}


def test_no_change_no_operations():
    assert kinds({"account": ACCOUNT}, {"account": ACCOUNT}) == []
    assert not plan_of({"account": ACCOUNT}, {"account": ACCOUNT}).changed


def test_create_object():
    assert kinds({}, {"account": ACCOUNT}) == ["create_object"]


def test_drop_object_is_destructive():
    plan = plan_of({"account": ACCOUNT, "lead": {}}, {"account": ACCOUNT})
    assert [op.kind for op in plan.operations] == ["drop_object"]
    with pytest.raises(PlanRefused) as caught:
        plan.check(allow_destructive=False)
    assert caught.value.errors[0].code == "destructive_change"
    plan.check(allow_destructive=True)


def test_add_field():
    after = {"fields": {**ACCOUNT["fields"], "website": {"type": "url"}}}
    assert kinds({"account": ACCOUNT}, {"account": after}) == ["add_field"]


def test_drop_field_is_destructive():
    before = {"fields": {**ACCOUNT["fields"], "fax": {"type": "phone"}}}
    plan = plan_of({"account": before}, {"account": ACCOUNT})
    assert [op.kind for op in plan.operations] == ["drop_field"]
    assert plan.destructive == plan.operations


def test_rename_field_is_declared_not_guessed():
    before = {"fields": {"mail": {"type": "email", "label": "Email"}}}
    renamed = {"fields": {"email": {"type": "email", "label": "Email", "renamed_from": "mail"}}}
    undeclared = {"fields": {"email": {"type": "email", "label": "Email"}}}
    assert kinds({"contact": before}, {"contact": renamed}) == ["rename_field"]
    assert kinds({"contact": before}, {"contact": undeclared}) == ["drop_field", "add_field"]


def test_a_derived_label_follows_the_rename_as_a_metadata_change():
    before = {"fields": {"mail": {"type": "email"}}}
    after = {"fields": {"email": {"type": "email", "renamed_from": "mail"}}}
    plan = plan_of({"contact": before}, {"contact": after})
    assert [op.kind for op in plan.operations] == ["rename_field", "alter_field"]
    assert plan.operations[1].changes == ("label",)
    assert not plan.operations[1].touches_storage


def test_rename_then_alter_the_same_field():
    before = {"fields": {"mail": {"type": "email", "max_length": 100, "label": "E"}}}
    after = {
        "fields": {
            "email": {"type": "email", "max_length": 200, "label": "E", "renamed_from": "mail"}
        }
    }
    plan = plan_of({"contact": before}, {"contact": after})
    assert [op.kind for op in plan.operations] == ["rename_field", "alter_field"]
    assert plan.operations[1].changes == ("max_length",)


def test_rename_object_updates_lookups_that_point_at_it():
    names = {"label": "Account", "plural": "Accounts", "plural_name": "accounts"}
    before = {
        "client": names,
        "contact": {"fields": {"client": {"type": "lookup", "to": "client"}}},
    }
    after = {
        "account": {"renamed_from": "client", **names},
        "contact": {"fields": {"client": {"type": "lookup", "to": "account"}}},
    }
    assert kinds(before, after) == ["rename_object"]


def test_rename_hint_is_inert_once_applied():
    after = {"account": {"renamed_from": "client"}}
    assert kinds({"account": {}}, after) == []


@pytest.mark.parametrize(
    ("old", "new", "conversion"),
    [
        ({"type": "integer"}, {"type": "decimal", "precision": 22, "scale": 2}, "safe"),
        # A 64-bit integer has up to 19 digits; decimal(18, 2) keeps 16 before the point.
        ({"type": "integer"}, {"type": "decimal"}, "checked"),
        ({"type": "integer"}, {"type": "decimal", "precision": 6, "scale": 2}, "checked"),
        ({"type": "text"}, {"type": "long_text"}, "safe"),
        ({"type": "picklist", "values": ["a"]}, {"type": "text"}, "safe"),
        (
            {"type": "picklist", "values": ["a"]},
            {"type": "multi_picklist", "values": ["a"]},
            "safe",
        ),
        ({"type": "date"}, {"type": "datetime"}, "safe"),
        ({"type": "text", "max_length": 50}, {"type": "text", "max_length": 80}, "safe"),
        ({"type": "decimal"}, {"type": "integer"}, "lossy"),
        ({"type": "decimal", "scale": 4}, {"type": "decimal", "scale": 2}, "lossy"),
        ({"type": "long_text"}, {"type": "text"}, "lossy"),
        ({"type": "text", "max_length": 80}, {"type": "text", "max_length": 50}, "lossy"),
        ({"type": "datetime"}, {"type": "date"}, "lossy"),
        ({"type": "currency"}, {"type": "decimal"}, "lossy"),
        ({"type": "integer"}, {"type": "text"}, "safe"),
        ({"type": "integer"}, {"type": "text", "max_length": 10}, "lossy"),
    ],
)
def test_type_changes_are_classified(old, new, conversion):
    plan = plan_of({"thing": {"fields": {"f": old}}}, {"thing": {"fields": {"f": new}}})
    [op] = plan.operations
    assert op.kind == "alter_field" and op.conversion.kind == conversion
    assert op.destructive == (conversion == "lossy")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"type": "text"}, {"type": "integer"}),
        ({"type": "boolean"}, {"type": "date"}),
        ({"type": "json"}, {"type": "text"}),
        ({"type": "integer"}, {"type": "lookup", "to": "thing"}),
    ],
)
def test_unsafe_type_changes_are_refused_with_the_reason(old, new):
    plan = plan_of({"thing": {"fields": {"f": old}}}, {"thing": {"fields": {"f": new}}})
    assert plan.operations == ()
    [refusal] = plan.refusals
    assert refusal.pointer == "/objects/thing/fields/f/type"
    assert f"from {old['type']} to {new['type']}" in refusal.message
    with pytest.raises(PlanRefused):
        plan.check(allow_destructive=True)


def test_changing_a_lookup_target_is_refused():
    before = {"a": {}, "b": {}, "c": {"fields": {"ref": {"type": "lookup", "to": "a"}}}}
    after = copy.deepcopy(before)
    after["c"]["fields"]["ref"]["to"] = "b"
    [refusal] = plan_of(before, after).refusals
    assert refusal.pointer.endswith("/ref/to")


def test_unique_and_index_changes():
    before = {
        "fields": {"email": {"type": "email"}, "name": {"type": "text"}},
        "indexes": [{"fields": ["name"]}],
    }
    after = {
        "fields": {"email": {"type": "email", "unique": True}, "name": {"type": "text"}},
        "indexes": [{"fields": ["name", "email"]}],
    }
    assert kinds({"contact": before}, {"contact": after}) == [
        "drop_index",
        "add_unique_constraint",
        "add_index",
    ]
    assert kinds({"contact": after}, {"contact": before}) == [
        "drop_index",
        "drop_unique_constraint",
        "add_index",
    ]


def test_picklist_value_changes_have_their_own_operation():
    before = {"fields": {"stage": {"type": "picklist", "values": ["new", "won"]}}}
    after = {
        "fields": {
            "stage": {
                "type": "picklist",
                "values": ["new", "won", "lost"],
                "required": True,
                "default": "new",
            }
        }
    }
    plan = plan_of({"deal": before}, {"deal": after})
    assert [op.kind for op in plan.operations] == ["alter_field", "change_picklist_values"]
    assert plan.operations[0].changes == ("required", "default")
    assert "add 'lost'" in plan.operations[1].describe()
    assert not plan.operations[1].touches_storage


def test_labels_and_order_are_metadata_only():
    before = {"fields": {"a": {"type": "text"}, "b": {"type": "text", "help_text": "x"}}}
    after = {
        "label": {"en": "Thing", "zh-CN": "东西"},
        "fields": {"b": {"type": "text", "help_text": "y"}, "a": {"type": "text"}},
    }
    plan = plan_of({"thing": before}, {"thing": after})
    assert [op.kind for op in plan.operations] == ["alter_field", "alter_object"]
    assert plan.operations[1].changes == ("label", "field order")
    assert not any(op.touches_storage for op in plan.operations)


def test_new_objects_are_created_before_objects_that_refer_to_them():
    after = {
        "contact": {"fields": {"account": {"type": "lookup", "to": "account"}}},
        "account": {},
    }
    plan = plan_of({}, after)
    assert [(op.kind, op.object_name) for op in plan.operations] == [
        ("create_object", "account"),
        ("create_object", "contact"),
    ]


def test_lookup_cycles_between_new_objects_are_split():
    after = {
        "account": {
            "fields": {
                "primary_contact": {
                    "type": "lookup",
                    "to": "contact",
                    "related_name": "primary_for",
                }
            },
            "indexes": [{"fields": ["primary_contact", "created_at"]}],
        },
        "contact": {"fields": {"account": {"type": "lookup", "to": "account"}}},
    }
    plan = plan_of({}, after)
    assert [(op.kind, op.object_name) for op in plan.operations] == [
        ("create_object", "account"),
        ("create_object", "contact"),
        ("add_field", "account"),
        ("add_index", "account"),
    ]
    assert "primary_contact" not in plan.operations[0].obj.fields


def test_a_split_lookup_goes_back_to_its_declared_place():
    """Found by the property test: a deferred lookup was appended after the object's
    other fields, so replaying the plan reached a different field order (and hash)."""
    after = {
        "beta": {},
        "alpha": {
            "fields": {
                "f_one": {"type": "lookup", "to": "gamma", "related_name": "a_one"},
                "f_two": {"type": "lookup", "to": "beta", "related_name": "a_two"},
                "f_three": {"type": "lookup", "to": "gamma", "related_name": "a_three"},
            }
        },
        "gamma": {"fields": {"f_one": {"type": "lookup", "to": "alpha", "related_name": "g"}}},
    }
    old = Snapshot.of(validate_data({"objects": {"beta": {}}}).model)
    new = Snapshot.of(validate_data({"objects": after}).model)
    state = old.model
    for op in diff(old, new).operations:
        state = op.state_forwards(state)
    assert list(state.objects["alpha"].fields) == ["f_one", "f_two", "f_three"]
    assert Snapshot.of(state).content_hash == new.content_hash


def test_fields_pointing_at_a_dropped_object_go_first():
    before = {"lead": {}, "task": {"fields": {"lead": {"type": "lookup", "to": "lead"}}}}
    after = {"task": {}}
    assert kinds(before, after) == ["drop_field", "drop_object"]


def test_replaying_operations_reaches_the_new_model(demo_model):
    plan = diff(EMPTY_SNAPSHOT, Snapshot.of(demo_model))
    state = EMPTY_SNAPSHOT.model
    for op in plan.operations:
        state = op.state_forwards(state)
    assert Snapshot.of(state).content_hash == plan.new.content_hash


def test_every_operation_reverses():
    before = {
        "a": {
            "fields": {
                "x": {"type": "integer"},
                "p": {"type": "picklist", "values": ["1"]},
                "gone": {"type": "text"},
            }
        },
        "old_b": {},
        "c": {},
    }
    after = {
        "a": {
            "label": "A!",
            "fields": {
                "y": {"type": "decimal", "renamed_from": "x"},
                "p": {"type": "picklist", "values": ["1", "2"], "unique": True},
                "new": {"type": "date"},
            },
            "indexes": [{"fields": ["new"]}],
        },
        "b": {"renamed_from": "old_b"},
        "d": {},
    }
    mark = {"trigger": {"manual": {}}, "actions": [{"update": {"p": "'1'"}}]}
    permissions = (
        {
            "roles": {"rep": {}, "gone": {}},
            "workflows": {"mark": {"object": "a", **mark}},
            "list_views": {"all_a": {"object": "a", "columns": ["id"]}},
        },
        {
            "roles": {"rep": {"label": "Sales rep"}, "boss": {}},
            "workflows": {"mark": {"object": "a", "active": False, **mark}},
            "list_views": {"all_a": {"object": "a", "columns": ["id", "created_at"]}},
        },
    )
    plan = plan_of(before, after, permissions)
    forward = {type(op) for op in plan.operations}
    assert forward | {type(op.reverse()) for op in plan.operations} == set(ALL_OPERATIONS)
    state = plan.old.model
    for op in plan.operations:
        state = op.state_forwards(state)
    assert Snapshot.of(state).content_hash == plan.new.content_hash
    for op in reversed(plan.operations):
        assert op.reverse().reverse() == op
        state = op.reverse().state_forwards(state)
    assert Snapshot.of(state).content_hash == plan.old.content_hash
    assert all(op.describe() for op in plan.operations)


PERMISSIONS = {
    "roles": {"director": {}, "manager": {"reports_to": "director"}},
    "permission_sets": {
        "sales": {"roles": ["manager"], "objects": {"account": {"allow": ["read"]}}}
    },
    "sharing_rules": {
        "big": {
            "object": "account",
            "criteria": {"name": "Acme"},
            "share_with": {"role": "director"},
        }
    },
}


def test_permission_changes_are_metadata_only_operations():
    changed = copy.deepcopy(PERMISSIONS)
    changed["roles"]["rep"] = {"reports_to": "manager"}
    changed["permission_sets"]["sales"]["objects"]["account"]["access"] = "subtree"
    del changed["sharing_rules"]
    plan = plan_of({"account": ACCOUNT}, {"account": ACCOUNT}, (PERMISSIONS, changed))
    described = [op.describe() for op in plan.operations]
    assert described == [
        "Add role rep (permissions, metadata only)",
        "Change permission set sales (permissions, metadata only)",
        "Remove sharing rule big (permissions, metadata only)",
    ]
    assert not any(op.touches_storage for op in plan.operations)
    assert plan.operations[1].to_dict()["after"]["objects"]["account"]["access"] == "subtree"


def test_documents_without_permissions_keep_their_hash():
    with_empty = Snapshot.of(validate_data({"objects": {"account": ACCOUNT}, "roles": {}}).model)
    assert with_empty.content_hash == snap({"account": ACCOUNT}).content_hash
    assert "roles" not in with_empty.json
