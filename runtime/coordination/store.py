"""Generations: a counter per kind of cached thing, bumped whenever it changes.

A cache remembers the generations it read when it filled an entry and throws the entry
away when they differ at the next look-up. With Redis the counters are shared, so a
change made by one process (a revoked token, a new member, an apply) is seen by every
other process at its very next request, with one MGET per request. In process memory
they only serve the one process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Bumped when any credential stops being valid (revoked token, deactivated user, new
#: password, removed member).
CREDENTIALS = "credentials"


def tenant_key(tenant: str) -> str:
    """Return the generation key of a tenant's metadata and memberships."""
    return f"tenant:{tenant}"


class GenerationStore(Protocol):
    shared: bool
    """Whether other processes see the same counters."""

    def get(self, keys: Sequence[str]) -> tuple[int, ...]:
        """Return the current generation of each key (-1: unknown, never equal)."""
        ...

    def bump(self, key: str) -> None:
        """Make every cached entry of ``key`` stale, in every process sharing the store."""
        ...

    async def aget(self, keys: Sequence[str]) -> tuple[int, ...]:
        """``get`` from the event loop, without blocking it."""
        ...


class LocalStore:
    """Counters in this process's memory."""

    shared = False

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, keys: Sequence[str]) -> tuple[int, ...]:
        with self._lock:
            return tuple(self._counters.get(k, 0) for k in keys)

    def bump(self, key: str) -> None:
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1

    async def aget(self, keys: Sequence[str]) -> tuple[int, ...]:
        return self.get(keys)  # memory: nothing to wait for


class RedisStore:
    """Counters in Redis, shared by every process of the deployment."""

    shared = True

    def __init__(self, url: str, prefix: str = "tessera:gen:") -> None:
        import redis

        self._url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._unknown = -1
        self._async: tuple[Any, Any] | None = None  # (event loop, its client)

    def get(self, keys: Sequence[str]) -> tuple[int, ...]:
        import redis

        try:
            values = self._redis.mget([self._prefix + k for k in keys])
        except redis.RedisError as exc:
            # Unknown generations match nothing, so caches are bypassed (slower, still
            # correct) until Redis answers again.
            log.warning("Redis unreachable for cache generations: %s", exc)
            self._unknown -= 1
            return tuple(self._unknown for _ in keys)
        return tuple(int(v) if v is not None else 0 for v in values)

    async def aget(self, keys: Sequence[str]) -> tuple[int, ...]:
        import redis
        import redis.asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async[0] is not loop:
            # A client per event loop: its connections belong to the loop that made them.
            client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=2, socket_connect_timeout=2
            )
            self._async = (loop, client)
        try:
            values = await self._async[1].mget([self._prefix + k for k in keys])
        except redis.RedisError as exc:
            log.warning("Redis unreachable for cache generations: %s", exc)
            self._unknown -= 1
            return tuple(self._unknown for _ in keys)
        return tuple(int(v) if v is not None else 0 for v in values)

    def bump(self, key: str) -> None:
        import redis

        try:
            self._redis.incr(self._prefix + key)
        except redis.RedisError as exc:
            log.warning("Redis unreachable; other processes learn of %s by message: %s", key, exc)
