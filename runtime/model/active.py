"""Each tenant's active metadata, and the model compiled from it, kept per process.

Every request and every workflow step needs its tenant's active snapshot; reading and
parsing it costs a control-plane query and milliseconds, so it is kept until the
tenant's metadata changes. Shapes (the compiled model: names, relations, tables, typed
expressions) are kept per metadata content hash, so tenants with the same metadata share
one.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any, Protocol

from metadata.snapshot import Snapshot
from runtime.coordination.invalidation import Invalidation
from runtime.model.shape import ApiShape, build_shape


class TenantRegistry(Protocol):
    """What the active models read (``runtime.tenants.TenantService``, a layer above,
    passed in by the composition root)."""

    listeners: Any
    backend: Any

    def get_tenant(self, name: str) -> Any: ...

    def active(self, name: str) -> tuple[Any, Snapshot]: ...

    def active_version(self, name: str) -> tuple[Any, Any, Snapshot]: ...


class Shapes:
    """The whole-model shape of each metadata content hash, least recently used first out."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._shapes: OrderedDict[str, ApiShape] = OrderedDict()
        self._lock = Lock()

    def get(self, snapshot: Snapshot) -> ApiShape:
        key = snapshot.content_hash
        with self._lock:
            shape = self._shapes.get(key)
            if shape is not None:
                self._shapes.move_to_end(key)
                return shape
        model = snapshot.model
        shape = build_shape(model, None, full=model)
        with self._lock:
            self._shapes[key] = shape
            while len(self._shapes) > self.size:
                self._shapes.popitem(last=False)
        return shape


class ActiveModels:
    """Each tenant's active snapshot and time zone, forgotten when its metadata changes.

    The process that applies metadata forgets at once. Other processes hear of it by an
    invalidation message (PostgreSQL LISTEN/NOTIFY or Redis pub/sub) within
    milliseconds, and, with a shared generation store (Redis), at their next look-up.
    As a fallback they re-read the tenant's registry row (its id and active version:
    one indexed control-plane query) once ``recheck`` seconds have passed (30 s while
    messages arrive), so a tenant deleted or re-created elsewhere is never served from
    a stale snapshot.
    """

    def __init__(
        self,
        service: TenantRegistry,
        *,
        recheck: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        invalidation: Invalidation | None = None,
    ) -> None:
        self.service = service
        self.recheck = recheck
        self._clock = clock
        # tenant -> (snapshot, time zone, (tenant id, active version), checked at, generation)
        self._active: dict[str, tuple[Snapshot, str, tuple[Any, Any], float, int]] = {}
        self._generation: dict[str, int] = {}
        self._upgraded: set[tuple[str, Any]] = set()
        self._lock = Lock()
        if invalidation is None:
            invalidation = Invalidation()
            service.listeners.append(lambda tenant: invalidation.changed("metadata", tenant))
        self.invalidation = invalidation
        invalidation.subscribe(self._heard)
        self.shapes = Shapes()
        self._snapshots: weakref.WeakValueDictionary[str, Snapshot] = weakref.WeakValueDictionary()

    def _heard(self, kind: str, tenant: str | None) -> None:
        if kind == "all":
            with self._lock:
                for name in list(self._active):
                    self._forget(name)
        elif kind == "metadata" and tenant:
            self.forget(tenant)

    def get(self, tenant: str, generation: int | None = None) -> tuple[Snapshot, str]:
        """Return the tenant's active snapshot and its time zone (raise if the tenant does
        not exist). ``generation``: the tenant's, if the caller has read it."""
        if generation is None:
            generation = self.invalidation.generations(tenant).tenant
        now = self._clock()
        recheck = 30.0 if self.invalidation.pushed else self.recheck
        with self._lock:
            hit = self._active.get(tenant)
            forgotten = self._generation.get(tenant, 0)
        if hit is not None and hit[4] != generation:
            hit = None
        if hit is not None and now - hit[3] >= recheck:
            info = self.service.get_tenant(tenant)  # raises once the tenant is gone
            if (info.id, info.active_version) == hit[2]:
                hit = (hit[0], hit[1], hit[2], now, hit[4])
                with self._lock:
                    if self._generation.get(tenant, 0) == forgotten:
                        self._active[tenant] = hit
            else:
                hit = None
        if hit is None:
            info, version, empty = self.service.active_version(tenant)
            # Parsing a snapshot (~46 KB of JSON for core_crm into a model) was most of a
            # tenant's first request in a process; tenants with the same metadata (a
            # pack's) share the one parsed already.
            known = self._known(version.content_hash) if version is not None else empty
            snapshot = known or self._interned(version.snapshot)  # type: ignore[union-attr]
            if (tenant, info.id) not in self._upgraded:
                # Tenants made by an older release get the platform tables they lack.
                self.service.backend.ensure_storage(tenant)
                self._upgraded.add((tenant, info.id))
            # The version read with the snapshot, so a change in between is seen next time.
            hit = (snapshot, info.timezone, (info.id, info.active_version), now, generation)
            with self._lock:
                # An apply that finished while we read must not be overwritten by what we
                # read.
                if self._generation.get(tenant, 0) == forgotten:
                    self._active[tenant] = hit
        return hit[0], hit[1]

    def _known(self, content_hash: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(content_hash)

    def _interned(self, snapshot: Snapshot) -> Snapshot:
        """One snapshot object per content hash: tenants with the same metadata (a pack's
        every tenant) share one parsed model instead of a copy each. Weakly held, so a
        hash no tenant uses any more goes."""
        with self._lock:
            known = self._snapshots.get(snapshot.content_hash)
            if known is not None:
                return known
            self._snapshots[snapshot.content_hash] = snapshot
            return snapshot

    def shape(self, tenant: str) -> tuple[ApiShape, str]:
        """Return the tenant's whole model as the platform sees it (workers, the record
        service), and its time zone: no GraphQL schema is built for it."""
        snapshot, timezone = self.get(tenant)
        return self.shapes.get(snapshot), timezone

    def forget(self, tenant: str) -> None:
        with self._lock:
            self._forget(tenant)

    def _forget(self, tenant: str) -> None:
        self._active.pop(tenant, None)
        self._generation[tenant] = self._generation.get(tenant, 0) + 1
