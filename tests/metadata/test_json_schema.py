"""The committed JSON Schema is the generated one, and it accepts what validation accepts."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from metadata.field_types import TYPES
from metadata.json_schema import SCHEMA_PATH, build_schema, render_schema


def test_committed_schema_matches_the_generator():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "metadata/schemas/metadata.schema.json is stale: run `tessera metadata schema --write`"
    )


def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(build_schema())


def test_every_field_type_has_a_variant():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$defs"]["field"]["properties"]["type"]["enum"] == list(TYPES)
    for name in TYPES:
        assert schema["$defs"][f"field_{name}"]["properties"]["type"]["const"] == name


def test_demo_metadata_matches_the_schema(demo_document):
    assert list(Draft202012Validator(build_schema()).iter_errors(demo_document)) == []


def test_committed_pack_schemas_match_the_generator():
    from metadata.packs.schemas import SCHEMAS_DIR, render_pack_schemas

    rendered = render_pack_schemas()
    assert sorted(p.name for p in SCHEMAS_DIR.iterdir()) == sorted(p.name for p in rendered)
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python -c 'from metadata.packs.schemas import "
            "write_pack_schemas; write_pack_schemas()'"
        )
