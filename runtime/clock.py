"""The time the workflow engine goes by: the wall clock, or one a test or a staging
worker sets.

Date triggers, schedules, leases and retries all ask the engine's clock, never
``datetime.now``, so a test can move time forward (``ManualClock``) and check what fires,
and a staging worker can run ahead of the wall clock (``TESSERA_CLOCK_OFFSET``).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """Return the current moment, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The wall clock, optionally shifted by ``offset`` seconds."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = dt.timedelta(seconds=offset)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


class ManualClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime.now(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, moment: dt.datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("give an aware datetime")
        with self._lock:
            self._now = moment

    def advance(self, seconds: float) -> dt.datetime:
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)
            return self._now
