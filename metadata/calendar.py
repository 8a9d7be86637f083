"""Working-day calendars: which days a tenant works, for ADDWORKDAYS, WORKDAYS and
approval timeouts counted in working days.

A calendar is metadata (``calendars:`` beside workflows), so a pack can ship one and a
tenant can adjust it. Its weekend days are off, its holidays are off, and its extra
working days are on even when they fall on a weekend: China's adjusted working weekends
(调休), where a Saturday or Sunday is worked to bridge a public holiday, are the classic
case. The tenant's calendar is the one named ``standard``; without one, Monday to Friday
are worked and there are no holidays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metadata.text import Text

#: The calendar expressions and approvals use.
STANDARD = "standard"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A span of working days a computation may cross before giving up (a calendar with no
#: working day at all would otherwise never end).
MAX_SPAN_DAYS = 3660


@dataclass(frozen=True)
class Calendar:
    """Weekend days, holidays and extra working days."""

    name: str = STANDARD
    label: Text | None = None
    weekend: tuple[int, ...] = (5, 6)
    """Days off every week, Monday = 0."""
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)
    """Worked although they fall on a weekend (调休)."""
    unreadable: tuple[tuple[str, int, str], ...] = ()
    """(list, position, text) of dates that are no dates (2026-02-30): validation reports
    them, so the model can still be built to report everything else."""

    def is_workday(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The date ``n`` working days after ``day`` (before it when negative); 0 gives
        ``day`` itself, or the next working day when ``day`` is not one."""
        step = 1 if n >= 0 else -1
        current, left, spent = day, abs(n), 0
        if n == 0:
            while not self.is_workday(current):
                current += dt.timedelta(days=1)
                spent = self._spend(spent)
            return current
        while left:
            current += dt.timedelta(days=step)
            spent = self._spend(spent)
            if self.is_workday(current):
                left -= 1
        return current

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end``
        is earlier): the n for which ``add_workdays(start, n)`` reaches ``end``'s day."""
        if end < start:
            return -self.workdays_between(end, start)
        if (end - start).days > MAX_SPAN_DAYS:
            raise ValueError(f"{start} to {end} is longer than {MAX_SPAN_DAYS} days")
        return sum(
            1
            for i in range(1, (end - start).days + 1)
            if self.is_workday(start + dt.timedelta(days=i))
        )

    def _spend(self, spent: int) -> int:
        if spent >= MAX_SPAN_DAYS:
            raise ValueError(f"calendar {self.name} has no working day within {MAX_SPAN_DAYS} days")
        return spent + 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.label:
            out["label"] = self.label.to_json()
        out["weekend"] = [WEEKDAYS[d] for d in self.weekend]
        if self.holidays:
            out["holidays"] = [d.isoformat() for d in sorted(self.holidays)]
        if self.workdays:
            out["workdays"] = [d.isoformat() for d in sorted(self.workdays)]
        return out


#: Monday to Friday, no holidays: a tenant without a ``standard`` calendar.
DEFAULT_CALENDAR = Calendar()


def build_calendar(name: str, raw: Mapping[str, Any]) -> Calendar:
    """Return the calendar of a validated document entry."""
    unreadable: list[tuple[str, int, str]] = []
    days: dict[str, frozenset[dt.date]] = {}
    for key in ("holidays", "workdays"):
        found = set()
        for i, text in enumerate(raw.get(key) or ()):
            try:
                found.add(dt.date.fromisoformat(str(text)))
            except ValueError:
                unreadable.append((key, i, str(text)))
        days[key] = frozenset(found)
    return Calendar(
        name=name,
        label=Text.of(raw["label"]) if raw.get("label") else None,
        weekend=tuple(sorted(WEEKDAYS.index(d) for d in raw.get("weekend", ("sat", "sun")))),
        holidays=days["holidays"],
        workdays=days["workdays"],
        unreadable=tuple(unreadable),
    )


def calendar_schema() -> dict[str, Any]:
    """The JSON Schema of one calendar."""
    day = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
    return {
        "type": "object",
        "description": "Working days: weekend days and holidays are off, extra working "
        "days are on (China's adjusted working weekends, 调休). The calendar named "
        "standard is the tenant's (docs/workflows.md).",
        "additionalProperties": False,
        "properties": {
            "label": {"$ref": "#/$defs/text"},
            "weekend": {
                "type": "array",
                "uniqueItems": True,
                "items": {"enum": list(WEEKDAYS)},
                "description": "Days off every week; default [sat, sun].",
            },
            "holidays": {"type": "array", "uniqueItems": True, "items": day},
            "workdays": {
                "type": "array",
                "uniqueItems": True,
                "items": day,
                "description": "Worked although on a weekend.",
            },
        },
    }
