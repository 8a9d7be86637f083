"""Text kinds: text, long and rich text, e-mail, phone and URL."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from metadata.field_types import TYPES
from metadata.kinds.base import Kind, ValueProblem
from metadata.model import Field

_PATTERNS = {
    name: re.compile(TYPES[name].default_schema["pattern"])  # type: ignore[index]
    for name in ("email", "phone", "url")
}


class TextKind(Kind):
    name = "text"
    storage = "string"
    widget = "text"
    expression = "text"
    groupable = True
    searchable = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueProblem(f"{value!r} is not text", f"{value!r} 不是文本", "BAD_USER_INPUT")
        return value

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return text

    def check(self, f: Field, value: Any, name: str) -> None:
        limit = f.option("max_length")
        if limit is not None and len(value) > limit:
            raise ValueProblem(
                f"{name} is {len(value)} characters long; the limit is {limit}",
                f"{name} 长 {len(value)} 个字符，上限为 {limit}",
                "VALUE_TOO_LONG",
            )

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)
        limit = f.option("max_length")
        pattern = _PATTERNS.get(self.name)

        def read(value: Any) -> Any:
            if (
                type(value) is str
                and (limit is None or len(value) <= limit)
                and (pattern is None or pattern.match(value))
            ):
                return value
            return slow(value)

        return read

    def text_forms(self) -> tuple[str, str]:
        return ("any text (spaces around it are dropped)", "任意文本（去掉首尾空格）")


class LongTextKind(TextKind):
    name = "long_text"
    storage = "text"
    widget = "textarea"
    groupable = False
    sortable = False
    comparable = False


class RichTextKind(LongTextKind):
    name = "rich_text"
    widget = "rich_text"
    searchable = False


class PatternKind(TextKind):
    """Text that must match the catalogue's pattern for its type."""

    example = ""
    example_zh = ""

    def check(self, f: Field, value: Any, name: str) -> None:
        super().check(f, value, name)
        if not _PATTERNS[self.name].match(value):
            raise ValueProblem(
                f"{name}: {value!r} is not a valid {self.name}",
                f"{name}：{value!r} 不是有效的{_ZH[self.name]}（例如 {self.example_zh}）",
                "BAD_USER_INPUT",
            )

    def text_forms(self) -> tuple[str, str]:
        return (f"such as {self.example}", f"例如 {self.example_zh}")


_ZH = {"email": "电子邮箱", "phone": "电话号码", "url": "网址"}


class EmailKind(PatternKind):
    name = "email"
    widget = "email"
    example = example_zh = "li.lei@example.cn"

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return text.lower() if "@" in text else text


class PhoneKind(PatternKind):
    name = "phone"
    widget = "phone"
    example = example_zh = "+86 138 0013 8000"


class UrlKind(PatternKind):
    name = "url"
    widget = "url"
    searchable = True
    example = example_zh = "https://example.cn"
