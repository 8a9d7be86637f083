"""Cron schedules: five fields (minute hour day-of-month month day-of-week), read in a time
zone (the tenant's): ``0 9 * * 1-5`` fires at 09:00 on weekdays where the tenant is.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list
of those. Day of week runs 0-6 from Sunday (7 is Sunday too). As in cron, when both
day-of-month and day-of-week are restricted, a day matching either one counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


class CronError(ValueError):
    """A schedule that is not valid cron."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def _day_matches(self, day: dt.date) -> bool:
        weekday = (day.weekday() + 1) % 7  # Python: Monday 0; cron: Sunday 0
        by_day, by_weekday = day.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: dt.datetime, tz: dt.tzinfo = dt.UTC) -> dt.datetime:
        """Return the first matching minute strictly after ``moment``, the schedule read as
        wall-clock time in ``tz``; the answer is in UTC.

        A wall-clock minute that does not exist (a daylight-saving gap) is skipped; one
        that happens twice (the hour repeated in autumn) fires once, the first time.
        """
        start = moment.astimezone(dt.UTC)
        t = start.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        t += dt.timedelta(minutes=1)
        limit = t + dt.timedelta(days=366 * 5)
        while t < limit:
            if t.month not in self.months or not self._day_matches(t.date()):
                t = (t + dt.timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if t.hour not in self.hours:
                t = (t + dt.timedelta(hours=1)).replace(minute=0)
                continue
            if t.minute not in self.minutes:
                t += dt.timedelta(minutes=1)
                continue
            found = t.replace(tzinfo=tz).astimezone(dt.UTC)
            if found.astimezone(tz).replace(tzinfo=None) != t or found <= start:
                t += dt.timedelta(minutes=1)  # in a gap, or the repeated hour's second pass
                continue
            return found
        raise CronError("the schedule never fires")


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    out: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                a, b = base.split("-", 1)
                start, end = int(a), int(b)
            else:
                start = end = int(base)
                if step_text:
                    end = high
        except ValueError:
            raise CronError(f"{name}: {part!r} is not a number, range or step") from None
        if step < 1 or not (low <= start <= end <= high):
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def parse_cron(text: str) -> Cron:
    """Return the schedule ``text`` describes, or raise CronError saying what is wrong."""
    parts = text.split()
    if len(parts) != 5:
        raise CronError(
            f"a schedule has 5 fields (minute hour day month weekday), {text!r} has {len(parts)}"
        )
    values = [_field(p, *spec) for p, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    return Cron(
        values[0], values[1], values[2], values[3], weekdays, parts[2] == "*", parts[4] == "*"
    )
