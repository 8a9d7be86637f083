"""Read and write the control plane through a connection the caller owns.

Taking the connection (rather than opening one) is what lets an apply on PostgreSQL put
its registry writes and its DDL in a single transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, func, insert, select, update

from metadata.registry.info import TenantInfo, iso
from metadata.registry.models import (
    ApiToken,
    ApplyAttempt,
    Membership,
    MetadataVersion,
    RefreshToken,
    Tenant,
    utcnow,
)
from metadata.snapshot import EMPTY_SNAPSHOT, Snapshot

TENANT_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

_tenants = Tenant.__table__
_versions = MetadataVersion.__table__
_attempts = ApplyAttempt.__table__
_memberships = Membership.__table__
_refresh = RefreshToken.__table__
_api_tokens = ApiToken.__table__


class RegistryError(Exception):
    """Base for control-plane errors a caller can show as they are."""

    status = 400
    code = "registry_error"


class TenantNotFound(RegistryError):
    status, code = 404, "tenant_not_found"


class TenantExists(RegistryError):
    status, code = 409, "tenant_exists"


class InvalidTenant(RegistryError):
    status, code = 422, "invalid_tenant"


class VersionNotFound(RegistryError):
    status, code = 404, "version_not_found"


class VersionConflict(RegistryError):
    """The active version moved since the caller looked: re-plan against the new one."""

    status, code = 409, "version_conflict"


@dataclass(frozen=True)
class VersionInfo:
    number: int
    content_hash: str
    author: str
    message: str
    created_at: dt.datetime
    operations: list[dict[str, Any]]
    snapshot_json: str

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot.from_json(self.snapshot_json)

    def to_dict(self, *, with_snapshot: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "content_hash": self.content_hash,
            "author": self.author,
            "message": self.message,
            "created_at": iso(self.created_at),
            "operations": self.operations,
        }
        if with_snapshot:
            out["metadata"] = json.loads(self.snapshot_json)
        return out


@dataclass(frozen=True)
class AttemptInfo:
    id: uuid.UUID
    base_version: int | None
    target_version: int
    content_hash: str
    snapshot_json: str
    operations_json: str
    author: str
    message: str
    status: str
    error: str | None
    started_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_version": self.base_version,
            "target_version": self.target_version,
            "content_hash": self.content_hash,
            "author": self.author,
            "message": self.message,
            "status": self.status,
            "error": self.error,
            "started_at": iso(self.started_at),
        }


def check_tenant(name: str, timezone: str = "UTC") -> None:
    """Raise InvalidTenant unless ``name`` and ``timezone`` are usable."""
    if not isinstance(name, str) or not re.match(TENANT_NAME_PATTERN, name):
        raise InvalidTenant(
            f"tenant name {name!r} is not valid: use 1-40 lowercase letters, digits and "
            f"underscores, starting with a letter (pattern {TENANT_NAME_PATTERN})"
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTenant(
            f"timezone {timezone!r} is not an IANA zone name such as Asia/Shanghai or UTC"
        ) from None


class Registry:
    """Tenants, versions and apply attempts, on the caller's connection."""

    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    # -- tenants -------------------------------------------------------------------------

    def create_tenant(
        self, name: str, display_name: str | None = None, timezone: str = "UTC"
    ) -> TenantInfo:
        check_tenant(name, timezone)
        if display_name is not None and len(display_name) > 200:
            raise InvalidTenant(
                f"the display name is {len(display_name)} characters long; the limit is 200"
            )
        if self.find_tenant(name) is not None:
            raise TenantExists(f"tenant {name!r} already exists")
        self.conn.execute(
            insert(_tenants).values(
                id=uuid.uuid4(),
                name=name,
                display_name=display_name or name,
                timezone=timezone,
                created_at=utcnow(),
                active_version=None,
            )
        )
        return self.get_tenant(name)

    def find_tenant(self, name: str, *, lock: bool = False) -> TenantInfo | None:
        query = select(_tenants).where(_tenants.c.name == name)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return TenantInfo(**{k: row[k] for k in TenantInfo.__dataclass_fields__}) if row else None

    def get_tenant(self, name: str, *, lock: bool = False) -> TenantInfo:
        tenant = self.find_tenant(name, lock=lock)
        if tenant is None:
            raise TenantNotFound(f"tenant {name!r} does not exist")
        return tenant

    def list_tenants(self) -> list[TenantInfo]:
        rows = self.conn.execute(select(_tenants).order_by(_tenants.c.name)).mappings()
        return [TenantInfo(**{k: r[k] for k in TenantInfo.__dataclass_fields__}) for r in rows]

    def delete_tenant(self, name: str) -> None:
        tenant = self.get_tenant(name, lock=True)
        # Versions are insert-only, but they go with their tenant.
        for table in (_memberships, _refresh, _api_tokens, _attempts):
            self.conn.execute(delete(table).where(table.c.tenant_id == tenant.id))
        self.conn.execute(delete(_versions).where(_versions.c.tenant_id == tenant.id))
        self.conn.execute(delete(_tenants).where(_tenants.c.id == tenant.id))

    # -- versions ------------------------------------------------------------------------

    def versions(self, tenant: TenantInfo) -> list[VersionInfo]:
        rows = self.conn.execute(
            select(_versions).where(_versions.c.tenant_id == tenant.id).order_by(_versions.c.number)
        ).mappings()
        return [self._version(r) for r in rows]

    def version(self, tenant: TenantInfo, number: int) -> VersionInfo:
        row = (
            self.conn.execute(
                select(_versions).where(
                    _versions.c.tenant_id == tenant.id, _versions.c.number == number
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise VersionNotFound(f"tenant {tenant.name!r} has no metadata version {number}")
        return self._version(row)

    def active_snapshot(self, tenant: TenantInfo) -> Snapshot:
        """Return the active snapshot, or the empty one before the first apply."""
        if tenant.active_version is None:
            return EMPTY_SNAPSHOT
        return self.version(tenant, tenant.active_version).snapshot

    def next_version_number(self, tenant: TenantInfo) -> int:
        """Return the number the next version gets.

        A pending attempt (an apply in flight, or cut off by a crash) holds its number;
        failed attempts give theirs back, so version numbers have no gaps.
        """
        highest = [
            self.conn.execute(
                select(func.max(_versions.c.number)).where(_versions.c.tenant_id == tenant.id)
            ).scalar(),
            self.conn.execute(
                select(func.max(_attempts.c.target_version)).where(
                    _attempts.c.tenant_id == tenant.id, _attempts.c.status == "pending"
                )
            ).scalar(),
        ]
        return max([n for n in highest if n is not None], default=0) + 1

    def add_version(
        self,
        tenant: TenantInfo,
        number: int,
        snapshot_json: str,
        content_hash: str,
        operations_json: str,
        author: str,
        message: str,
    ) -> None:
        self.conn.execute(
            insert(_versions).values(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                number=number,
                content_hash=content_hash,
                snapshot=snapshot_json,
                operations=operations_json,
                author=author,
                message=message,
                created_at=utcnow(),
            )
        )

    def activate(self, tenant: TenantInfo, number: int) -> None:
        self.conn.execute(
            update(_tenants).where(_tenants.c.id == tenant.id).values(active_version=number)
        )

    @staticmethod
    def _version(row: Any) -> VersionInfo:
        return VersionInfo(
            number=row["number"],
            content_hash=row["content_hash"],
            author=row["author"],
            message=row["message"],
            created_at=row["created_at"],
            operations=json.loads(row["operations"]),
            snapshot_json=row["snapshot"],
        )

    # -- apply attempts ------------------------------------------------------------------

    def start_attempt(
        self,
        tenant: TenantInfo,
        *,
        base_version: int | None,
        target_version: int,
        snapshot: Snapshot,
        operations_json: str,
        author: str,
        message: str,
        status: str = "pending",
        error: str | None = None,
    ) -> uuid.UUID:
        attempt_id = uuid.uuid4()
        self.conn.execute(
            insert(_attempts).values(
                id=attempt_id,
                tenant_id=tenant.id,
                base_version=base_version,
                target_version=target_version,
                content_hash=snapshot.content_hash,
                snapshot=snapshot.json,
                operations=operations_json,
                author=author,
                message=message,
                status=status,
                error=error,
                started_at=utcnow(),
                finished_at=None if status == "pending" else utcnow(),
            )
        )
        return attempt_id

    def finish_attempt(self, attempt_id: uuid.UUID, status: str, error: str | None = None) -> bool:
        """Settle a pending attempt; return False if something else already settled it."""
        result = self.conn.execute(
            update(_attempts)
            .where(_attempts.c.id == attempt_id, _attempts.c.status == "pending")
            .values(status=status, error=error, finished_at=utcnow())
        )
        return result.rowcount == 1

    def attempts(self, tenant: TenantInfo, *, status: str | None = None) -> list[AttemptInfo]:
        query = select(_attempts).where(_attempts.c.tenant_id == tenant.id)
        if status:
            query = query.where(_attempts.c.status == status)
        rows = self.conn.execute(query.order_by(_attempts.c.started_at)).mappings()
        return [
            AttemptInfo(
                id=r["id"],
                base_version=r["base_version"],
                target_version=r["target_version"],
                content_hash=r["content_hash"],
                snapshot_json=r["snapshot"],
                operations_json=r["operations"],
                author=r["author"],
                message=r["message"],
                status=r["status"],
                error=r["error"],
                started_at=r["started_at"],
            )
            for r in rows
        ]
