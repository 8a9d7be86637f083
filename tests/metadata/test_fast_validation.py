"""jsonschema-rs decides whether a document is valid; only an invalid one goes to the
Python validator for its worded issues. So the two must agree on every document: the
committed packs, the fixtures (good and bad), generated metadata, and broken variants
of each."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator

from metadata.json_schema import build_schema
from metadata.packs.schemas import pack_fast_validator, pack_validator
from metadata.source import load_file
from metadata.validation.structural import fast_validator
from tests.metadata.strategies import documents

ROOT = Path(__file__).parents[2]
PACK_FILES = sorted(
    p
    for base in (ROOT / "apps", ROOT / "tests" / "fixtures" / "packs")
    for p in base.rglob("*.yaml")
    if p.parent.name != "demo_crm"
)
METADATA_FILES = [
    ROOT / "apps" / "demo_crm" / "metadata.yaml",
    *sorted((ROOT / "tests" / "fixtures" / "metadata").glob("*.yaml")),
]


def _agree(fast, slow, data) -> bool:
    verdict = fast.is_valid(data)
    assert verdict == slow.is_valid(data), data
    return verdict


def _broken(data: dict) -> list[dict]:
    """Variants a person gets wrong: a wrong type, an unknown key, a bad name."""
    out = []
    for key, value in list(data.items())[:3]:
        wrong = copy.deepcopy(data)
        wrong[key] = 42 if not isinstance(value, int) else "forty-two"
        out.append(wrong)
    out.append({**copy.deepcopy(data), "unknown_key_here": True})
    if isinstance(data.get("objects"), dict) and data["objects"]:
        renamed = copy.deepcopy(data)
        first = next(iter(renamed["objects"]))
        renamed["objects"]["Not A Name!"] = renamed["objects"].pop(first)
        out.append(renamed)
    return out


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pack_files_get_the_same_verdict_from_both(path):
    # Every YAML file of a pack has a schema: a file without one fails here (KeyError).
    fast, slow = pack_fast_validator(path.name), pack_validator(path.name)
    data = load_file(path).data
    _agree(fast, slow, data)
    for variant in _broken(data) if isinstance(data, dict) else ():
        _agree(fast, slow, variant)


@pytest.mark.parametrize("path", METADATA_FILES, ids=lambda p: p.name)
def test_metadata_files_get_the_same_verdict_from_both(path):
    schema = build_schema()
    fast, slow = fast_validator(schema), Draft202012Validator(schema)
    data = load_file(path).data
    _agree(fast, slow, data)
    for variant in _broken(data):
        assert not _agree(fast, slow, variant) or variant == data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_metadata_gets_the_same_verdict_from_both(doc):
    schema = build_schema()
    fast, slow = fast_validator(schema), Draft202012Validator(schema)
    assert _agree(fast, slow, doc)
    for variant in _broken(doc):
        _agree(fast, slow, variant)
