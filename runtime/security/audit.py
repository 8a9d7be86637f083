"""The append-only audit log: metadata and permission changes, sign-ins, token use.

Entries live in the control plane (``tessera.audit_log``); a database trigger refuses
UPDATE and DELETE, so not even the platform can rewrite history. Writers pass the
connection of the transaction the event belongs to, so an event is logged exactly when
its change commits.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from metadata.registry.models import AuditEntry, utcnow
from runtime.security.audit_kinds import KINDS

_log = AuditEntry.__table__


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    tenant: str | None
    actor: str
    kind: str
    detail: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        at = self.at if self.at.tzinfo else self.at.replace(tzinfo=dt.UTC)
        return {
            "id": self.id,
            "at": at.isoformat(),
            "tenant": self.tenant,
            "actor": self.actor,
            "kind": self.kind,
            "detail": self.detail,
        }


def write(conn: Connection, *, tenant: str | None, actor: str, kind: str, **detail: Any) -> None:
    """Append one entry in the caller's transaction."""
    assert kind in KINDS, kind
    conn.execute(
        insert(_log).values(
            at=utcnow(),
            tenant=tenant,
            actor=actor[:300],
            kind=kind,
            detail=json.dumps(detail, ensure_ascii=False, default=str),
        )
    )


def read(
    conn: Connection,
    *,
    tenant: str | None = None,
    kinds: list[str] | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Return entries newest first; ``tenant`` None means every tenant and the platform.

    A tenant's entries start at its latest ``tenant_created`` (or ``tenant_imported``): a
    tenant deleted and made again under the same name does not show its predecessor's
    history to its new admins.
    """
    query = select(_log).order_by(_log.c.id.desc()).limit(limit)
    if tenant is not None:
        born = (
            select(func.coalesce(func.max(_log.c.id), 0))
            .where(_log.c.tenant == tenant, _log.c.kind.in_(("tenant_created", "tenant_imported")))
            .scalar_subquery()
        )
        query = query.where(_log.c.tenant == tenant, _log.c.id >= born)
    if kinds:
        query = query.where(_log.c.kind.in_(kinds))
    if before is not None:
        query = query.where(_log.c.id < before)
    return [
        AuditRecord(r.id, r.at, r.tenant, r.actor, r.kind, json.loads(r.detail))
        for r in conn.execute(query)
    ]
