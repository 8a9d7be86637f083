"""Number kinds: integer, decimal, percent, currency and duration.

Text is read as people write numbers in both locales: thousands separators (``1,234.50``,
full-width ``１，２３４``), a leading currency symbol or a trailing code or unit for money
(``¥1,200``, ``$35.5``, ``1,200 元``, ``USD 99``), a percent sign for percentages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from metadata.field_types import BIGINT_MAX, BIGINT_MIN
from metadata.kinds.base import Column, Kind, ValueProblem
from metadata.model import Field

_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_CODE = re.compile(r"^[A-Z]{3}$")
#: Currency symbols and words, to ISO 4217. ``¥`` is the yuan here (a Chinese CRM); a
#: field whose default currency is JPY reads it as yen.
_SYMBOLS = {
    "HK$": "HKD",
    "US$": "USD",
    "NT$": "TWD",
    "RMB": "CNY",
    "¥": "CNY",
    "$": "USD",
    "€": "EUR",
    "£": "GBP",
    "元": "CNY",
    "人民币": "CNY",
    "美元": "USD",
    "欧元": "EUR",
    "英镑": "GBP",
    "港币": "HKD",
    "港元": "HKD",
    "日元": "JPY",
}


def number_text(value: Any, kind: str, text: str) -> Decimal:
    """Return ``text`` (``1,234.50``; spaces and full-width digits already folded) as a
    Decimal, or raise naming the forms that are read."""
    compact = text.replace(" ", "")
    if not _NUMBER.match(compact):
        raise ValueProblem.expected(
            value,
            kind,
            "a number such as 1234.5 or 1,234.50",
            "数字，例如 1234.5 或 1,234.50",
        )
    return Decimal(compact.replace(",", ""))


def _decimal(value: Any, kind: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueProblem.expected(value, kind, "a number", "数字")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueProblem.expected(value, kind, "a number", "数字") from None
    if not out.is_finite():
        raise ValueProblem.expected(value, kind, "a finite number", "有限的数字")
    return out


class IntegerKind(Kind):
    name = "integer"
    storage = "bigint"
    graphql = "BigInt"
    filter = "bigint"
    widget = "number"
    expression = "number"
    groupable = True
    aggregatable = True
    ordered = True
    comparable = True
    least = BIGINT_MIN
    """The smallest value ``check`` accepts (the fast reader's bound)."""

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        number = _decimal(value, self.name)
        if number != number.to_integral_value():
            if not rounding:
                raise ValueProblem.expected(value, self.name, "a whole number", "整数")
            number = number.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        if not BIGINT_MIN <= number <= BIGINT_MAX:
            raise ValueProblem(
                f"{value!r} is out of range: at least {BIGINT_MIN} and at most {BIGINT_MAX}",
                f"{value!r} 超出范围：最小 {BIGINT_MIN}，最大 {BIGINT_MAX}",
            )
        return int(number)

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return self.from_json(f, number_text(text, self.name, text))

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)
        least = self.least

        def read(value: Any) -> Any:
            if type(value) is int and least <= value <= BIGINT_MAX:
                return value
            return slow(value)

        return read

    def text_forms(self) -> tuple[str, str]:
        return ("a whole number: 1234 or 1,234", "整数：1234 或 1,234")


class DecimalKind(Kind):
    name = "decimal"
    storage = "numeric"
    graphql = "Decimal"
    filter = "decimal"
    widget = "number"
    expression = "number"
    aggregatable = True
    ordered = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        number = _decimal(value, self.name)
        if rounding:
            number = number.quantize(
                Decimal(1).scaleb(-int(f.option("scale") or 0)), rounding=ROUND_HALF_UP
            )
        return number

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return number_text(text, self.name, text)

    def check(self, f: Field, value: Any, name: str) -> None:
        amount: Decimal = value
        scale, precision = f.option("scale"), f.option("precision")
        _, digits, exponent = amount.as_tuple()
        if isinstance(exponent, int) and -exponent > scale:
            # Trailing zeros are no precision: 3.50 fits a scale of 1.
            text = "".join(map(str, digits))
            exponent += len(text) - len(text.rstrip("0")) if text.strip("0") else -exponent
        if isinstance(exponent, int) and -exponent > scale:
            raise ValueProblem(
                f"{name} has more than {scale} decimal places; round it first",
                f"{name} 的小数位多于 {scale} 位，请先取整",
            )
        # adjusted(): the exponent of the leading digit, with no arithmetic that could
        # overflow the decimal context (1e1000000 is a valid GraphQL Decimal).
        if amount and amount.adjusted() >= precision - scale:
            raise ValueProblem(
                f"{name} is too large: at most {precision - scale} digits before the point",
                f"{name} 过大：小数点前最多 {precision - scale} 位",
            )

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)
        scale, digits_before = f.option("scale"), f.option("precision") - f.option("scale")

        def read(value: Any) -> Any:
            if type(value) in (str, int, Decimal):
                try:
                    number = Decimal(value)
                except (InvalidOperation, TypeError):
                    return slow(value)
                exponent = number.as_tuple().exponent
                if (
                    isinstance(exponent, int)
                    and -exponent <= scale
                    and (not number or number.adjusted() < digits_before)
                ):
                    return number
            return slow(value)

        return read

    def text_forms(self) -> tuple[str, str]:
        return ("a number: 1234.5 or 1,234.50", "数字：1234.5 或 1,234.50")


class PercentKind(DecimalKind):
    name = "percent"
    widget = "percent"

    def parse(self, f: Field, text: str, locale: str) -> Any:
        return number_text(text, self.name, text.removesuffix("%").strip())

    def text_forms(self) -> tuple[str, str]:
        return ("the number shown: 12.5 or 12.5%", "显示的数字：12.5 或 12.5%")


class CurrencyKind(DecimalKind):
    """Money: an amount (a ``numeric`` column) and its ISO 4217 code (a ``code`` column
    beside it). A value is ``{"amount": Decimal, "currency_code": str}``."""

    name = "currency"
    graphql = "CurrencyAmount"
    filter = "currency"
    widget = "currency"

    @staticmethod
    def code_column(field: str) -> str:
        """The column holding the ISO code of currency field ``field``."""
        return f"{field}__currency"

    def columns(self, f: Field) -> list[Column]:
        return [Column(f.name, "numeric"), Column(self.code_column(f.name), "code")]

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        if value is None:
            return {f.name: None, self.code_column(f.name): None}
        return {f.name: value["amount"], self.code_column(f.name): value["currency_code"]}

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        """A number (in the field's default currency) or ``{"amount": …,
        "currency_code"|"currencyCode": "USD"}``."""
        if value is None:
            return None
        code = None
        if isinstance(value, dict):
            code = value.get("currency_code", value.get("currencyCode"))
            value = value.get("amount")
            if value is None:
                return None
        amount = super().from_json(f, value, rounding=rounding)
        return {"amount": amount, "currency_code": self._code(f, code)}

    def _code(self, f: Field, code: Any) -> str:
        code = code or f.option("default_currency")
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueProblem(
                f"currencyCode {code!r} is not an ISO 4217 code such as CNY or USD",
                f"币种 {code!r} 不是 ISO 4217 代码，例如 CNY 或 USD",
                "BAD_USER_INPUT",
                part="currencyCode",
            )
        return code

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = Kind.reader(self, f, name)
        amount = DecimalKind().reader(f, name)
        default = f.option("default_currency")

        def read(value: Any) -> Any:
            if type(value) is dict and value.get("amount") is not None:
                code = value.get("currency_code", value.get("currencyCode")) or default
                if type(code) is str and _CODE.match(code):
                    try:
                        return {"amount": amount(value["amount"]), "currency_code": code}
                    except ValueProblem:
                        pass
            return slow(value)

        return read

    def parse(self, f: Field, text: str, locale: str) -> Any:
        rest, code = text, None
        for symbol in sorted(_SYMBOLS, key=len, reverse=True):
            iso = _SYMBOLS[symbol]
            if rest.startswith(symbol) or rest.endswith(symbol):
                rest = (
                    rest.removeprefix(symbol) if rest.startswith(symbol) else rest[: -len(symbol)]
                )
                code = iso
                break
        else:
            match = re.match(r"^([A-Z]{3})\s*(.+)$|^(.+?)\s*([A-Z]{3})$", rest)
            if match:
                code = match.group(1) or match.group(4)
                rest = match.group(2) or match.group(3)
        if text.lstrip("+-").startswith("¥") and f.option("default_currency") == "JPY":
            code = "JPY"
        try:
            amount = number_text(rest.strip(), self.name, rest.strip())
        except ValueProblem:
            raise ValueProblem.expected(
                text,
                self.name,
                "an amount such as 1,200.50, ¥1,200, $35, 1,200 CNY or USD 99",
                "金额，例如 1,200.50、¥1,200、1,200 元、1,200 CNY 或 USD 99",
            ) from None
        return {"amount": amount, "currency_code": self._code(f, code)}

    def check(self, f: Field, value: Any, name: str) -> None:
        if value is not None:  # {"amount": null} reads as no value
            super().check(f, value["amount"], name)

    def text_forms(self) -> tuple[str, str]:
        return (
            "1,200.50 (the default currency), ¥1,200, $35, 1,200 CNY or USD 99",
            "1,200.50（默认币种）、¥1,200、1,200 元、1,200 CNY 或 USD 99",
        )


#: Units a duration may be written in, to seconds.
_UNITS = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "天": 86400,
    "日": 86400,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "hours": 3600,
    "小时": 3600,
    "时": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "分钟": 60,
    "分": 60,
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "秒": 1,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + ")")


class DurationKind(IntegerKind):
    name = "duration"
    widget = "duration"
    expression = None
    least = 0

    def parse(self, f: Field, text: str, locale: str) -> Any:
        compact = text.lower().replace(" ", "")
        if re.fullmatch(r"\d+", compact):
            return self.from_json(f, int(compact))
        clock = re.fullmatch(r"(\d+):([0-5]\d)(?::([0-5]\d))?", compact)
        if clock:
            hours, minutes, seconds = clock.group(1), clock.group(2), clock.group(3) or "0"
            return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        parts = _PART.findall(compact)
        if parts and "".join(n + u for n, u in parts) == compact:
            total = sum(Decimal(n) * _UNITS[u] for n, u in parts)
            return self.from_json(f, total, rounding=True)
        raise ValueProblem.expected(
            text,
            self.name,
            "seconds (5400), a clock (1:30:00) or units (1h 30m, 2 days)",
            "秒数（5400）、时长（1:30:00）或带单位（1小时30分钟、2天）",
        )

    def check(self, f: Field, value: Any, name: str) -> None:
        if value < 0:
            raise ValueProblem(f"{name} cannot be negative", f"{name} 不能为负数")

    def text_forms(self) -> tuple[str, str]:
        return (
            "seconds (5400), 1:30:00, or 1h 30m / 2 days",
            "秒数（5400）、1:30:00，或 1小时30分钟 / 2天",
        )
