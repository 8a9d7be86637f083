"""What every part of the workflow engine shares: its collaborators, its clock, and the
tenant's compiled model. ``Engine`` (``engine.py``) composes the parts."""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from metadata.model import Model
from runtime.clock import Clock, SystemClock
from runtime.model.active import ActiveModels
from runtime.model.shape import ApiShape
from runtime.outbound import OutboundPolicy
from runtime.security.identity import Identity
from runtime.security.principal import Principal
from runtime.settings import WorkflowSettings
from runtime.tenants import TenantService

# One logger for the whole engine, whichever part writes (operators filter on it).
log = logging.getLogger("runtime.workflows.engine")


class EngineBasis:
    """The engine's collaborators and helpers (the parts build on it)."""

    def __init__(
        self,
        service: TenantService,
        models: ActiveModels,
        identity: Identity,
        settings: WorkflowSettings,
        wake: Callable[[str, float], None],
        clock: Clock | None = None,
        outbound: OutboundPolicy | None = None,
        principal_of: Callable[[str, Any], Principal | None] | None = None,
    ) -> None:
        self.service, self.models, self.identity = service, models, identity
        self.backend = service.backend
        self.settings = settings
        self.wake = wake
        """Asks Celery for a worker to drain a tenant's ready runs: (tenant, in seconds)."""
        self.clock: Clock = clock or SystemClock()
        """Every moment the engine judges by (due dates, schedules, leases, retries)."""
        self.outbound = outbound or OutboundPolicy()
        """What webhooks may reach (internal addresses are refused unless allowed)."""
        self._tick_guard = threading.Lock()
        self._tick_locks: dict[str, threading.Lock] = {}
        """One lock per tenant: its tick runs alone in this process (engine.ticking)."""
        self.principal_of = principal_of
        """(tenant, user id) → that member's principal, or None if they are not an active
        member: what workflows that run as the actor write with."""

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def today(self, timezone: str) -> dt.date:
        """Return the date in ``timezone`` by the engine's clock."""
        return self._now().astimezone(ZoneInfo(timezone)).date()

    # -- helpers -------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        """The tenants this deployment's beat ticks (TESSERA_WORKFLOW_TENANTS)."""
        patterns = [p.strip() for p in self.settings.tenants.split(",") if p.strip()]
        return [
            t.name
            for t in self.service.list_tenants()
            if any(fnmatch.fnmatchcase(t.name, p) for p in patterns)
        ]

    def _shape(self, tenant: str) -> tuple[ApiShape, str]:
        """The tenant's compiled model (never a GraphQL schema) and its time zone."""
        return self.models.shape(tenant)

    def model(self, tenant: str) -> Model:
        return self._shape(tenant)[0].complete

    def _schema(self, tenant: str) -> str | None:
        return self.backend.schema(tenant)

    def _wake_for(self, tenant: str, runs: int) -> None:
        """Wake workers for ``runs`` new runs: one each, up to ``fan_out``, so a burst is
        drained by that many worker threads at once."""
        for _ in range(min(runs, self.settings.fan_out)):
            self.wake(tenant, 0)
