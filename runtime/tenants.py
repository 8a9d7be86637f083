"""Tenants and their metadata: the service the REST API and the CLI both call.

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

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, select, text

from metadata.diff import Plan, PlanRefused, diff
from metadata.errors import Issue
from metadata.model import Model
from metadata.registry.store import (
    AttemptInfo,
    Registry,
    RegistryError,
    TenantExists,
    TenantInfo,
    VersionConflict,
    VersionInfo,
    check_tenant,
)
from metadata.snapshot import Snapshot
from metadata.validation import ValidMetadata
from runtime.packs.ownership import ownership_issues
from runtime.packs.records import installed_packs
from runtime.security import audit
from runtime.storage import naming
from runtime.storage.backends import Backend, read_state, write_state
from runtime.storage.migrator import Progress, RenderedStep, check_plan, render_plan, run_plan
from runtime.storage.tables import system_tables

log = logging.getLogger(__name__)


class StorageDrift(RuntimeError):
    """A tenant's tables no longer match its active metadata version."""

    status, code = 409, "storage_drift"


@dataclass(frozen=True)
class PlanReport:
    """A dry run: the plan, the SQL of each step and what blocks it, if anything."""

    tenant: str
    base_version: int | None
    next_version: int
    plan: Plan
    steps: list[RenderedStep]
    blockers: list[Issue]
    """Refusals, destructive steps not yet allowed, and data conflicts (counted live)."""
    warnings: list[Issue]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "base_version": self.base_version,
            "next_version": self.next_version,
            "changed": self.plan.changed,
            "from_hash": self.plan.old.content_hash,
            "to_hash": self.plan.new.content_hash,
            "operations": [{**step.operation.to_dict(), "sql": step.sql} for step in self.steps],
            "blockers": [i.to_dict() for i in self.blockers],
            "warnings": [i.to_dict() for i in self.warnings],
        }


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: the version it made (or None if nothing changed)."""

    tenant: str
    version: VersionInfo | None
    plan: Plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "changed": self.version is not None,
            "version": self.version.to_dict() if self.version else None,
            "operations": [op.to_dict() for op in self.plan.operations],
        }


@dataclass(frozen=True)
class _ApplyRequest:
    """One call to ``apply``, carried through its steps."""

    name: str
    metadata: ValidMetadata
    new: Snapshot
    allow_destructive: bool
    author: str
    message: str
    expected_version: int | None
    progress: Progress | None
    after_migrate: AfterMigrate | None = None
    pack_change: bool = False
    planned: Plan | None = None


#: Called inside an apply's storage transaction, after the DDL, with the connection, the
#: tenant's schema, the new version number and the new model: work that must commit or
#: roll back with the metadata change (a pack's record, its restored data, sample data).
AfterMigrate = Callable[[Connection, str | None, int, Model], None]


def _operations_json(plan: Plan) -> str:
    return json.dumps([op.to_dict() for op in plan.operations], ensure_ascii=False)


class TenantService:
    """Create, delete and migrate tenants on one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: Called with a tenant's name after its active metadata changed or it was
        #: deleted, so caches built from that metadata (the GraphQL schema) drop it.
        self.listeners: list[Callable[[str], None]] = []

    def _changed(self, name: str) -> None:
        for listener in self.listeners:
            listener(name)

    # -- tenants -------------------------------------------------------------------------

    def create_tenant(
        self,
        name: str,
        display_name: str | None = None,
        timezone: str = "UTC",
        *,
        actor: str = "cli",
    ) -> TenantInfo:
        """Register a tenant and create its (empty) storage."""
        check_tenant(name, timezone)
        if self.backend.shared_transaction:
            with self.backend.begin_control() as conn:
                tenant = Registry(conn).create_tenant(name, display_name, timezone)
                self.backend.create_storage(name, conn)
                audit.write(conn, tenant=name, actor=actor, kind="tenant_created")
            return tenant
        with self.backend.begin_control() as conn:
            if Registry(conn).find_tenant(name) is not None:
                raise TenantExists(f"tenant {name!r} already exists")
        if self.backend.storage_exists(name):
            raise TenantExists(
                f"storage for tenant {name!r} already exists but it is not registered; move "
                "the file away or delete it before creating the tenant again"
            )
        self.backend.create_storage(name)
        try:
            with self.backend.begin_control() as conn:
                audit.write(conn, tenant=name, actor=actor, kind="tenant_created")
                return Registry(conn).create_tenant(name, display_name, timezone)
        except BaseException:
            self.backend.drop_storage(name)
            raise

    def list_tenants(self) -> list[TenantInfo]:
        with self.backend.connect_control() as conn:
            return Registry(conn).list_tenants()

    def get_tenant(self, name: str) -> TenantInfo:
        with self.backend.connect_control() as conn:
            return Registry(conn).get_tenant(name)

    def delete_tenant(self, name: str, *, actor: str = "cli") -> None:
        """Delete a tenant with all its data and metadata history (the audit log stays)."""
        with self.backend.begin_control() as conn:
            Registry(conn).delete_tenant(name)
            audit.write(conn, tenant=name, actor=actor, kind="tenant_deleted")
            if self.backend.shared_transaction:
                self.backend.drop_storage(name, conn)
        if not self.backend.shared_transaction:
            self.backend.drop_storage(name)
        self._changed(name)

    # -- metadata ------------------------------------------------------------------------

    def active(self, name: str) -> tuple[VersionInfo | None, Snapshot]:
        """Return the active version (None before the first apply) and its snapshot."""
        self.recover(name)
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            tenant = registry.get_tenant(name)
            if tenant.active_version is None:
                return None, registry.active_snapshot(tenant)
            version = registry.version(tenant, tenant.active_version)
            return version, version.snapshot

    def history(self, name: str) -> list[VersionInfo]:
        self.recover(name)
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            return registry.versions(registry.get_tenant(name))

    def version(self, name: str, number: int) -> VersionInfo:
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            return registry.version(registry.get_tenant(name), number)

    def attempts(self, name: str) -> list[AttemptInfo]:
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            return registry.attempts(registry.get_tenant(name))

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
        request = _ApplyRequest(
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
            self._changed(name)

    def _prepare(self, registry: Registry, request: _ApplyRequest) -> tuple[TenantInfo, Plan, int]:
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
        self, conn: Connection, request: _ApplyRequest, tenant: TenantInfo, plan: Plan, number: int
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

    def _unchanged(self, conn: Connection, request: _ApplyRequest, tenant: TenantInfo) -> None:
        """Run the hook of an apply whose metadata is already in place."""
        if request.after_migrate is not None:
            schema = self.backend.schema(request.name)
            self.backend.upgrade_storage(request.name, conn)
            request.after_migrate(conn, schema, tenant.active_version or 0, request.new.model)

    def _start_attempt(
        self,
        registry: Registry,
        request: _ApplyRequest,
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
            operations_json=_operations_json(plan),
            author=request.author,
            message=request.message,
            status=status,
        )

    def _apply_shared(self, request: _ApplyRequest) -> ApplyResult:
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
                    _operations_json(plan),
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

    def _apply_two_phase(self, request: _ApplyRequest) -> ApplyResult:
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

    def _record_failure(self, request: _ApplyRequest, exc: BaseException) -> None:
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

    # -- archives ------------------------------------------------------------------------

    def archives(self, name: str) -> list[dict[str, Any]]:
        """Return the data archived by destructive changes, newest first."""
        self.get_tenant(name)
        schema = self.backend.schema(name)
        table = system_tables(schema).tables[
            f"{schema}.{naming.ARCHIVES_TABLE}" if schema else naming.ARCHIVES_TABLE
        ]
        with self.backend.read_tenant(name) as conn:
            rows = (
                conn.execute(select(table).order_by(table.c.archived_at.desc(), table.c.name))
                .mappings()
                .all()
            )
        return [
            {
                **{k: v for k, v in r.items() if k != "definition"},
                "archived_at": r["archived_at"].isoformat(),
                "definition": json.loads(r["definition"]),
            }
            for r in rows
        ]

    def purge(self, name: str, archive_names: list[str]) -> list[str]:
        """Delete archived data for good; return the archives removed."""
        schema = self.backend.schema(name)
        table = system_tables(schema).tables[
            f"{schema}.{naming.ARCHIVES_TABLE}" if schema else naming.ARCHIVES_TABLE
        ]
        known = {a["name"] for a in self.archives(name)}
        unknown = [n for n in archive_names if n not in known]
        if unknown:
            raise RegistryError(
                f"no archive named {', '.join(map(repr, unknown))} in tenant {name!r}"
            )
        with self.backend.begin_tenant(name) as conn:
            preparer = conn.dialect.identifier_preparer
            for archive in archive_names:
                qualified = (
                    f"{preparer.quote(schema)}.{preparer.quote(archive)}"
                    if schema
                    else preparer.quote(archive)
                )
                conn.exec_driver_sql(f"DROP TABLE {qualified}")
                conn.execute(table.delete().where(table.c.name == archive))
        return archive_names


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
