"""One place to say "this changed" and to hear it, whichever process changed it.

``changed(kind, tenant)`` bumps the shared generation (so caches in every process see it
at their next look-up when the store is Redis), tells this process's listeners at once,
and pushes a message to the other processes (LISTEN/NOTIFY or Redis pub/sub). Listeners
get ``(kind, tenant)``: ``metadata`` (an apply, a new or deleted tenant), ``members``,
``credentials`` (tenant None), or ``all`` after a lost connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.coordination.bus import Bus, NullBus
from runtime.coordination.store import CREDENTIALS, GenerationStore, LocalStore, tenant_key

log = logging.getLogger(__name__)

Listener = Callable[[str, str | None], None]
KINDS = ("metadata", "members", "credentials", "all")


@dataclass(frozen=True)
class Generations:
    """The generations one request judges its cached entries by."""

    credentials: int
    tenant: int


class Invalidation:
    def __init__(self, store: GenerationStore | None = None, bus: Bus | None = None) -> None:
        self.store: GenerationStore = store or LocalStore()
        self.bus: Bus = bus or NullBus()
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self.received = 0
        """Messages heard from other processes (metrics and tests)."""

    @property
    def pushed(self) -> bool:
        """Whether other processes' changes reach this one as messages right now."""
        return bool(self.bus.connected)

    @property
    def shared(self) -> bool:
        """Whether generations are shared, so a look-up sees other processes' changes."""
        return self.store.shared

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        """Start hearing other processes (a no-op without a bus)."""
        self.bus.start(self._received)

    def stop(self) -> None:
        self.bus.stop()

    def changed(self, kind: str, tenant: str | None = None) -> None:
        """Record that ``kind`` (of ``tenant``) changed, here and everywhere."""
        assert kind in KINDS, kind
        self.store.bump(CREDENTIALS if kind == "credentials" else tenant_key(tenant or ""))
        self._deliver(kind, tenant)
        self.bus.publish({"kind": kind, "tenant": tenant})

    def generations(self, tenant: str | None) -> Generations:
        """Return the current generations for a request to ``tenant`` (one round trip)."""
        credentials, own = self.store.get([CREDENTIALS, tenant_key(tenant or "")])
        return Generations(credentials, own)

    async def agenerations(self, tenant: str) -> Generations:
        """``generations`` from the event loop, without blocking it."""
        credentials, own = await self.store.aget([CREDENTIALS, tenant_key(tenant)])
        return Generations(credentials, own)

    def _received(self, message: dict[str, Any]) -> None:
        kind, tenant = message.get("kind"), message.get("tenant")
        if kind not in KINDS:
            return
        self.received += 1
        self._deliver(str(kind), tenant if isinstance(tenant, str) else None)

    def _deliver(self, kind: str, tenant: str | None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(kind, tenant)
            except Exception:  # one cache's trouble must not keep the others stale
                log.exception("invalidation listener failed for %s %s", kind, tenant)
