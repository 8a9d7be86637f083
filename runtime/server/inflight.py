"""Requests whose SQL runs in a worker thread, watched for their client going away.

When a client disconnects mid-request, the statement it started should stop at once
rather than run on for nobody, holding a database core and a pooled connection (and
delaying shutdown). Watching a request means awaiting its ASGI ``receive`` for
``http.disconnect`` beside the work; doing that for every request cost about 100 µs of
CPU each (two tasks and an ``asyncio.wait``), 4-5% of a small read. So only requests
still running after ``after`` seconds are watched: one sweeper task per event loop looks
over the running requests a few times a second, and starts a listener for each that has
run that long. A request pays for a dictionary entry; a long one is stopped within
``after`` (plus the database's cancel) of its client leaving.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from runtime.storage.cancel import Cancellation

T = TypeVar("T")


@dataclass
class _Running:
    receive: Callable[[], Awaitable[Any]]
    cancellation: Cancellation
    started: float = field(default_factory=time.monotonic)
    listener: asyncio.Task[None] | None = None


class Inflight:
    """The running requests of one server process (kept on the app's state)."""

    def __init__(self, after: float = 0.1) -> None:
        self.after = after
        self._running: dict[int, _Running] = {}
        self._ids = itertools.count()
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(
        self,
        receive: Callable[[], Awaitable[Any]],
        work: Callable[[Cancellation], T],
    ) -> T:
        """Run ``work`` in a worker thread; cancel its statements if the client goes
        away while it runs (once it has run ``after`` seconds)."""
        self._ensure_sweeper()
        key = next(self._ids)
        entry = _Running(receive, Cancellation())
        self._running[key] = entry
        try:
            return await anyio.to_thread.run_sync(lambda: work(entry.cancellation))
        finally:
            del self._running[key]
            if entry.listener is not None:
                entry.listener.cancel()

    def _ensure_sweeper(self) -> None:
        # Lazily, on the loop serving requests (an app may outlive one test client's
        # loop and be served by another).
        loop = asyncio.get_running_loop()
        if self._sweeper is None or self._sweeper.done() or self._loop is not loop:
            self._loop = loop
            self._sweeper = loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.after / 2)
            now = time.monotonic()
            for entry in list(self._running.values()):
                if entry.listener is None and now - entry.started >= self.after:
                    entry.listener = asyncio.ensure_future(_listen(entry))

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()


async def _listen(entry: _Running) -> None:
    while (await entry.receive())["type"] != "http.disconnect":
        pass
    await anyio.to_thread.run_sync(entry.cancellation.cancel)
