"""Invalidation messages pushed to every process: PostgreSQL LISTEN/NOTIFY or Redis
pub/sub.

A message says "tenant T's metadata changed" (or its members, or credentials). Each
process listens on one connection in a daemon thread and forgets what it cached. A
process that loses the connection forgets everything once it is back (it may have
missed messages) and, meanwhile, reports ``connected`` False, so the caches fall back to
polling the registry.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

CHANNEL = "tessera_invalidate"
Handler = Callable[[dict[str, Any]], None]


class Bus(Protocol):
    connected: bool
    origin: str

    def publish(self, message: dict[str, Any]) -> None: ...

    def start(self, handler: Handler) -> None: ...

    def stop(self) -> None: ...


class NullBus:
    """No other process to tell (the embedded default)."""

    connected = False

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex

    def publish(self, message: dict[str, Any]) -> None:
        pass

    def start(self, handler: Handler) -> None:
        pass

    def stop(self) -> None:
        pass


class _Listening(ABC):
    """The listener thread's life: connect, hear, reconnect with backoff."""

    name = "bus"

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        self.connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.received = 0

    def start(self, handler: Handler) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(handler, ready), name=f"tessera-{self.name}", daemon=True
        )
        self._thread.start()
        # Wait briefly so a process that starts serving is already listening.
        ready.wait(3.0)

    def stop(self) -> None:
        self._stop.set()

    def _run(self, handler: Handler, ready: threading.Event) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                self._listen(handler, ready)
                delay = 0.5
            except Exception as exc:  # reconnect on anything; never die quietly
                if self.connected:
                    log.warning(
                        "invalidation %s lost (%s); polling until it is back", self.name, exc
                    )
                self.connected = False
                ready.set()
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)

    def _deliver(self, handler: Handler, payload: str | bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("origin") == self.origin:
            return
        self.received += 1
        handler(message)

    @abstractmethod
    def _listen(self, handler: Handler, ready: threading.Event) -> None:
        """Connect, call ``_connected``, then deliver messages until stopped."""

    def _connected(self, handler: Handler, ready: threading.Event) -> None:
        self.connected = True
        # Anything may have changed while nobody listened.
        handler({"kind": "all"})
        ready.set()


class PostgresBus(_Listening):
    """LISTEN/NOTIFY on the control-plane database."""

    name = "LISTEN/NOTIFY"

    def __init__(self, url: str, engine: Any) -> None:
        super().__init__()
        self._url = url
        self._engine = engine

    def publish(self, message: dict[str, Any]) -> None:
        from sqlalchemy import text

        payload = json.dumps({**message, "origin": self.origin})
        try:
            with self._engine.begin() as conn:
                conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        except Exception as exc:  # the poll catches up
            log.warning("could not NOTIFY other processes: %s", exc)

    def _listen(self, handler: Handler, ready: threading.Event) -> None:
        import psycopg

        with psycopg.connect(self._url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self._connected(handler, ready)
            while not self._stop.is_set():
                for note in conn.notifies(timeout=1.0):
                    self._deliver(handler, note.payload)


class RedisBus(_Listening):
    """Redis pub/sub (for SQLite deployments whose worker runs beside the server)."""

    name = "Redis pub/sub"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5)

    def publish(self, message: dict[str, Any]) -> None:
        payload = json.dumps({**message, "origin": self.origin})
        try:
            self._redis.publish(CHANNEL, payload)
        except Exception as exc:
            log.warning("could not publish to other processes: %s", exc)

    def _listen(self, handler: Handler, ready: threading.Event) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            pubsub.get_message(timeout=1.0)  # the subscription's confirmation
            self._connected(handler, ready)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    self._deliver(handler, message["data"])
        finally:
            pubsub.close()


def wait_connected(bus: Any, timeout: float = 3.0) -> bool:
    """Return once ``bus`` is connected (True) or ``timeout`` passed (False)."""
    deadline = time.monotonic() + timeout
    while not bus.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(bus.connected)
