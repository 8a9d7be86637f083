"""Validation reports every problem at once, each with file, line and JSON pointer."""

from __future__ import annotations

from pathlib import Path

import pytest

from metadata.errors import MetadataError
from metadata.validation import validate_data, validate_file, validate_text

FIXTURES = Path(__file__).parents[1] / "fixtures" / "metadata"


def errors_of(data_or_text) -> list:
    with pytest.raises(MetadataError) as caught:
        if isinstance(data_or_text, str):
            validate_text(data_or_text, file="inline.yaml")
        else:
            validate_data(data_or_text)
    return caught.value.errors


def test_bad_file_reports_every_mistake_with_its_location():
    with pytest.raises(MetadataError) as caught:
        validate_file(FIXTURES / "bad_crm.yaml")
    found = {(i.pointer, i.code, i.line) for i in caught.value.errors}
    fields = "/objects/account/fields"
    assert found == {
        (f"{fields}/name/max_lenght", "unknown_option", 6),
        (f"{fields}/Industry", "invalid_name", 7),
        (f"{fields}/Industry/values/1", "duplicate", 7),
        (f"{fields}/revenue/scale", "invalid_option", 8),
        (f"{fields}/select", "invalid_name", 9),
        (f"{fields}/created_at", "invalid_name", 10),
        (f"{fields}/parent/to", "unknown_reference", 11),
        (f"{fields}/status/type", "unknown_type", 12),
        (f"{fields}/signed_on/default", "invalid_default", 13),
        (f"{fields}/stage/default", "invalid_default", 14),
        (f"{fields}/code/format", "invalid_format", 15),
        (f"{fields}/owner_ref/on_delete", "invalid_option", 16),
        (f"{fields}/notes/unique", "invalid_option", 17),
        (f"{fields}/name", "duplicate_key", 18),
        ("/objects/region/fields/contact/to", "master_detail_cycle", 24),
        ("/objects/order", "invalid_name", 25),
        ("/objects/line/fields/qty/default", "wrong_type", 29),
        ("/objects/line/indexes/0/fields/1", "unknown_reference", 31),
    }
    assert len({code for _, code, _ in found}) >= 10
    assert all(i.file and i.file.endswith("bad_crm.yaml") and i.column for i in caught.value.errors)


def test_messages_say_what_would_be_valid():
    with pytest.raises(MetadataError) as caught:
        validate_file(FIXTURES / "bad_crm.yaml")
    by_pointer = {i.pointer: i.message for i in caught.value.errors}
    assert "did you mean 'max_length'" in by_pointer["/objects/account/fields/name/max_lenght"]
    assert "did you mean 'account'" in by_pointer["/objects/account/fields/parent/to"]
    assert "valid types: text" in by_pointer["/objects/account/fields/status/type"]
    assert (
        "contact.account → region.contact → contact"
        in by_pointer["/objects/region/fields/contact/to"]
    )
    assert "new, won" in by_pointer["/objects/account/fields/stage/default"]


def test_demo_metadata_is_valid_and_fully_translated():
    result = validate_file(Path(__file__).parents[2] / "apps" / "demo_crm" / "metadata.yaml")
    assert set(result.model.objects) == {
        "account",
        "contact",
        "opportunity",
        "campaign",
        "campaign_member",
    }
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        ({"type": "decimal", "precision": 5, "scale": 2, "default": 1234.5}, "room for 3"),
        ({"type": "decimal", "scale": 1, "default": 1.25}, "2 decimal places"),
        ({"type": "text", "max_length": 3, "default": "abcd"}, "allows 3"),
        ({"type": "time", "default": "25:00"}, "not a real time"),
        ({"type": "datetime", "default": "2024-01-01T10:00"}, "UTC offset"),
        ({"type": "date", "default": "01/02/2024"}, "YYYY-MM-DD"),
        ({"type": "multi_picklist", "values": ["a", "b"], "default": ["a", "c"]}, "'c'"),
        (
            {"type": "picklist", "values": [{"value": "a", "inactive": True}, "b"], "default": "a"},
            "inactive",
        ),
        ({"type": "email", "default": "not-an-email"}, "e-mail address"),
        ({"type": "uuid", "default": "123"}, "UUID"),
        ({"type": "boolean", "default": "yes"}, "true or false"),
        ({"type": "integer", "default": 2**63}, "maximum"),
    ],
)
def test_defaults_must_match_their_type(field, fragment):
    [issue] = errors_of({"objects": {"thing": {"fields": {"f": field}}}})
    assert issue.pointer == "/objects/thing/fields/f/default"
    assert fragment in issue.message


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        ({"type": "decimal", "precision": 5, "scale": 2, "default": 123.45}, None),
        ({"type": "date", "default": "today"}, None),
        ({"type": "datetime", "default": "2024-05-01T09:30:00+08:00"}, None),
        ({"type": "time", "default": "09:30"}, None),
        ({"type": "multi_picklist", "values": ["a", "b"], "default": ["b"]}, None),
        ({"type": "json", "default": {"any": ["thing"]}}, None),
    ],
)
def test_good_defaults_pass(field, fragment):
    result = validate_data({"objects": {"thing": {"fields": {"f": field}}}})
    assert result.model.objects["thing"].fields["f"].default == field["default"]


def test_yaml_12_scalars_are_not_reinterpreted():
    text = """
objects:
  meeting:
    fields:
      answer: {type: picklist, values: [yes, no, on, off]}
      starts: {type: time, default: 09:30}
      day: {type: date, default: 2024-01-01}
"""
    model = validate_text(text).model
    fields = model.objects["meeting"].fields
    assert fields["answer"].value_codes() == ("yes", "no", "on", "off")
    assert fields["starts"].default == "09:30"
    assert fields["day"].default == "2024-01-01"


def test_reserved_and_colliding_names():
    issues = errors_of(
        {
            "objects": {
                "query": {},
                "account_filter": {},
                "news": {},
                "line_1": {"fields": {"item_1": {"type": "text"}, "item1": {"type": "text"}}},
                "line1": {},
                "a__b": {},
            }
        }
    )
    by_pointer = {(i.pointer, i.code) for i in issues}
    assert ("/objects/query", "invalid_name") in by_pointer
    assert ("/objects/account_filter", "invalid_name") in by_pointer
    assert ("/objects/a__b", "invalid_name") in by_pointer
    assert ("/objects/line1", "name_collision") in by_pointer  # both become type Line1
    assert ("/objects/line_1/fields/item1", "name_collision") in by_pointer
    news = [i for i in issues if i.pointer == "/objects/news"]
    assert news == []  # default plural 'newses' is ugly but distinct


def test_reverse_relation_names_must_not_collide():
    issues = errors_of(
        {
            "objects": {
                "account": {"fields": {"contacts": {"type": "integer"}}},
                "contact": {"fields": {"account": {"type": "lookup", "to": "account"}}},
            }
        }
    )
    [issue] = issues
    assert issue.pointer == "/objects/contact/fields/account"
    assert "related_name" in issue.message and "'contacts'" in issue.message


def test_two_lookups_to_the_same_object_need_related_names():
    base = {"type": "lookup", "to": "account"}
    data = {
        "objects": {
            "account": {},
            "deal": {"fields": {"buyer": dict(base), "seller": dict(base)}},
        }
    }
    [issue] = errors_of(data)
    assert issue.pointer == "/objects/deal/fields/seller"
    data["objects"]["deal"]["fields"]["seller"]["related_name"] = "sold_deals"
    assert (
        validate_data(data).model.objects["deal"].fields["seller"].option("related_name")
        == "sold_deals"
    )


def test_renames_must_not_name_a_live_field():
    issues = errors_of(
        {
            "objects": {
                "a": {
                    "fields": {
                        "x": {"type": "text"},
                        "y": {"type": "text", "renamed_from": "x"},
                        "z": {"type": "text", "renamed_from": "w"},
                        "v": {"type": "text", "renamed_from": "w"},
                    }
                }
            }
        }
    )
    assert {(i.pointer, i.code) for i in issues} == {
        ("/objects/a/fields/y/renamed_from", "invalid_rename"),
        ("/objects/a/fields/v/renamed_from", "invalid_rename"),
    }


def test_self_master_detail_is_a_cycle():
    [issue] = errors_of(
        {"objects": {"task": {"fields": {"parent": {"type": "master_detail", "to": "task"}}}}}
    )
    assert issue.code == "master_detail_cycle"


def test_auto_number_reset_needs_date_parts():
    [issue] = errors_of(
        {
            "objects": {
                "quote": {
                    "fields": {
                        "no": {"type": "auto_number", "format": "Q-{0000}", "reset": "yearly"}
                    }
                }
            }
        }
    )
    assert issue.pointer.endswith("/format") and "{YYYY}" in issue.message


def test_missing_translation_is_a_warning_not_an_error():
    result = validate_data({"objects": {"a": {"label": {"en": "A"}}}})
    [warning] = result.warnings
    assert warning.severity == "warning" and "zh-CN" in warning.message


def test_syntax_errors_carry_line_numbers():
    with pytest.raises(MetadataError) as caught:
        validate_text("objects:\n  a: {fields: [\n", file="broken.yaml")
    [issue] = caught.value.errors
    assert issue.code == "syntax_error" and issue.file == "broken.yaml" and issue.line


def test_json_documents_are_accepted_with_positions(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{\n  "objects": {\n    "a": {"fields": {"x": {"type": "txt"}}}\n  }\n}\n')
    with pytest.raises(MetadataError) as caught:
        validate_file(path)
    [issue] = caught.value.errors
    assert issue.line == 3 and issue.code == "unknown_type"


def test_json_with_tabs_still_loads(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('{\n\t"objects": {"a": {"fields": {"x": {"type": "text"}}}}\n}\n')
    assert "a" in validate_file(path).model.objects
