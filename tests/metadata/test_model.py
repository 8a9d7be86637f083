"""The canonical form: defaults filled in, stable hashes, round trips."""

from __future__ import annotations

from metadata.identifiers import SYSTEM_FIELD_NAMES, camel_case, default_plural, pascal_case
from metadata.model import SYSTEM_FIELDS, build_model
from metadata.snapshot import EMPTY_SNAPSHOT, Snapshot
from metadata.validation import validate_data, validate_text


def test_shorthands_and_defaults_are_expanded():
    model = validate_data(
        {
            "objects": {
                "contact": {
                    "fields": {
                        "status": {"type": "picklist", "values": ["new", "won"]},
                        "account": {"type": "lookup", "to": "contact"},
                        "boss": {
                            "type": "lookup",
                            "to": "contact",
                            "required": True,
                            "related_name": "reports",
                        },
                        "name": {"type": "text"},
                        "price": {"type": "currency"},
                    }
                }
            }
        }
    ).model
    contact = model.objects["contact"]
    assert contact.label.get() == "Contact" and contact.plural_name == "contacts"
    assert contact.fields["status"].values[0].label.get() == "New"
    assert contact.fields["account"].option("on_delete") == "set_null"
    assert contact.fields["boss"].option("on_delete") == "restrict"
    assert contact.fields["name"].option("max_length") == 255
    assert contact.fields["price"].option("default_currency") == "CNY"
    assert contact.fields["price"].option("precision") == 18


def test_same_meaning_same_hash():
    short = validate_text("objects:\n  a:\n    fields:\n      s: {type: picklist, values: [x]}\n")
    long = validate_data(
        {
            "objects": {
                "a": {
                    "label": "A",
                    "fields": {
                        "s": {
                            "type": "picklist",
                            "required": False,
                            "values": [{"value": "x", "label": {"en": "X"}}],
                        }
                    },
                }
            }
        }
    )
    assert Snapshot.of(short.model).content_hash == Snapshot.of(long.model).content_hash


def test_rename_hints_do_not_change_the_hash():
    plain = validate_data({"objects": {"a": {"fields": {"y": {"type": "text"}}}}})
    hinted = validate_data(
        {"objects": {"a": {"fields": {"y": {"type": "text", "renamed_from": "x"}}}}}
    )
    assert Snapshot.of(plain.model).content_hash == Snapshot.of(hinted.model).content_hash
    assert hinted.model.objects["a"].fields["y"].renamed_from == "x"


def test_field_order_is_part_of_the_snapshot():
    one = validate_data(
        {"objects": {"a": {"fields": {"x": {"type": "text"}, "y": {"type": "text"}}}}}
    )
    two = validate_data(
        {"objects": {"a": {"fields": {"y": {"type": "text"}, "x": {"type": "text"}}}}}
    )
    assert Snapshot.of(one.model).content_hash != Snapshot.of(two.model).content_hash


def test_object_and_index_order_do_not_change_the_hash():
    one = validate_data(
        {
            "objects": {
                "a": {
                    "fields": {"x": {"type": "text"}, "y": {"type": "text"}},
                    "indexes": [{"fields": ["x"]}, {"fields": ["y"]}],
                },
                "b": {},
            }
        }
    )
    two = validate_data(
        {
            "objects": {
                "b": {},
                "a": {
                    "fields": {"x": {"type": "text"}, "y": {"type": "text"}},
                    "indexes": [{"fields": ["y"]}, {"fields": ["x"]}],
                },
            }
        }
    )
    assert Snapshot.of(one.model).content_hash == Snapshot.of(two.model).content_hash


def test_snapshot_round_trip(demo_model):
    snapshot = Snapshot.of(demo_model)
    again = Snapshot.from_json(snapshot.json)
    assert again.model == demo_model and again.content_hash == snapshot.content_hash
    assert build_model(demo_model.to_document()) == demo_model
    assert EMPTY_SNAPSHOT.model.objects == {}


def test_canonical_form_is_valid_metadata_with_the_same_hash(demo_model):
    again = validate_data(demo_model.to_document()).model
    assert Snapshot.of(again).content_hash == Snapshot.of(demo_model).content_hash


def test_system_fields_are_the_reserved_names():
    assert set(SYSTEM_FIELDS) == SYSTEM_FIELD_NAMES
    assert all(
        f.label.get("zh-CN") != f.label.get("en") or f.name == "id" for f in SYSTEM_FIELDS.values()
    )


def test_text_falls_back_to_language_then_english(demo_model):
    account = demo_model.objects["account"]
    assert account.label.get("zh-CN") == "客户"
    assert account.label.get("zh") == "Account" or account.label.get("zh") == "客户"
    assert account.label.get("fr") == "Account"


def test_api_name_forms():
    assert camel_case("annual_revenue") == "annualRevenue"
    assert pascal_case("sales_order_line") == "SalesOrderLine"
    assert [default_plural(n) for n in ("opportunity", "key", "address", "batch", "lead")] == [
        "opportunities",
        "keys",
        "addresses",
        "batches",
        "leads",
    ]
