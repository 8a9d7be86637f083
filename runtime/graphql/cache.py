"""Built schemas, shared by metadata content hash and grants, and each tenant's active one.

Building a schema takes milliseconds, but every request needs one, so they are kept: an
LRU map from (content hash, grants key) to TenantApi — tenants with identical metadata,
and members with identical permissions, share an entry — and a map from tenant to its
active snapshot that every apply clears, in this process at once and in the others by
an invalidation message (or, as a fallback, a registry check every few seconds).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any

from metadata.snapshot import Snapshot
from runtime.coordination.invalidation import Invalidation
from runtime.graphql.executor import TenantApi
from runtime.graphql.schema import build_schema
from runtime.limits import Limits
from runtime.model.shape import build_shape
from runtime.security.grants import FULL, Grants, visible_model
from runtime.tenants import TenantService


class SchemaCache:
    """LRU cache of TenantApi by metadata content hash."""

    def __len__(self) -> int:
        return len(self._apis)

    def __init__(self, size: int = 64, limits: Limits | None = None) -> None:
        self.size = size
        self.limits = limits or Limits()
        self._apis: OrderedDict[str, TenantApi] = OrderedDict()
        self._lock = Lock()
        self.builds = 0
        """How many schemas were built (tests check sharing with it)."""
        self.hits = 0
        """How many look-ups found a built schema (metrics)."""

    def get(self, snapshot: Snapshot, grants: Grants = FULL) -> TenantApi:
        """Return the API of ``snapshot`` as a member with ``grants`` sees it."""
        key = f"{snapshot.content_hash}:{grants.key}"
        with self._lock:
            api = self._apis.get(key)
            if api is not None:
                self._apis.move_to_end(key)
                self.hits += 1
                return api
        model = snapshot.model
        shape = build_shape(visible_model(model, grants), grants, full=model)
        api = TenantApi(shape, build_schema(shape, limits=self.limits), self.limits)
        with self._lock:
            self.builds += 1
            self._apis[key] = api
            while len(self._apis) > self.size:
                self._apis.popitem(last=False)
        return api


class ActiveApis:
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
        service: TenantService,
        cache: SchemaCache,
        *,
        recheck: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        invalidation: Invalidation | None = None,
    ) -> None:
        self.service = service
        self.cache = cache
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

    def _heard(self, kind: str, tenant: str | None) -> None:
        if kind == "all":
            with self._lock:
                for name in list(self._active):
                    self._forget(name)
        elif kind == "metadata" and tenant:
            self.forget(tenant)

    def get(
        self, tenant: str, grants: Grants = FULL, generation: int | None = None
    ) -> tuple[TenantApi, str]:
        """Return the tenant's API as ``grants`` see it, and its time zone (raise if the
        tenant does not exist). ``generation``: the tenant's, if the caller has read it."""
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
            info = self.service.get_tenant(tenant)
            _, snapshot = self.service.active(tenant)
            if (tenant, info.id) not in self._upgraded:
                # Tenants made by an older release get the platform tables they lack.
                self.service.backend.upgrade_storage(tenant)
                self._upgraded.add((tenant, info.id))
            # The version read with the snapshot, so a change in between is seen next time.
            hit = (snapshot, info.timezone, (info.id, info.active_version), now, generation)
            with self._lock:
                # An apply that finished while we read must not be overwritten by what we
                # read.
                if self._generation.get(tenant, 0) == forgotten:
                    self._active[tenant] = hit
        return self.cache.get(hit[0], grants), hit[1]

    def forget(self, tenant: str) -> None:
        with self._lock:
            self._forget(tenant)

    def _forget(self, tenant: str) -> None:
        self._active.pop(tenant, None)
        self._generation[tenant] = self._generation.get(tenant, 0) + 1
