"""Relative periods (``{unit: MONTH, from: 0, to: 0}``: this month) as date bounds.

Filters and saved views keep "the last 7 days" rather than the dates it meant the day
they were saved; the bounds are worked out from the tenant's date when the statement is
written (and cached plans are keyed by that date).
"""

from __future__ import annotations

import datetime as dt

#: How far from the current period a bound may be (a century of days is plenty).
MAX_OFFSET = 36_500


def _start(today: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return today - dt.timedelta(days=today.weekday())
    if unit == "month":
        return today.replace(day=1)
    if unit == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return today.replace(month=1, day=1)
    return today


def _shift(start: dt.date, unit: str, n: int) -> dt.date:
    if unit == "day":
        return start + dt.timedelta(days=n)
    if unit == "week":
        return start + dt.timedelta(weeks=n)
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * n
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bounds(today: dt.date, unit: str, first: int, last: int) -> tuple[dt.date, dt.date]:
    """Return [start, end) of the periods ``first`` to ``last`` (both included) counted
    from the one holding ``today``. Raise ValueError for bounds out of order or range."""
    if first > last:
        raise ValueError(f"from ({first}) is after to ({last})")
    if max(abs(first), abs(last)) > MAX_OFFSET:
        raise ValueError(f"from and to must be within ±{MAX_OFFSET}")
    start = _start(today, unit)
    return _shift(start, unit, first), _shift(start, unit, last + 1)
