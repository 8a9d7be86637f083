"""Every YAML example in docs/workflows.md is valid metadata: each block, laid over the
end-to-end tests' automation.yaml (whose objects, roles and calendar the examples use),
passes validation, so the documented shapes cannot drift from what the engine accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metadata.source import parse_text
from metadata.validation import validate_data

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "workflows.md"
BASE = ROOT / "tests" / "runtime" / "workflows" / "automation.yaml"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_an_example_of_every_new_shape():
    text = "\n".join(BLOCKS)
    for shape in (
        "update_parent",
        "update_children",
        "repeat:",
        "catch_up:",
        "calendars:",
        "limit:",
        "least_loaded",
        'schedule: "0 9 * * 1", condition',
        "timeout:",
        "when:",
        "conversions:",
        "links:",
        "match:",
    ):
        assert shape in text, shape


@pytest.mark.parametrize("block", BLOCKS, ids=[b.split("\n")[1].strip() for b in BLOCKS])
def test_each_example_validates(block):
    base = parse_text(BASE.read_text(encoding="utf-8"), file=str(BASE)).data
    example = parse_text(block, file=str(DOC)).data
    merged = {**base}
    for section, items in example.items():
        merged[section] = {**(base.get(section) or {}), **items}
    validate_data(merged)
