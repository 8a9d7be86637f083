"""Choice kinds: boolean, picklist and multi-picklist.

In text, a picklist value may be given by its code or by its label in either language
(``qualified``, ``Qualified`` or ``已确认``), and yes/no in either language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from metadata.kinds.base import Kind, ValueProblem
from metadata.model import Field

_TRUE = {"true", "yes", "y", "1", "t", "on", "是", "真", "对", "有", "√", "✓"}
_FALSE = {"false", "no", "n", "0", "f", "off", "否", "假", "错", "无", "×", "✗"}
#: Separators between the values of a multi-picklist cell.
_SEPARATORS = re.compile(r"\s*[;,|、]\s*")


class BooleanKind(Kind):
    name = "boolean"
    storage = "boolean"
    graphql = "Boolean"
    filter = "boolean"
    widget = "checkbox"
    expression = "boolean"
    groupable = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None or isinstance(value, bool):
            return value
        raise ValueProblem.expected(value, self.name, "true or false", "true 或 false")

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)
        return lambda value: value if type(value) is bool else slow(value)

    def parse(self, f: Field, text: str, locale: str) -> Any:
        word = text.lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueProblem.expected(text, self.name, "yes or no (true/false, 1/0)", "是或否")

    def text_forms(self) -> tuple[str, str]:
        return ("yes/no, true/false, 1/0, 是/否", "是/否、yes/no、true/false、1/0")


def _choose(f: Field, text: str, kind: str) -> str:
    """Return the code of the active value ``text`` names by code or by a label."""
    active = [v for v in f.values if not v.inactive]
    for v in active:
        if text == v.value:
            return v.value
    folded = text.casefold()
    for v in active:
        names = v.label.to_json().values()
        if folded == v.value.casefold() or any(folded == n.casefold() for n in names):
            return v.value
    shown = ", ".join(v.value for v in active)
    raise ValueProblem(
        f"{text!r} is not one of {shown} (codes or their labels in English or Chinese)",
        f"{text!r} 不在可选值中：{shown}（可用代码或中英文标签）",
    )


class PicklistKind(Kind):
    name = "picklist"
    storage = "string"
    widget = "select"
    expression = "text"
    groupable = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None or isinstance(value, str):
            return value
        raise ValueProblem.expected(value, self.name, "a value code (text)", "选项代码（文本）")

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return _choose(f, text, self.name)

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)
        if self.name != "picklist":
            return slow
        allowed = frozenset(v.value for v in f.values if not v.inactive)
        return lambda value: value if type(value) is str and value in allowed else slow(value)

    def check(self, f: Field, value: Any, name: str) -> None:
        allowed = [v.value for v in f.values if not v.inactive]
        for item in [value] if self.name == "picklist" else value:
            if item not in allowed:
                raise ValueProblem(
                    f"{name}: {item!r} is not one of {', '.join(allowed)}",
                    f"{name}：{item!r} 不在可选值中（{'、'.join(allowed)}）",
                )

    def text_forms(self) -> tuple[str, str]:
        return ("a value code or its label (either language)", "选项代码或其中英文标签")


class MultiPicklistKind(PicklistKind):
    name = "multi_picklist"
    storage = "json"
    graphql = "[String]"
    filter = "multi"
    widget = "multi_select"
    expression = None
    groupable = False
    comparable = False
    sortable = False

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return list(value)
        raise ValueProblem.expected(value, self.name, "a list of value codes", "选项代码列表")

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return [_choose(f, part, self.name) for part in _SEPARATORS.split(text) if part]

    def check(self, f: Field, value: Any, name: str) -> None:
        super().check(f, value, name)
        if len(set(value)) != len(value):
            raise ValueProblem(f"{name} lists a value twice", f"{name} 含有重复的值")

    def text_forms(self) -> tuple[str, str]:
        return (
            "codes or labels separated by ; , | or 、",
            "用 ; , | 或 、 分隔的选项代码或标签",
        )
