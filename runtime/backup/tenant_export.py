"""Exporting one tenant to an archive (the format: ``tenant_archive.py``)."""

from __future__ import annotations

import datetime as dt
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    inspect,
    select,
    text,
)

from metadata.registry.store import Registry
from metadata.snapshot import EMPTY_SNAPSHOT
from runtime.backup import codec
from runtime.backup.archive_format import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    ArchiveError,
    Progress,
    Summary,
    _tessera_version,
)
from runtime.sql.dialect import dialect_for
from runtime.storage.backends import read_state
from runtime.storage.tables import build_table, system_tables
from runtime.wiring import Platform

# -- export --------------------------------------------------------------------------------


def _tenant_tables(conn: Connection, model: Any, schema: str | None) -> list[tuple[str, Table]]:
    """Return (kind, table) for every table of the tenant: objects, platform, others."""
    dialect = conn.dialect.name
    out: list[tuple[str, Table]] = []
    known: set[str] = set()
    for name in model.objects:
        out.append(("object", build_table(model, name, schema=schema, dialect=dialect)))
        known.add(name)
    for table in system_tables(schema).tables.values():
        out.append(("platform", table))
        known.add(table.name)
    reflected = MetaData(schema=schema)
    for name in sorted(inspect(conn).get_table_names(schema=schema)):
        if name in known or name.startswith(("sqlite_", "alembic")):
            continue
        columns = inspect(conn).get_columns(name, schema=schema)
        table = Table(
            name,
            reflected,
            *(codec.generic_column(c["name"], codec.kind_of(c["type"])) for c in columns),
        )
        out.append(("other", table))
    return out


def _describe(kind: str, table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "kind": kind,
        "columns": [{"name": c.name, "kind": codec.kind_of(c.type)} for c in table.columns],
    }


def export_tenant(
    platform: Platform, tenant: str, path: Path, progress: Progress | None = None
) -> Summary:
    """Write ``tenant`` to the archive at ``path``; return what it holds."""
    backend = platform.backend
    platform.service.get_tenant(tenant)  # a clear error for an unknown tenant
    schema = backend.schema(tenant)
    members = _members(platform, tenant)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "tables").mkdir()
        with backend.read_tenant(tenant) as conn:
            if dialect_for(conn.dialect.name, None).snapshot_reads:
                # Registry and tables in one snapshot: an apply cannot slip in between.
                conn.rollback()
                conn.execution_options(isolation_level="REPEATABLE READ")
                backend.unbounded(conn)  # a big tenant's tables take as long as they take
                info = Registry(conn).get_tenant(tenant)
                versions = Registry(conn).versions(info)
            else:
                backend.unbounded(conn)
                conn.execute(text("SELECT 1 FROM _tessera_state LIMIT 1"))  # snapshot begins
                with backend.connect_control() as control:
                    info = Registry(control).get_tenant(tenant)
                    versions = Registry(control).versions(info)
            active = next((v for v in versions if v.number == info.active_version), None)
            recorded = read_state(conn, schema).get("metadata_hash", "")
            expected = active.content_hash if active else ""
            if recorded not in (expected, ""):
                raise ArchiveError(
                    f"tenant {tenant!r} is being changed (its tables record metadata "
                    f"{recorded[:12]}, its active version is {expected[:12]}); try again"
                )
            model = active.snapshot.model if active else EMPTY_SNAPSHOT.model
            tables = _tenant_tables(conn, model, schema)
            summary = Summary(tenant, info.active_version, len(versions), members=len(members))
            described = []
            for done, (kind, table) in enumerate(tables, start=1):
                described.append(
                    {**_describe(kind, table), "rows": _dump_rows(conn, table, folder)}
                )
                summary.tables[table.name] = described[-1]["rows"]
                if progress is not None:
                    progress(done, len(tables), table.name)
        with (folder / "versions.jsonl").open("w", encoding="utf-8") as out:
            for v in versions:
                out.write(
                    json.dumps(
                        {
                            "number": v.number,
                            "content_hash": v.content_hash,
                            "snapshot": v.snapshot.json,
                            "operations": v.operations,
                            "author": v.author,
                            "message": v.message,
                            "created_at": codec.dump("datetime", v.created_at),
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tessera_version": _tessera_version(),
            "exported_at": dt.datetime.now(dt.UTC).isoformat(),
            "source": backend.dialect,
            "tenant": {
                "name": info.name,
                "display_name": info.display_name,
                "timezone": info.timezone,
                "created_at": codec.dump("datetime", info.created_at),
                "active_version": info.active_version,
            },
            "tables": described,
            "members": members,
        }
        (folder / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(folder / "manifest.json", "manifest.json")
            archive.add(folder / "versions.jsonl", "versions.jsonl")
            for item in sorted((folder / "tables").iterdir()):
                archive.add(item, f"tables/{item.name}")
        partial.replace(path)  # a half-written archive never carries the final name
    return summary


def _dump_rows(conn: Connection, table: Table, folder: Path) -> int:
    kinds = [(c.name, codec.kind_of(c.type)) for c in table.columns]
    count = 0
    key = table.c.id if "id" in table.c else None
    query = select(table)
    if key is not None:
        query = query.order_by(key)
    result = conn.execution_options(yield_per=BATCH).execute(query)
    with (folder / "tables" / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
        for row in result:
            mapping = row._mapping
            record = {name: codec.dump(kind, mapping[name]) for name, kind in kinds}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def _members(platform: Platform, tenant: str) -> list[dict[str, Any]]:
    members = platform.identity.members(tenant)
    emails = {m.user.id: m.user.email for m in members}
    return [
        {
            "email": m.user.email,
            "display_name": m.user.display_name,
            "active": m.user.active,
            "role": m.role,
            "permission_sets": list(m.permission_sets),
            "tenant_admin": m.tenant_admin,
            "manager": emails.get(m.manager_id) if m.manager_id else None,
        }
        for m in members
    ]
