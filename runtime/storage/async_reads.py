"""Reads from the event loop: kept statements on psycopg's async pool (PostgreSQL only).

The server answers a query whose plan it kept (runtime/server/fast_reads.py) without a
thread hop and without SQLAlchemy: each statement goes straight to an async psycopg
connection, in autocommit, and comes back as the JSON text the database built. Both
cost more than the statement itself on a one-record read (issue 17's profile).

The pool is a second one beside SQLAlchemy's, sized by the same setting, opened on the
first read and bound to the event loop that opened it. Its connections are set up like
SQLAlchemy's (UTC, the statement timeout) and are recycled like them once they have read
``max_tenants`` tenants' tables, before PostgreSQL's per-connection catalog cache
(about 95 KB for each tenant with core_crm) grows past its bound.
"""

from __future__ import annotations

import asyncio
import time
import weakref
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool

#: A statement's value when the database cancelled it (the statement timeout).
TIMED_OUT = "\x00timed out"


class _Bytes(Loader):
    """JSON results stay the bytes the database sent: the response is spliced from them,
    never parsed, nor decoded and encoded again (a third of the server CPU of a
    1,000-record read went to that and to copies)."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


class AsyncReads:
    def __init__(
        self,
        conninfo: str,
        *,
        options: str,
        size: int,
        max_tenants: int = 0,
        shards: int = 1,
        idle: float = 10.0,
    ) -> None:
        self._conninfo = conninfo
        self._options = options
        self._idle = idle
        self.max_tenants = max_tenants
        # Tenants are spread over ``shards`` pools by a hash of their name, so each pool's
        # connections read only their share: with more tenants than ``max_tenants``
        # spread over one pool, every connection would keep meeting new tenants, and be
        # replaced every ``max_tenants`` of them.
        self.shards = max(1, shards)
        self._size = max(1, -(-size // self.shards))  # each pool's share, rounded up
        self._pools: list[AsyncConnectionPool | None] = [None] * self.shards
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None
        # Tenants each pooled connection has read (weak: a closed connection's entry goes).
        self._tenants: weakref.WeakKeyDictionary[AsyncConnection[Any], set[str]] = (
            weakref.WeakKeyDictionary()
        )
        self.recycled = 0
        """Connections closed for having read too many tenants (metrics and tests)."""

    async def _configure(self, conn: AsyncConnection[Any]) -> None:
        await conn.set_autocommit(True)
        conn._tessera_returned = time.monotonic()  # type: ignore[attr-defined]  # just opened
        # Every statement here is a kept plan's, whose one value is JSON (cast to text).
        for name in ("text", "json", "jsonb"):
            conn.adapters.register_loader(name, _Bytes)

    def shard(self, tenant: str) -> int:
        """The pool ``tenant`` reads through (stable across processes and restarts)."""
        return zlib.crc32(tenant.encode()) % self.shards if self.shards > 1 else 0

    async def pool(self, tenant: str = "") -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        shard = self.shard(tenant)
        pool = self._pools[shard]
        if pool is not None and self._loop is loop:
            return pool
        if self._opening is None or self._loop is not loop:
            # A new event loop (a test client's): the old pools belonged to the old loop.
            self._opening, self._loop = asyncio.Lock(), loop
            self._pools = [None] * self.shards
        async with self._opening:
            pool = self._pools[shard]
            if pool is None:
                pool = AsyncConnectionPool(
                    self._conninfo,
                    kwargs={"options": self._options, "autocommit": True},
                    min_size=1,
                    max_size=self._size,
                    max_idle=300,
                    max_lifetime=1800,  # as SQLAlchemy's pool_recycle
                    configure=self._configure,
                    check=self._check,
                    open=False,
                    name=f"tessera-reads-{shard}",
                )
                await pool.open(wait=False)
                self._pools[shard] = pool
        return pool

    async def _check(self, conn: AsyncConnection[Any]) -> None:
        """Ping a connection on checkout only when it sat idle ``idle`` seconds (as the
        SQLAlchemy pool does: a round trip per read saved)."""
        returned = getattr(conn, "_tessera_returned", 0.0)
        if time.monotonic() - returned >= self._idle:
            await AsyncConnectionPool.check_connection(conn)

    async def read(
        self, tenant: str, statements: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[bytes | str | None]:
        """Run ``statements`` on one connection; return each one's single value, JSON as
        UTF-8 bytes (``TIMED_OUT`` for one that ran past the statement timeout)."""
        pool = await self.pool(tenant)
        async with pool.connection() as conn:
            values: list[bytes | str | None] = []
            for sql, params in statements:
                try:
                    cursor = await conn.execute(sql, params)
                except errors.QueryCanceled:
                    values.append(TIMED_OUT)
                    continue
                row = await cursor.fetchone()
                values.append(None if row is None else row[0])
            conn._tessera_returned = time.monotonic()  # type: ignore[attr-defined]
            seen = self._tenants.setdefault(conn, set())
            seen.add(tenant)
            if self.max_tenants and len(seen) > self.max_tenants:
                # Expired, the pool closes it on its return and opens a fresh backend
                # (psycopg_pool's own expiry, as after max_lifetime; closing it here
                # instead made the pool warn of a closed connection each time).
                self.recycled += 1
                conn._expire_at = 0.0  # type: ignore[attr-defined]
            return values

    async def close(self) -> None:
        pools, self._pools = self._pools, [None] * self.shards
        if self._loop is asyncio.get_running_loop():
            for pool in pools:
                if pool is not None:
                    await pool.close()
