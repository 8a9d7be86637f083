"""Planning and applying a tenant's metadata: the tables follow, or nothing changes.

Applying metadata must leave a tenant either fully on the new version or fully on the old
one. On PostgreSQL that is a single transaction: registry rows and tenant DDL live in the
same database. On SQLite the tenant is its own file, so an apply runs in two phases:

1. under the tenant file's write lock, record a *pending* attempt in the control plane,
   run the DDL and write the new hash into the tenant's ``_tessera_state``, commit;
2. record the version and make it active.

A crash between the phases leaves a pending attempt; ``recover`` settles it by asking the
tenant file which hash it holds, so the control plane always ends up matching storage.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from sqlalchemy import Connection, text

from metadata.diff import Plan, PlanRefused, diff
from metadata.registry.store import (
    AttemptInfo,
    Registry,
    RegistryError,
    TenantInfo,
    VersionConflict,
)
from metadata.snapshot import Snapshot
from metadata.validation import ValidMetadata
from runtime.security import audit
from runtime.storage.backends import Backend, read_state, write_state
from runtime.storage.migrator import Progress, RenderedStep, check_plan, render_plan, run_plan
from runtime.tenants.events import Listeners
from runtime.tenants.packs import installed_packs, ownership_issues
from runtime.tenants.reports import (
    AfterMigrate,
    ApplyRequest,
    ApplyResult,
    PlanReport,
    StorageDrift,
    operations_json,
)

log = logging.getLogger(__name__)


class Applying:
    """The plan, apply and recover half of ``TenantService``."""

    backend: Backend
    listeners: Listeners

    def plan(
        self,
        name: str,
        metadata: ValidMetadata,
        *,
        allow_destructive: bool = False,
        render: bool = True,
        pack_change: bool = False,
    ) -> PlanReport:
        """Return the dry run of applying ``metadata`` to tenant ``name``.

        Data conflicts (nulls where a field becomes required, duplicates where it becomes
        unique) are counted on the live data, read-only. ``render=False`` leaves out each
        step's SQL (``render`` adds it later), which is most of a large plan's cost.
        Removing or renaming a pack's component is a blocker unless ``pack_change`` (the
        pack service itself is changing them).
        """
        self.recover(name)
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            tenant = registry.get_tenant(name)
            old = registry.active_snapshot(tenant)
            number = registry.next_version_number(tenant)
        plan = diff(old, Snapshot.of(metadata.model), document=metadata.document)
        schema = self.backend.schema(name)
        steps = (
            render_plan(plan, dialect=self.backend.dialect, schema=schema, version=number)
            if render
            else [RenderedStep(op, "") for op in plan.operations]
        )
        blockers = plan.blocking_issues(allow_destructive=allow_destructive)
        if not plan.refusals:
            with self.backend.read_tenant(name) as tconn:
                blockers += check_plan(tconn, plan, schema=schema)
                if not pack_change:
                    blockers += ownership_issues(plan, installed_packs(tconn, schema))
        return PlanReport(
            tenant=name,
            base_version=tenant.active_version,
            next_version=number,
            plan=plan,
            steps=steps,
            blockers=blockers,
            warnings=list(metadata.warnings),
        )

    def render(self, report: PlanReport) -> PlanReport:
        """Return ``report`` with each step's SQL, as ``plan(render=True)`` gives it."""
        steps = render_plan(
            report.plan,
            dialect=self.backend.dialect,
            schema=self.backend.schema(report.tenant),
            version=report.next_version,
        )
        return replace(report, steps=steps)

    def apply(
        self,
        name: str,
        metadata: ValidMetadata,
        *,
        allow_destructive: bool = False,
        author: str = "tessera",
        message: str = "",
        expected_version: int | None = None,
        progress: Progress | None = None,
        after_migrate: AfterMigrate | None = None,
        pack_change: bool = False,
        planned: Plan | None = None,
    ) -> ApplyResult:
        """Make ``metadata`` tenant ``name``'s active version, changing its tables to match.

        Raise PlanRefused (refused or unconsented destructive steps), DataConflict (rows in
        the way) or VersionConflict (``expected_version`` is no longer active); in every
        case the tenant stays on its previous version with its data untouched.
        """
        self.recover(name)
        request = ApplyRequest(
            name,
            metadata,
            planned.new if planned is not None else Snapshot.of(metadata.model),
            allow_destructive,
            author,
            message,
            expected_version,
            progress,
            after_migrate,
            pack_change,
            planned,
        )
        try:
            if self.backend.shared_transaction:
                return self._apply_shared(request)
            return self._apply_two_phase(request)
        finally:
            self.listeners.changed(name)

    def _prepare(self, registry: Registry, request: ApplyRequest) -> tuple[TenantInfo, Plan, int]:
        """Lock the tenant, check the expected version and return its plan and number."""
        tenant = registry.get_tenant(request.name, lock=True)
        expected = request.expected_version
        if expected is not None and tenant.active_version != expected:
            raise VersionConflict(
                f"tenant {request.name!r} is at version {tenant.active_version}, not "
                f"{expected}; review the plan against the current version"
            )
        old = registry.active_snapshot(tenant)
        plan = request.planned
        # A plan made for this very change still holds if the tenant has not moved on.
        if plan is None or plan.old.content_hash != old.content_hash:
            plan = diff(old, request.new, document=request.metadata.document)
        plan.check(allow_destructive=request.allow_destructive)
        return tenant, plan, registry.next_version_number(tenant)

    def _migrate(
        self, conn: Connection, request: ApplyRequest, tenant: TenantInfo, plan: Plan, number: int
    ) -> None:
        """Check the tables match the old version, run the plan, record the new hash."""
        schema = self.backend.schema(request.name)
        recorded = read_state(conn, schema).get("metadata_hash", "")
        # A new tenant's storage records no hash until its first apply.
        allowed = {plan.old.content_hash} | (set() if plan.old.model.objects else {""})
        if recorded not in allowed:
            raise StorageDrift(
                f"tenant {request.name!r} storage records metadata {recorded[:12]!r} but its "
                f"active version is {plan.old.short_hash!r}; refusing to migrate tables that "
                "do not match their metadata"
            )
        self.backend.upgrade_storage(request.name, conn)
        if not request.pack_change:
            refused = ownership_issues(plan, installed_packs(conn, schema))
            if refused:
                raise PlanRefused(refused)
        run_plan(
            conn,
            plan,
            schema=schema,
            version=number,
            timezone=tenant.timezone,
            progress=request.progress,
        )
        if request.after_migrate is not None:
            request.after_migrate(conn, schema, number, request.new.model)
        write_state(conn, schema, content_hash=request.new.content_hash, version=number)

    def _unchanged(self, conn: Connection, request: ApplyRequest, tenant: TenantInfo) -> None:
        """Run the hook of an apply whose metadata is already in place."""
        if request.after_migrate is not None:
            schema = self.backend.schema(request.name)
            self.backend.upgrade_storage(request.name, conn)
            request.after_migrate(conn, schema, tenant.active_version or 0, request.new.model)

    def _start_attempt(
        self,
        registry: Registry,
        request: ApplyRequest,
        tenant: TenantInfo,
        plan: Plan,
        number: int,
        status: str,
    ) -> uuid.UUID:
        return registry.start_attempt(
            tenant,
            base_version=tenant.active_version,
            target_version=number,
            snapshot=request.new,
            operations_json=operations_json(plan),
            author=request.author,
            message=request.message,
            status=status,
        )

    def _apply_shared(self, request: ApplyRequest) -> ApplyResult:
        """PostgreSQL: registry and DDL in one transaction."""
        try:
            with self.backend.begin_control() as conn:
                # Data conversions on a big table, and waiting for another apply, may
                # take longer than a request's statement timeout.
                self.backend.unbounded(conn)
                # Serialise applies per tenant: the row lock below covers registry reads,
                # the advisory lock covers a tenant with no row changes yet.
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"tessera.apply.{request.name}"},
                )
                registry = Registry(conn)
                tenant, plan, number = self._prepare(registry, request)
                if not plan.changed:
                    self._unchanged(conn, request, tenant)
                    return ApplyResult(request.name, None, plan)
                self._migrate(conn, request, tenant, plan, number)
                registry.add_version(
                    tenant,
                    number,
                    request.new.json,
                    request.new.content_hash,
                    operations_json(plan),
                    request.author,
                    request.message,
                )
                registry.activate(tenant, number)
                self._start_attempt(registry, request, tenant, plan, number, "applied")
                _audit_apply(conn, request.name, request.author, plan, number)
                version = registry.version(tenant, number)
        except Exception as exc:
            self._record_failure(request, exc)
            raise
        return ApplyResult(request.name, version, plan)

    def _apply_two_phase(self, request: ApplyRequest) -> ApplyResult:
        """SQLite: see the module docstring for the two phases and their recovery."""
        # Phase 1, under the tenant file's write lock (held until its commit).
        with self.backend.begin_tenant(request.name, migration=True) as tconn:
            with self.backend.begin_control() as conn:
                registry = Registry(conn)
                tenant, plan, number = self._prepare(registry, request)
                if not plan.changed:
                    self._unchanged(tconn, request, tenant)
                    return ApplyResult(request.name, None, plan)
                attempt = self._start_attempt(registry, request, tenant, plan, number, "pending")
            try:
                self._migrate(tconn, request, tenant, plan, number)
            except BaseException as exc:
                tconn.rollback()
                with self.backend.begin_control() as conn:
                    Registry(conn).finish_attempt(attempt, "failed", _describe(exc))
                raise
        # Phase 2: storage is committed; make the registry say so.
        with self.backend.begin_control() as conn:
            registry = Registry(conn)
            self._settle(registry, tenant, registry.attempts(tenant, status="pending"), request.new)
            version = registry.version(tenant, number)
            _audit_apply(conn, request.name, request.author, plan, number)
        return ApplyResult(request.name, version, plan)

    def _settle(
        self, registry: Registry, tenant: TenantInfo, pending: list[AttemptInfo], applied: Snapshot
    ) -> None:
        for attempt in pending:
            if attempt.content_hash == applied.content_hash and registry.finish_attempt(
                attempt.id, "applied"
            ):
                registry.add_version(
                    tenant,
                    attempt.target_version,
                    attempt.snapshot_json,
                    attempt.content_hash,
                    attempt.operations_json,
                    attempt.author,
                    attempt.message,
                )
                registry.activate(tenant, attempt.target_version)
            elif attempt.content_hash != applied.content_hash:
                registry.finish_attempt(
                    attempt.id,
                    "failed",
                    "interrupted before its storage changes committed; nothing was changed",
                )

    def recover(self, name: str) -> None:
        """Settle apply attempts a crash left pending (SQLite), to match the tenant file."""
        if self.backend.shared_transaction:
            return
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            tenant = registry.find_tenant(name)
            if tenant is None or not registry.attempts(tenant, status="pending"):
                return
        # Taking the tenant's write lock waits out an apply that is still running.
        with self.backend.begin_tenant(name) as tconn:
            state = read_state(tconn, None)
            with self.backend.begin_control() as conn:
                registry = Registry(conn)
                tenant = registry.get_tenant(name)
                pending = registry.attempts(tenant, status="pending")
                current = next(
                    (a for a in pending if a.content_hash == state.get("metadata_hash")), None
                )
                snapshot = Snapshot.from_json(current.snapshot_json) if current else None
                if snapshot is None:
                    for attempt in pending:
                        registry.finish_attempt(
                            attempt.id,
                            "failed",
                            "interrupted before its storage changes committed; nothing was changed",
                        )
                else:
                    log.warning(
                        "tenant %s: completing apply of version %s after a crash",
                        name,
                        current.target_version,
                    )
                    self._settle(registry, tenant, pending, snapshot)

    def _record_failure(self, request: ApplyRequest, exc: BaseException) -> None:
        """Keep a failed apply in the attempt log (its transaction rolled back)."""
        if isinstance(exc, PlanRefused | RegistryError):
            return  # refused before anything ran: nothing to record
        try:
            with self.backend.begin_control() as conn:
                registry = Registry(conn)
                tenant = registry.find_tenant(request.name)
                if tenant is None:
                    return
                registry.start_attempt(
                    tenant,
                    base_version=tenant.active_version,
                    target_version=registry.next_version_number(tenant),
                    snapshot=request.new,
                    operations_json="[]",
                    author=request.author,
                    message=request.message,
                    status="failed",
                    error=_describe(exc),
                )
        except Exception:  # the original error matters more than its bookkeeping
            log.exception("could not record the failed apply of tenant %s", request.name)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _audit_apply(conn: Connection, tenant: str, author: str, plan: Plan, number: int) -> None:
    """Log the new version, and separately the permission changes it carries."""
    operations = [op.to_dict() for op in plan.operations]
    audit.write(
        conn,
        tenant=tenant,
        actor=author,
        kind="metadata_applied",
        version=number,
        content_hash=plan.new.content_hash,
        operations=[op["description"] for op in operations],
    )
    permissions = [op for op in operations if op["op"] == "change_permission"]
    if permissions:
        audit.write(
            conn,
            tenant=tenant,
            actor=author,
            kind="permissions_changed",
            version=number,
            changes=[
                {k: op[k] for k in ("description", "section", "name", "before", "after")}
                for op in permissions
            ],
        )
