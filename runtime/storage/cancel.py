"""Stopping a request's statements from another thread, when its client goes away.

The server runs a request's SQL in a worker thread while the event loop watches the
connection. If the client disconnects, the loop calls :meth:`Cancellation.cancel`, which
asks the database to stop whatever the request is running: PostgreSQL cancels the query
(``pg_cancel_backend`` over a separate connection, psycopg's ``cancel_safe``), SQLite
interrupts it. The statement then fails as a statement timeout would, and the
transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from threading import Lock
from typing import Any

from sqlalchemy import Connection


class Cancelled(Exception):
    """The request was cancelled before its next statement started."""


class Cancellation:
    """One request's cancellation: the connections it runs on, and whether it is over."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._running: list[Any] = []
        self.cancelled = False

    @contextmanager
    def watching(self, conn: Connection) -> Iterator[Connection]:
        """Let :meth:`cancel` stop statements on ``conn`` while the block runs."""
        raw = conn.connection.dbapi_connection
        with self._lock:
            if self.cancelled:
                raise Cancelled("the client went away")
            self._running.append(raw)
        try:
            yield conn
        finally:
            with self._lock:
                self._running.remove(raw)

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            running = list(self._running)
        for raw in running:
            stop = getattr(raw, "cancel_safe", None) or getattr(raw, "interrupt", None)
            # Best effort: if the cancel cannot be sent, the statement timeout still holds.
            if stop is not None:
                with suppress(Exception):
                    stop()
