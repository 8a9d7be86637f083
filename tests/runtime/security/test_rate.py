"""Request rates: the in-memory sliding windows, and Redis counters shared between the
threads' path and the event loop's (the fast lane counts there)."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from runtime.security.rate import RateLimited, RateLimiter, _LocalWindows

REDIS = os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_local_windows_slide_as_the_redis_counters_do():
    windows = _LocalWindows()
    assert windows.hit("k", 2, 10, 0.0) is None
    assert windows.hit("k", 2, 10, 0.1) is None
    wait = windows.hit("k", 2, 10, 0.2)
    assert wait is not None and 9.5 < wait <= 10  # the window must end first
    assert windows.hit("other", 2, 10, 0.2) is None  # keys count apart
    # Just into the next window the previous one still weighs almost 2.
    assert windows.hit("k", 2, 10, 10.1) is not None
    # Halfway through it weighs 1: one more fits, then no more.
    assert windows.hit("k", 2, 10, 15.0) is None
    assert windows.hit("k", 2, 10, 15.1) is not None
    # Two windows later nothing weighs.
    assert windows.hit("k", 2, 10, 35.0) is None


def test_a_limiter_in_memory_refuses_past_the_burst_with_retry_after():
    limiter = RateLimiter(12)  # bursts of 2 in ten seconds
    limiter.check("token:a")
    limiter.check("token:a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("token:a")
    assert 0.1 <= refused.value.retry_after <= 10
    limiter.check("token:b")
    unlimited = RateLimiter(0)
    for _ in range(100):
        unlimited.check("token:a")


def test_the_event_loop_and_the_threads_count_one_budget():
    """In memory and in Redis, a request counted by ``acheck`` (the fast lane) and one by
    ``check`` (the full path) spend the same budget."""
    parts = urlsplit(REDIS)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test shared rate limits: Redis not reachable at {REDIS}")
        pytest.skip(f"Redis not reachable at {REDIS}")
    for limiter in (RateLimiter(12), RateLimiter(12, storage_url=REDIS)):
        key = f"token:{uuid.uuid4()}"

        async def counted(limiter: RateLimiter = limiter, key: str = key) -> None:
            await limiter.acheck(key)
            limiter.check(key)
            with pytest.raises(RateLimited):
                await limiter.acheck(key)

        asyncio.run(counted())
        with pytest.raises(RateLimited):
            limiter.check(key)
