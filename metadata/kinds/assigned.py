"""Kinds whose values the platform assigns or computes: auto numbers, formulas and
roll-ups; and JSON, which any JSON value fits."""

from __future__ import annotations

import json
from typing import Any

from metadata.kinds.base import Kind, ValueProblem
from metadata.model import Field


class AutoNumberKind(Kind):
    name = "auto_number"
    storage = "string"
    widget = "readonly"
    expression = "text"
    groupable = True
    searchable = True
    comparable = True
    writable = False

    def parse(self, f: Field, text: str, locale: str) -> Any:
        raise ValueProblem(
            f"{f.name} is numbered by the platform and cannot be set",
            f"{f.name} 由平台自动编号，不能填写",
        )

    def text_forms(self) -> tuple[str, str]:
        return ("none: the platform assigns it", "无：由平台分配")


class ComputedKind(Kind):
    """Not stored; presented as the type its result has (``runtime.model.shape``)."""

    storage = None
    filter = None
    widget = "readonly"
    writable = False

    def parse(self, f: Field, text: str, locale: str) -> Any:
        raise ValueProblem(
            f"{f.name} is computed and cannot be set",
            f"{f.name} 是计算字段，不能填写",
        )

    def text_forms(self) -> tuple[str, str]:
        return ("none: computed on every read", "无：每次读取时计算")


class FormulaKind(ComputedKind):
    name = "formula"


class RollupKind(ComputedKind):
    name = "rollup"


class JsonKind(Kind):
    name = "json"
    storage = "json"
    graphql = "JSON"
    filter = "json"
    widget = "json"
    sortable = False

    def parse(self, f: Field, text: str, locale: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise ValueProblem.expected(
                text, self.name, 'JSON text such as {"a": 1}', 'JSON 文本，例如 {"a": 1}'
            ) from None

    def text_forms(self) -> tuple[str, str]:
        return ("JSON text", "JSON 文本")
