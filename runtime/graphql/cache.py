"""Built schemas, shared by metadata content hash and grants, and each tenant's active one.

Building a schema takes milliseconds, but every request needs one, so they are kept: an
LRU map from (content hash, grants key) to TenantApi — tenants with identical metadata,
and members with identical permissions, share an entry. Which snapshot is a tenant's
active one is ``runtime.model.active``'s to know.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from metadata.snapshot import Snapshot
from runtime.coordination.invalidation import Invalidation
from runtime.graphql.api import TenantApi
from runtime.graphql.schema import build_schema
from runtime.limits import Limits
from runtime.model.active import ActiveModels
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
    """Each tenant's API as a member with some grants sees it: the tenant's active
    snapshot (``runtime.model.active``) and the schema cache."""

    def __init__(
        self,
        service: TenantService,
        cache: SchemaCache,
        *,
        recheck: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        invalidation: Invalidation | None = None,
    ) -> None:
        self.models = ActiveModels(service, recheck=recheck, clock=clock, invalidation=invalidation)
        self.service = service
        self.cache = cache
        self.invalidation = self.models.invalidation

    def get(
        self, tenant: str, grants: Grants = FULL, generation: int | None = None
    ) -> tuple[TenantApi, str]:
        """Return the tenant's API as ``grants`` see it, and its time zone (raise if the
        tenant does not exist). ``generation``: the tenant's, if the caller has read it."""
        snapshot, timezone = self.models.get(tenant, generation)
        return self.cache.get(snapshot, grants), timezone

    def forget(self, tenant: str) -> None:
        self.models.forget(tenant)
