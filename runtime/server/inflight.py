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
import contextvars
import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio

from runtime.storage.cancel import Cancellation

T = TypeVar("T")


@dataclass
class _Running:
    receive: Callable[[], Awaitable[Any]]
    cancellation: Cancellation | None
    """A thread's statements; None for a read on the event loop (``task``)."""
    started: float = field(default_factory=time.monotonic)
    listener: asyncio.Task[None] | None = None
    task: asyncio.Task[Any] | None = None
    gone: bool = False


class ClientGone(Exception):
    """The client went away while its read ran on the event loop, which was stopped."""


class Inflight:
    """The running requests of one server process (kept on the app's state)."""

    def __init__(self, after: float = 0.1, threads: int = 40) -> None:
        self.after = after
        # A plain executor: anyio's to_thread (a capacity limiter, a cancel scope and
        # context lookups per call) cost ~8% of a one-record read's server CPU. Forty
        # threads, as anyio's default limit, bound the requests running SQL at once.
        self.threads = threads
        self._threads: ThreadPoolExecutor | None = None
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
        entry = _Running(receive, cancellation := Cancellation())
        self._running[key] = entry
        loop = asyncio.get_running_loop()
        try:
            # The work's context goes with it (logging's request id, the SQL timer).
            call = functools.partial(contextvars.copy_context().run, work, cancellation)
            return await loop.run_in_executor(self._executor(), call)
        finally:
            del self._running[key]
            if entry.listener is not None:
                entry.listener.cancel()

    async def read(self, receive: Callable[[], Awaitable[Any]], read: Awaitable[T]) -> T:
        """Await ``read`` (statements on the event loop, runtime/server/fast_reads.py);
        raise ClientGone if the client went away while it ran: the request's task is
        cancelled, and psycopg cancels the statement in the server."""
        self._ensure_sweeper()
        key = next(self._ids)
        task = asyncio.current_task()
        entry = _Running(receive, None, task=task)
        self._running[key] = entry
        try:
            return await read
        except asyncio.CancelledError:
            if entry.gone and task is not None and task.uncancel() == 0:
                raise ClientGone from None
            raise
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

    def _executor(self) -> ThreadPoolExecutor:
        # Made on first use, again after close(): an app may be served again (tests).
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.threads, thread_name_prefix="tessera-request")
        return self._threads

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None


async def _listen(entry: _Running) -> None:
    while (await entry.receive())["type"] != "http.disconnect":
        pass
    if entry.task is not None:
        entry.gone = True
        entry.task.cancel()
    elif entry.cancellation is not None:
        await anyio.to_thread.run_sync(entry.cancellation.cancel)
