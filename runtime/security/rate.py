"""Request rate per token (or per signed-in user): sliding-window counters, in Redis by
the ``limits`` library or in memory.

Each key may make ``per_minute`` requests a minute, and at most a sixth of that in any
ten seconds (bursts). With ``TESSERA_REDIS_URL`` the counters live in Redis, so behind N
server processes a token still gets its rate once, not N times; without it each process
counts for itself (the embedded default is one process). Sliding-window counters keep
the cost at one small Redis script per window and request. Without Redis, the same
counting runs in memory (``_LocalWindows``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Too many requests; ``retry_after`` says in how many seconds one is allowed."""

    def __init__(self, retry_after: float, per_minute: int) -> None:
        super().__init__(
            f"more than {per_minute} requests a minute with this credential; "
            f"retry in {retry_after:.1f} s"
        )
        self.retry_after = retry_after


class _LocalWindows:
    """Sliding-window counters in this process's memory, counted as the ``limits``
    library's sliding window counter counts in Redis: the previous window's count,
    weighted by how much of it the sliding window still covers, plus the current one's.

    Not the library's memory storage: it starts a timer thread every 10 ms under load to
    expire its keys, which cost 12% of the server CPU of a large read (issue 17's profile).
    Here stale windows simply roll over when their key is next counted.
    """

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, seconds: int, now: float) -> float | None:
        """Count one request of ``key`` against ``limit`` per ``seconds``; return None if
        it is allowed, else the seconds until one would be."""
        window = int(now // seconds)
        into = (now - window * seconds) / seconds  # how far into the current window
        with self._lock:
            at, current, previous = self._windows.get((key, seconds), (window, 0, 0))
            if at != window:
                previous, current = (current if at == window - 1 else 0), 0
            weighted = previous * (1 - into) + current
            if weighted + 1 > limit:
                self._windows[(key, seconds)] = (window, current, previous)
                if current + 1 > limit or previous == 0:
                    return max(0.1, (1 - into) * seconds)
                # When the previous window's weight has shrunk enough for one more.
                needed = 1 - (limit - 1 - current) / previous
                return max(0.1, (needed - into) * seconds)
            self._windows[(key, seconds)] = (window, current + 1, previous)
            return None


class RateLimiter:
    def __init__(self, per_minute: int, *, storage_url: str | None = None) -> None:
        self.per_minute = per_minute
        self.shared = bool(storage_url)
        self._burst = max(1, per_minute // 6)
        self._items = (
            RateLimitItemPerSecond(self._burst, 10, namespace="tessera-burst"),
            RateLimitItemPerMinute(max(1, per_minute), namespace="tessera-rate"),
        )
        self._local = _LocalWindows()
        self._uri = storage_url or ""
        self._options = {"socket_timeout": 2, "socket_connect_timeout": 2}
        self._limiter = (
            SlidingWindowCounterRateLimiter(storage_from_string(self._uri, **self._options))
            if storage_url
            else None
        )
        self._async: tuple[Any, Any] | None = None  # (event loop, its limiter)

    def _check_local(self, key: str) -> None:
        now = time.time()
        for limit, seconds in ((self._burst, 10), (max(1, self.per_minute), 60)):
            wait = self._local.hit(key, limit, seconds, now)
            if wait is not None:
                raise RateLimited(wait, self.per_minute)

    def check(self, key: str) -> None:
        """Count one request of ``key`` or raise RateLimited."""
        if self.per_minute <= 0:
            return
        if self._limiter is None:
            self._check_local(key)
            return
        try:
            for item in self._items:
                if not self._limiter.hit(item, key):
                    stats = self._limiter.get_window_stats(item, key)
                    raise RateLimited(max(0.1, stats.reset_time - time.time()), self.per_minute)
        except RateLimited:
            raise
        except Exception as exc:
            # The counter store (Redis) is down: serve rather than refuse everyone.
            log.warning("rate limit not counted (%s): %s", type(exc).__name__, exc)

    async def acheck(self, key: str) -> None:
        """``check`` from the event loop: the same counters (the same Redis keys as the
        threads' requests count under), without blocking the loop."""
        if self.per_minute <= 0:
            return
        if self._limiter is None:
            self._check_local(key)  # counters in memory: nothing to wait for
            return
        from limits.aio.strategies import SlidingWindowCounterRateLimiter as Async

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            # A client per event loop: its connections belong to the loop that made them.
            storage = storage_from_string(
                "async+" + self._uri, implementation="redispy", **self._options
            )
            self._async = (loop, Async(storage))
        limiter = self._async[1]
        try:
            for item in self._items:
                if not await limiter.hit(item, key):
                    stats = await limiter.get_window_stats(item, key)
                    raise RateLimited(max(0.1, stats.reset_time - time.time()), self.per_minute)
        except RateLimited:
            raise
        except Exception as exc:
            log.warning("rate limit not counted (%s): %s", type(exc).__name__, exc)
