"""A whole instance as one portable archive, and its restore into an empty instance.

``tessera backup create FILE`` writes a gzipped tar with ``instance.json`` (users with
their password hashes, API tokens as their hashes, the audit log) and one tenant archive
per tenant under ``tenants/`` (see ``tenant_archive.py``). The file holds every
customer record and every credential hash: store it encrypted, like a database dump.

``tessera backup restore FILE`` needs an instance with no tenants and no users (a fresh
database or data folder), restores the users first, then each tenant with its members,
then the tokens and the audit log. It works across backends: an embedded SQLite
instance moves to PostgreSQL this way. For a large PostgreSQL deployment ``pg_dump`` of
the whole database is the faster backup (docs/operations.md); this one is portable.
"""

from __future__ import annotations

import datetime as dt
import json
import tarfile
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from metadata.registry.models import ApiToken, AuditEntry, Tenant, User
from metadata.registry.store import Registry
from runtime.backup import tenant_archive
from runtime.backup.tenant_archive import ArchiveError
from runtime.security import audit
from runtime.wiring import Platform

FORMAT = "tessera-instance"
FORMAT_VERSION = 1

_users = User.__table__
_tokens = ApiToken.__table__
_audit = AuditEntry.__table__
_tenants = Tenant.__table__

#: Called as (step, steps, what).
Progress = Callable[[int, int, str], None]


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def backup_instance(
    platform: Platform, path: Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the whole instance to ``path``; return counts."""
    backend = platform.backend
    tenants = [t.name for t in platform.service.list_tenants()]
    steps = len(tenants) + 1
    with backend.connect_control() as conn:
        users = [
            {
                "email": r.email,
                "display_name": r.display_name,
                "password_hash": r.password_hash,
                "platform_admin": r.platform_admin,
                "active": r.active,
                "created_at": _iso(r.created_at),
            }
            for r in conn.execute(select(_users).order_by(_users.c.email))
        ]
        tokens = [
            {
                "tenant": r.tenant,
                "email": r.email,
                "name": r.name,
                "role": r.role,
                "token_hash": r.token_hash,
                "created_at": _iso(r.created_at),
                "expires_at": _iso(r.expires_at),
                "revoked_at": _iso(r.revoked_at),
                "last_used_at": _iso(r.last_used_at),
            }
            for r in conn.execute(
                select(_tokens, _users.c.email, _tenants.c.name.label("tenant"))
                .join(_users, _users.c.id == _tokens.c.user_id)
                .join(_tenants, _tenants.c.id == _tokens.c.tenant_id)
                .order_by(_tokens.c.created_at)
            )
        ]
        entries = [
            {
                "at": _iso(r.at),
                "tenant": r.tenant,
                "actor": r.actor,
                "kind": r.kind,
                "detail": r.detail,
            }
            for r in conn.execute(select(_audit).order_by(_audit.c.id))
        ]
    summary: dict[str, Any] = {
        "users": len(users),
        "tokens": len(tokens),
        "audit_entries": len(entries),
        "tenants": {},
    }
    if progress is not None:
        progress(1, steps, "users, tokens and audit log")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for done, name in enumerate(tenants, start=2):
            result = tenant_archive.export_tenant(platform, name, folder / f"{name}.tar.gz")
            summary["tenants"][name] = result.rows
            if progress is not None:
                progress(done, steps, f"tenant {name}")
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "source": backend.dialect,
            "tenants": tenants,
            "users": users,
            "tokens": tokens,
            "audit": entries,
        }
        (folder / "instance.json").write_text(json.dumps(document, ensure_ascii=False))
        partial = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(folder / "instance.json", "instance.json")
            for name in tenants:
                archive.add(folder / f"{name}.tar.gz", f"tenants/{name}.tar.gz")
        partial.replace(path)
    return summary


def restore_instance(
    platform: Platform, path: Path, progress: Progress | None = None
) -> dict[str, Any]:
    """Restore the archive at ``path`` into this (empty) instance; return counts."""
    backend = platform.backend
    with backend.connect_control() as conn:
        if Registry(conn).list_tenants() or conn.execute(select(_users.c.id)).first():
            raise ArchiveError(
                "this instance already has tenants or users; restore into an empty one (a new "
                "database, or a new TESSERA_DATA_DIR), or import single tenants with "
                "tessera tenant import"
            )
    try:
        archive = tarfile.open(path, "r:gz")  # noqa: SIM115  (closed below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a Tessera instance backup: {exc}") from None
    with archive, tempfile.TemporaryDirectory() as scratch:
        names = set(archive.getnames())
        member = archive.extractfile("instance.json") if "instance.json" in names else None
        if member is None:
            raise ArchiveError(f"{path} has no instance.json: not a Tessera instance backup")
        document = json.loads(member.read())
        if document.get("format") != FORMAT:
            raise ArchiveError(f"{path} is not a Tessera instance backup")
        if document.get("format_version", 0) > FORMAT_VERSION:
            raise ArchiveError(
                f"{path} is format version {document['format_version']}; upgrade Tessera"
            )
        steps = len(document["tenants"]) + 1
        with backend.begin_control() as conn:
            for u in document["users"]:
                conn.execute(
                    insert(_users).values(
                        id=uuid.uuid4(),
                        email=u["email"],
                        display_name=u["display_name"],
                        password_hash=u["password_hash"],
                        platform_admin=u["platform_admin"],
                        active=u["active"],
                        created_at=_when(u["created_at"]),
                    )
                )
        summary: dict[str, Any] = {"users": len(document["users"]), "tenants": {}}
        if progress is not None:
            progress(1, steps, "users")
        for done, name in enumerate(document["tenants"], start=2):
            inner = archive.extractfile(f"tenants/{name}.tar.gz")
            if inner is None:
                raise ArchiveError(f"{path} lacks the archive of tenant {name}")
            local = Path(scratch) / f"{name}.tar.gz"
            local.write_bytes(inner.read())
            result = tenant_archive.import_tenant(platform, local, actor="restore", audited=False)
            summary["tenants"][name] = result.rows
            if progress is not None:
                progress(done, steps, f"tenant {name}")
        with backend.begin_control() as conn:
            users = {r.email: r.id for r in conn.execute(select(_users.c.email, _users.c.id))}
            tenants = {r.name: r.id for r in conn.execute(select(_tenants.c.name, _tenants.c.id))}
            for t in document["tokens"]:
                conn.execute(
                    insert(_tokens).values(
                        id=uuid.uuid4(),
                        tenant_id=tenants[t["tenant"]],
                        user_id=users[t["email"]],
                        name=t["name"],
                        role=t["role"],
                        token_hash=t["token_hash"],
                        created_at=_when(t["created_at"]),
                        expires_at=_when(t["expires_at"]),
                        revoked_at=_when(t["revoked_at"]),
                        last_used_at=_when(t["last_used_at"]),
                    )
                )
            if document["audit"]:
                conn.execute(
                    insert(_audit),
                    [
                        {
                            "at": _when(e["at"]),
                            "tenant": e["tenant"],
                            "actor": e["actor"],
                            "kind": e["kind"],
                            "detail": e["detail"],
                        }
                        for e in document["audit"]
                    ],
                )
            audit.write(
                conn,
                tenant=None,
                actor="restore",
                kind="backup_restored",
                archive=path.name,
                created_at=document["created_at"],
                tenants=len(document["tenants"]),
            )
        summary["tokens"] = len(document["tokens"])
        summary["audit_entries"] = len(document["audit"])
    # Every process drops what it cached about credentials and these tenants.
    platform.invalidation.changed("credentials")
    return summary
