"""Tenants on one backend: create, list, delete, and read their metadata versions."""

from __future__ import annotations

from metadata.registry.store import (
    AttemptInfo,
    Registry,
    TenantExists,
    TenantInfo,
    VersionInfo,
    check_tenant,
)
from metadata.snapshot import EMPTY_SNAPSHOT, Snapshot
from runtime.security import audit
from runtime.storage.backends import Backend
from runtime.tenants.apply import Applying
from runtime.tenants.archives import Archives
from runtime.tenants.events import Listeners


class TenantService(Applying, Archives):
    """Create, delete and migrate tenants on one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: Called with a tenant's name after its active metadata changed or it was
        #: deleted, so caches built from that metadata (the GraphQL schema) drop it.
        self.listeners = Listeners()

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
        self.listeners.changed(name)

    # -- metadata ------------------------------------------------------------------------

    def active(self, name: str) -> tuple[VersionInfo | None, Snapshot]:
        """Return the active version (None before the first apply) and its snapshot."""
        _, version, empty = self.active_version(name)
        return version, (version.snapshot if version is not None else empty)

    def active_version(self, name: str) -> tuple[TenantInfo, VersionInfo | None, Snapshot]:
        """Return the tenant and its active version with the snapshot still as text (the
        caller may hold that content hash parsed already), or None and the empty
        snapshot before the first apply."""
        self.recover(name)
        with self.backend.connect_control() as conn:
            registry = Registry(conn)
            tenant = registry.get_tenant(name)
            if tenant.active_version is None:
                return tenant, None, registry.active_snapshot(tenant)
            return tenant, registry.version(tenant, tenant.active_version), EMPTY_SNAPSHOT

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
