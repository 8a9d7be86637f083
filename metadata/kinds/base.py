"""What every field kind is: one object per field type that owns what the type means.

A kind says how its values are stored (logical column types, mapped to SQL types by
``runtime.storage``), how they are read from JSON (the API, pack files, expression
results) and from text (imports, in the reader's locale), how a value is checked against
the field's options, which GraphQL scalar and filter family present it (built by
``runtime.graphql``), which widget edits it, and what the platform can do with it
(sort, group, aggregate, search). Metadata is the bottom layer, so kinds name their SQL
and GraphQL types instead of importing them; the runtime maps the names in one place.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from metadata.model import Field

LOCALES = ("en", "zh-CN")


class ValueProblem(ValueError):
    """A value a field cannot take, said in English and Chinese.

    ``code`` is the API's error code (``INVALID_VALUE``, ``VALUE_TOO_LONG``,
    ``BAD_USER_INPUT``); the messages name the value and what was expected.
    """

    def __init__(
        self, en: str, zh: str, code: str = "INVALID_VALUE", *, part: str | None = None
    ) -> None:
        super().__init__(en)
        self.en, self.zh, self.code = en, zh, code
        self.part = part
        """The part of a composite value at fault (``currencyCode``), if one is."""

    @classmethod
    def expected(cls, value: Any, kind: str, en: str, zh: str) -> ValueProblem:
        """``value`` does not read as a ``kind``: say which forms do."""
        return cls(
            f"{value!r} is not a valid {kind}: expected {en}",
            f"{value!r} 不是有效的{KIND_NAMES_ZH.get(kind, kind)}：应为 {zh}",
            "BAD_USER_INPUT",
        )


#: How the messages call each kind in Chinese (GLOSSARY terms where there is one).
KIND_NAMES_ZH = {
    "text": "文本",
    "long_text": "长文本",
    "rich_text": "富文本",
    "integer": "整数",
    "decimal": "小数",
    "currency": "金额",
    "percent": "百分比",
    "boolean": "是/否值",
    "date": "日期",
    "datetime": "日期时间",
    "time": "时间",
    "duration": "时长",
    "email": "电子邮箱",
    "phone": "电话号码",
    "url": "网址",
    "picklist": "选项",
    "multi_picklist": "多选项",
    "lookup": "关联记录 ID",
    "master_detail": "主记录 ID",
    "auto_number": "自动编号",
    "json": "JSON 值",
    "formula": "公式",
    "rollup": "汇总",
    "uuid": "UUID",
    "address": "地址",
    "geolocation": "地理位置",
    "polymorphic_lookup": "多对象关联",
    "attachment": "附件",
}


@dataclass(frozen=True)
class Column:
    """One stored column of a field: its name and logical type (``runtime.storage``
    maps ``string``, ``text``, ``bigint``, ``numeric``, ``boolean``, ``date``,
    ``datetime``, ``time``, ``json``, ``uuid`` and ``code`` to SQL types)."""

    name: str
    type: str


class Kind:
    """The behaviour of one field type. Subclasses override what differs."""

    name: str = ""
    storage: str | None = None
    """Logical type of the value column; None: nothing is stored (computed)."""
    graphql: str = "String"
    """Name of the GraphQL scalar (or type) that presents a value."""
    filter: str | None = "string"
    """Filter family the API offers (None: cannot be filtered)."""
    widget: str = "text"
    """The UI widget that edits a value (docs/metadata.md lists them)."""
    expression: str | None = None
    """What a value is inside an expression (number, text, boolean, date, datetime, id)."""
    sortable: bool = True
    groupable: bool = False
    aggregatable: bool = False
    """sum and average."""
    ordered: bool = False
    """min and max, range filters, date grouping."""
    searchable: bool = False
    """full-text search may include it."""
    comparable: bool = False
    """sharing-rule criteria may compare it."""
    writable: bool = True
    """False: the platform assigns or computes values; input cannot set them."""

    # -- storage -------------------------------------------------------------------------

    def columns(self, f: Field) -> list[Column]:
        """The columns that store ``f`` (none for computed kinds)."""
        return [Column(f.name, self.storage)] if self.storage else []

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        """The column values that store ``value`` (already read and checked)."""
        return {f.name: value}

    # -- reading values ------------------------------------------------------------------

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        """Read a JSON value (or a Python value from an expression) as this kind's
        value; ``rounding``: round to the field's scale instead of refusing more digits.
        None stays None. Raise ValueProblem."""
        return value

    def from_text(self, f: Field, text: str, locale: str = "en") -> Any:
        """Read ``text`` as people write it in ``locale`` (``en`` or ``zh-CN``); an
        empty cell is None. Raise ValueProblem naming the value and the forms read."""
        cleaned = clean(text)
        if cleaned == "":
            return None
        return self.parse(f, cleaned, locale)

    def parse(self, f: Field, text: str, locale: str) -> Any:
        """Read non-empty, normalized text (see ``from_text``)."""
        return self.from_json(f, text)

    def check(self, f: Field, value: Any, name: str) -> None:
        """Refuse a read value the field's options do not allow (``name``: the field as
        the caller calls it). Raise ValueProblem."""

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        """Return a function that reads and checks one JSON value of ``f`` (not None),
        with the field's options resolved once: bulk writes call it for every row.

        Kinds may return a faster function, but it only ever *accepts*: whatever it
        doubts goes to ``from_json`` and ``check``, so every refusal says the same."""

        def read(value: Any) -> Any:
            out = self.from_json(f, value)
            self.check(f, out, name)
            return out

        return read

    # -- documentation -------------------------------------------------------------------

    def text_forms(self) -> tuple[str, str]:
        """The text forms ``from_text`` reads, in English and Chinese (for the docs)."""
        return ("the JSON form", "JSON 形式")


def clean(text: str) -> str:
    """Return ``text`` with full-width characters folded (NFKC: ``１２３`` → ``123``,
    ``，`` → ``,``) and surrounding spaces removed."""
    return unicodedata.normalize("NFKC", text).strip()
