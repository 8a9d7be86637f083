"""Date and time kinds: date, datetime and time.

JSON carries ISO 8601 text. People write dates year first in Chinese (``2026/12/1``,
``2026.12.1``, ``2026年12月1日``) and, in English, also month first (``12/1/2026``, as in
the United States); ISO (``2026-12-01``) reads in both. A day-first form is never
guessed: ``1/12/2026`` in zh-CN is refused with the forms that are read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from metadata.kinds.base import Kind, ValueProblem
from metadata.model import Field

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_CLOCK = re.compile(
    r"^(上午|下午|早上|晚上|中午)?\s*(\d{1,2})\s*[:点时]\s*(\d{1,2})?\s*分?"
    r"(?:\s*[:]?\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?)?\s*(am|pm|a\.m\.|p\.m\.)?$",
    re.IGNORECASE,
)
_DATE_FORMS = {
    "en": (
        "2026-12-01, 2026/12/1 or 12/1/2026 (month first)",
        "2026-12-01、2026/12/1 或 12/1/2026（月在前）",
    ),
    "zh-CN": ("2026-12-01, 2026/12/1 or 2026年12月1日", "2026-12-01、2026/12/1 或 2026年12月1日"),
}


def read_date(text: str, locale: str) -> dt.date | None:
    """Return the date ``text`` names in ``locale``, or None if it is no date form."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    match = _YMD.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    elif locale == "en" and (match := _MDY.match(text)):
        month, day, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def read_clock(text: str) -> dt.time | None:
    """Return the time of day ``text`` names (``09:30``, ``9:30:15``, ``3:30 PM``,
    ``下午3点30分``), or None."""
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        pass
    match = _CLOCK.match(text)
    if not match:
        return None
    part, hour, minute, second, fraction, suffix = match.groups()
    h, m, s = int(hour), int(minute or 0), int(second or 0)
    afternoon = (part in ("下午", "晚上") or (suffix or "").lower().startswith("p")) and h < 12
    morning = (part in ("上午", "早上") or (suffix or "").lower().startswith("a")) and h == 12
    h = h + 12 if afternoon else 0 if morning else h
    if part == "中午" and h < 11:
        h += 12
    try:
        return dt.time(h, m, s, int((fraction or "0").ljust(6, "0")))
    except ValueError:
        return None


class DateKind(Kind):
    name = "date"
    storage = "date"
    graphql = "Date"
    filter = "date"
    widget = "date"
    expression = "date"
    groupable = True
    ordered = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise ValueProblem.expected(
            value, self.name, "an ISO date: 2026-12-01", "ISO 日期：2026-12-01"
        )

    def reader(self, f: Field, name: str) -> Callable[[Any], Any]:
        slow = super().reader(f, name)

        def read(value: Any) -> Any:
            if type(value) is str:
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            elif type(value) is dt.date:
                return value
            return slow(value)

        return read

    def parse(self, f: Field, text: str, locale: str) -> Any:
        day = read_date(text, locale)
        if day is None:
            en, zh = _DATE_FORMS.get(locale, _DATE_FORMS["en"])
            raise ValueProblem.expected(text, self.name, en, zh)
        return day

    def text_forms(self) -> tuple[str, str]:
        return (
            "2026-12-01, 2026/12/1, 2026年12月1日; in en also 12/1/2026",
            "2026-12-01、2026/12/1、2026年12月1日；英文环境下也可 12/1/2026",
        )


class DateTimeKind(Kind):
    """A moment, stored in UTC. Text without an offset is in the tenant's time zone,
    which the caller passes as ``zone``."""

    name = "datetime"
    storage = "datetime"
    graphql = "DateTime"
    filter = "datetime"
    widget = "datetime"
    expression = "datetime"
    groupable = True
    ordered = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueProblem.expected(
                    value,
                    self.name,
                    "an ISO moment: 2026-12-01T09:30:00+08:00",
                    "ISO 时刻：2026-12-01T09:30:00+08:00",
                ) from None
        else:
            raise ValueProblem.expected(value, self.name, "an ISO moment", "ISO 时刻")
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    def from_text(self, f: Field, text: str, locale: str = "en", zone: dt.tzinfo = dt.UTC) -> Any:
        moment = super().from_text(f, text, locale)
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment

    def parse(self, f: Field, text: str, locale: str) -> Any:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        date_part, _, clock_part = text.partition(" ")
        if "日" in text and not clock_part:
            date_part, _, clock_part = text.partition("日")
            date_part += "日"
        day = read_date(date_part.strip(), locale)
        clock = read_clock(clock_part.strip()) if clock_part.strip() else dt.time()
        if day is None or clock is None:
            en, zh = _DATE_FORMS.get(locale, _DATE_FORMS["en"])
            raise ValueProblem.expected(
                text,
                self.name,
                f"a date and a time: {en.split(',')[0]} 09:30",
                f"日期加时间：{zh.split('、')[0]} 09:30",
            )
        return dt.datetime.combine(day, clock)

    def text_forms(self) -> tuple[str, str]:
        return (
            "ISO 8601, or a date form and a time: 2026/12/1 09:30, 2026年12月1日 下午3点 "
            "(in the tenant's time zone)",
            "ISO 8601，或日期加时间：2026/12/1 09:30、2026年12月1日 下午3点（按租户时区）",
        )


class TimeKind(Kind):
    name = "time"
    storage = "time"
    graphql = "Time"
    filter = "time"
    widget = "time"
    ordered = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None or isinstance(value, dt.time):
            return value
        if isinstance(value, str):
            try:
                return dt.time.fromisoformat(value)
            except ValueError:
                pass
        raise ValueProblem.expected(value, self.name, "an ISO time: 09:30:00", "ISO 时间：09:30:00")

    def parse(self, f: Field, text: str, locale: str) -> Any:
        clock = read_clock(text)
        if clock is None:
            raise ValueProblem.expected(
                text, self.name, "09:30, 9:30:15 or 3:30 PM", "09:30、9:30:15 或 下午3点30分"
            )
        return clock

    def text_forms(self) -> tuple[str, str]:
        return ("09:30, 9:30:15, 3:30 PM", "09:30、9:30:15、下午3点30分")
