"""Request rate per token (or per signed-in user), counted by the ``limits`` library.

Each key may make ``per_minute`` requests a minute, and at most a sixth of that in any
ten seconds (bursts). With ``TESSERA_REDIS_URL`` the counters live in Redis, so behind N
server processes a token still gets its rate once, not N times; without it each process
counts for itself (the embedded default is one process). Sliding-window counters keep
the cost at one small Redis script per window and request.
"""

from __future__ import annotations

import asyncio
import logging
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


class RateLimiter:
    def __init__(self, per_minute: int, *, storage_url: str | None = None) -> None:
        self.per_minute = per_minute
        self.shared = bool(storage_url)
        burst = max(1, per_minute // 6)
        self._items = (
            RateLimitItemPerSecond(burst, 10, namespace="tessera-burst"),
            RateLimitItemPerMinute(max(1, per_minute), namespace="tessera-rate"),
        )
        uri = storage_url or "memory://"
        options = {"socket_timeout": 2, "socket_connect_timeout": 2} if storage_url else {}
        self._limiter = SlidingWindowCounterRateLimiter(storage_from_string(uri, **options))
        self._uri, self._options = uri, options
        self._async: tuple[Any, Any] | None = None  # (event loop, its limiter)

    def check(self, key: str) -> None:
        """Count one request of ``key`` or raise RateLimited."""
        if self.per_minute <= 0:
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
        if not self.shared:
            self.check(key)  # counters in memory: nothing to wait for
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
