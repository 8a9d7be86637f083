"""The time the workflow engine goes by: the wall clock, or one a test or a staging
worker sets.

Date triggers, schedules, leases and retries all ask the engine's clock, never
``datetime.now``, so a test can move time forward (``ManualClock``) and check what fires,
and a staging worker can run ahead of the wall clock (``TESSERA_CLOCK_OFFSET``). An
end-to-end test moves a real worker process's time by writing a file
(``TESSERA_CLOCK_FILE``, ``FileClock``).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
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


class FileClock:
    """A clock set by writing a moment in a file (ISO 8601, with a zone), which then runs
    on from there at the wall clock's pace, as a watch does once set: leases run out and
    retries come due. Re-read when the file changes; the wall clock (plus ``offset``)
    while it is missing or empty. Tests move a worker process's time with it; production
    refuses it (runtime/settings.py)."""

    def __init__(self, path: str, offset: float = 0.0) -> None:
        self.path = path
        self.wall = SystemClock(offset)
        self._seen: tuple[float, int] | None = None
        self._moment: dt.datetime | None = None
        self._set_at = 0.0
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return self.wall.now()
        with self._lock:
            if self._seen != (stat.st_mtime, stat.st_size):
                with open(self.path, encoding="utf-8") as file:
                    text = file.read().strip()
                moment = dt.datetime.fromisoformat(text) if text else None
                if moment is not None and moment.tzinfo is None:
                    raise ValueError(f"{self.path} holds {text!r}, a moment without a zone")
                self._seen, self._moment = (stat.st_mtime, stat.st_size), moment
                self._set_at = stat.st_mtime
            if self._moment is None:
                return self.wall.now()
            ran = max(0.0, time.time() - self._set_at)
            return self._moment + dt.timedelta(seconds=ran)
