"""Every refusal of the record service says itself in English and in Chinese."""

from __future__ import annotations

import ast
from pathlib import Path

from runtime.records.errors import RecordError

RECORDS = Path(__file__).parents[3] / "runtime" / "records"


def test_every_refusal_of_the_record_service_carries_its_chinese_message():
    missing = []
    for path in sorted(RECORDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "RecordError"
            ):
                keywords = {k.arg for k in node.keywords}
                # A validation rule brings its own messages in both languages.
                if "zh" not in keywords and "extra" not in keywords:
                    missing.append(f"{path.name}:{node.lineno}")
    assert missing == [], f"RecordError without zh=: {missing}"


def test_messages_are_by_language():
    refusal = RecordError("x is required", "REQUIRED", field=["x"], zh="x 为必填项")
    assert refusal.messages == {"en": "x is required", "zh-CN": "x 为必填项"}
    rule = RecordError(
        "too big", "VALIDATION_RULE", extra={"messages": {"en": "too big", "zh-CN": "太大"}}
    )
    assert rule.messages == {"en": "too big", "zh-CN": "太大"}
