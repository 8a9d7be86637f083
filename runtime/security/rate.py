"""Request rate per token (or per signed-in user): a token bucket per key.

Each key may make ``per_minute`` requests a minute on average, in bursts of up to
``burst``. Counted per server process; behind a load balancer with N processes a key
gets up to N times the rate (a shared counter in Redis is the scale-out step).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimited(Exception):
    """Too many requests; ``retry_after`` says in how many seconds one is allowed."""

    def __init__(self, retry_after: float, per_minute: int) -> None:
        super().__init__(
            f"more than {per_minute} requests a minute with this credential; "
            f"retry in {retry_after:.1f} s"
        )
        self.retry_after = retry_after


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.per_minute = per_minute
        self.burst = burst or max(1, per_minute // 6)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def check(self, key: str) -> None:
        """Take one request from ``key``'s bucket or raise RateLimited."""
        if self.per_minute <= 0:
            return
        rate = self.per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                raise RateLimited((1.0 - tokens) / rate, self.per_minute)
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a reset only forgives
            self._buckets[key] = (tokens - 1.0, now)
