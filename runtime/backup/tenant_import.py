"""Importing one tenant from an archive, on either backend (the format:
``tenant_archive.py``)."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from metadata.diff import diff
from metadata.registry.models import utcnow
from metadata.registry.store import Registry, TenantExists, check_tenant
from metadata.snapshot import EMPTY_SNAPSHOT, Snapshot
from runtime.backup import codec
from runtime.backup.archive_format import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    ArchiveError,
    Progress,
    Summary,
    _versions,
)
from runtime.security import audit
from runtime.sql.dialect import dialect_for
from runtime.storage.backends import write_state
from runtime.storage.migrator import run_plan
from runtime.storage.tables import build_table, system_tables
from runtime.wiring import Platform

# -- import --------------------------------------------------------------------------------


@contextmanager
def _open(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        archive = tarfile.open(path, "r:gz")  # noqa: SIM115  (closed below)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"{path} is not a Tessera tenant archive: {exc}") from None
    with archive:
        yield archive


def read_manifest(path: Path) -> dict[str, Any]:
    """Return an archive's manifest, or raise ArchiveError saying what is wrong."""
    with _open(path) as archive:
        return _manifest(archive, path)


def _manifest(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        member = archive.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise ArchiveError(f"{path} has no manifest.json: not a Tessera tenant archive")
    manifest = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is a {manifest.get('format')!r} archive, not {FORMAT!r}")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ArchiveError(
            f"{path} is format version {manifest['format_version']}; this Tessera reads up "
            f"to {FORMAT_VERSION}: upgrade Tessera to import it"
        )
    return manifest


def _lines(archive: tarfile.TarFile, name: str) -> Iterator[dict[str, Any]]:
    member = archive.extractfile(name)
    if member is None:
        raise ArchiveError(f"the archive lacks {name}")
    for line in io.TextIOWrapper(member, encoding="utf-8"):
        if line.strip():
            yield json.loads(line)


def import_tenant(
    platform: Platform,
    path: Path,
    *,
    name: str | None = None,
    members: bool = True,
    progress: Progress | None = None,
    actor: str = "cli",
    audited: bool = True,
) -> Summary:
    """Create a tenant from the archive at ``path`` (as ``name``, default its own).

    ``audited``: write a ``tenant_imported`` entry (a whole-instance restore brings the
    tenant's own log back instead)."""
    service, backend = platform.service, platform.backend
    with _open(path) as archive:
        manifest = _manifest(archive, path)
        source = manifest["tenant"]
        tenant = name or source["name"]
        check_tenant(tenant, source["timezone"])
        with backend.connect_control() as conn:
            if Registry(conn).find_tenant(tenant) is not None:
                raise TenantExists(
                    f"tenant {tenant!r} already exists; import under another name with --as"
                )
        versions = list(_lines(archive, "versions.jsonl"))
        active_number = source["active_version"]
        active = _active_snapshot(versions, active_number)
        summary = Summary(tenant, active_number, len(versions))
        load = _Loader(archive, manifest, active, progress, summary)
        if backend.shared_transaction:
            with backend.begin_control() as conn:
                backend.unbounded(conn)
                info = Registry(conn).create_tenant(
                    tenant, source["display_name"], source["timezone"]
                )
                backend.create_storage(tenant, conn)
                load(conn, backend.schema(tenant), info.timezone)
                _register(conn, info, versions, active_number, actor, path, audited)
        else:
            if backend.storage_exists(tenant):
                raise TenantExists(
                    f"storage for tenant {tenant!r} already exists but it is not registered; "
                    "move the file away first"
                )
            backend.create_storage(tenant)
            try:
                with backend.begin_tenant(tenant, migration=True) as tconn:
                    load(tconn, None, source["timezone"])
                with backend.begin_control() as conn:
                    info = Registry(conn).create_tenant(
                        tenant, source["display_name"], source["timezone"]
                    )
                    _register(conn, info, versions, active_number, actor, path, audited)
            except BaseException:
                backend.drop_storage(tenant)
                raise
    service.listeners.changed(tenant)
    if members:
        summary.created_users = _restore_members(platform, tenant, manifest["members"], actor)
        summary.members = len(manifest["members"])
    return summary


def _active_snapshot(versions: list[dict[str, Any]], number: int | None) -> Snapshot:
    if number is None:
        return EMPTY_SNAPSHOT
    found = next((v for v in versions if v["number"] == number), None)
    if found is None:
        raise ArchiveError(f"the archive's active version {number} is not among its versions")
    snapshot = Snapshot.from_json(found["snapshot"])
    if snapshot.content_hash != found["content_hash"]:
        raise ArchiveError(
            f"version {number} does not match its recorded hash: the archive is damaged"
        )
    return snapshot


def _register(
    conn: Connection,
    info: Any,
    versions: list[dict[str, Any]],
    active: int | None,
    actor: str,
    path: Path,
    audited: bool,
) -> None:
    """Give the new tenant the archive's versions, numbers and times included."""
    for v in versions:
        conn.execute(
            insert(_versions).values(
                id=uuid.uuid4(),
                tenant_id=info.id,
                number=v["number"],
                content_hash=v["content_hash"],
                snapshot=v["snapshot"],
                operations=v["operations"]
                if isinstance(v["operations"], str)
                else json.dumps(v["operations"], ensure_ascii=False),
                author=v["author"],
                message=v["message"],
                created_at=codec.load("datetime", v["created_at"]),
            )
        )
    if active is not None:
        Registry(conn).activate(info, active)
    if not audited:
        return
    audit.write(
        conn,
        tenant=info.name,
        actor=actor,
        kind="tenant_imported",
        archive=path.name,
        versions=len(versions),
        at=utcnow().isoformat(),
    )


class _Loader:
    """Create a tenant's tables from the active version and load the archive's rows."""

    def __init__(
        self,
        archive: tarfile.TarFile,
        manifest: dict[str, Any],
        active: Snapshot,
        progress: Progress | None,
        summary: Summary,
    ) -> None:
        self.archive, self.manifest, self.active = archive, manifest, active
        self.progress, self.summary = progress, summary

    def __call__(self, conn: Connection, schema: str | None, timezone: str) -> None:
        number = self.manifest["tenant"]["active_version"] or 0
        plan = diff(EMPTY_SNAPSHOT, self.active)
        run_plan(conn, plan, schema=schema, version=number, timezone=timezone)
        targets = self._targets(conn, schema)
        # The fresh storage's own rows (its state) give way to the archive's.
        for kind, table in targets.values():
            if kind == "platform":
                conn.execute(delete(table))
        ordered, deferred = _load_order({name: t for name, (_, t) in targets.items()})
        described = {t["name"]: t for t in self.manifest["tables"]}
        for done, table_name in enumerate(ordered, start=1):
            if table_name in described:
                _, table = targets[table_name]
                rows = self._load(conn, table, described[table_name], deferred.get(table_name, ()))
                self.summary.tables[table_name] = rows
            if self.progress is not None:
                self.progress(done, len(ordered), table_name)
        for table_name, columns in deferred.items():
            if table_name in described:
                self._references(conn, targets[table_name][1], columns)
        if dialect_for(conn.dialect.name, None).sequences:
            _reset_sequences(conn, [t for _, t in targets.values()])
        write_state(conn, schema, content_hash=self.active.content_hash, version=number)

    def _targets(self, conn: Connection, schema: str | None) -> dict[str, tuple[str, Table]]:
        model = self.active.model
        targets: dict[str, tuple[str, Table]] = {}
        for name in model.objects:
            targets[name] = (
                "object",
                build_table(model, name, schema=schema, dialect=conn.dialect.name),
            )
        for table in system_tables(schema).tables.values():
            targets[table.name] = ("platform", table)
        others = MetaData(schema=schema)
        for described in self.manifest["tables"]:
            if described["kind"] != "other" or described["name"] in targets:
                continue
            table = Table(
                described["name"],
                others,
                *(codec.generic_column(c["name"], c["kind"]) for c in described["columns"]),
            )
            table.create(conn)
            targets[table.name] = ("other", table)
        return targets

    def _load(
        self, conn: Connection, table: Table, described: dict[str, Any], later: tuple[str, ...]
    ) -> int:
        kinds = {c["name"]: c["kind"] for c in described["columns"] if c["name"] in table.c}
        batch: list[dict[str, Any]] = []
        count = 0
        for record in _lines(self.archive, f"tables/{table.name}.jsonl"):
            row = {name: codec.load(kind, record.get(name)) for name, kind in kinds.items()}
            for column in later:
                row[column] = None  # set once every row it may point to is in
            batch.append(row)
            if len(batch) >= BATCH:
                conn.execute(insert(table), batch)
                count += len(batch)
                batch = []
        if batch:
            conn.execute(insert(table), batch)
            count += len(batch)
        return count

    def _references(self, conn: Connection, table: Table, columns: tuple[str, ...]) -> None:
        kinds = {c.name: codec.kind_of(c.type) for c in table.columns}
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in columns})
        )
        batch = []
        for record in _lines(self.archive, f"tables/{table.name}.jsonl"):
            if all(record.get(c) is None for c in columns):
                continue
            values = {f"_{c}": codec.load(kinds[c], record.get(c)) for c in columns}
            batch.append({"_id": codec.load(kinds["id"], record["id"]), **values})
            if len(batch) >= BATCH:
                conn.execute(statement, batch)
                batch = []
        if batch:
            conn.execute(statement, batch)


def _load_order(tables: dict[str, Table]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Return tables in an order where each comes after what it refers to, and for each
    table the reference columns to fill in afterwards (self-references and cycles)."""
    needs: dict[str, dict[str, str]] = {}
    for name, table in tables.items():
        needs[name] = {}
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target in tables:
                needs[name][fk.parent.name] = target
    ordered: list[str] = []
    deferred: dict[str, list[str]] = {}
    placed: set[str] = set()
    remaining = sorted(tables)
    while remaining:
        ready = [n for n in remaining if all(t in placed or t == n for t in needs[n].values())]
        if not ready:
            # A cycle: place the first one, filling its open references in afterwards.
            ready = [remaining[0]]
        for n in ready:
            for column, target in needs[n].items():
                if target == n or target not in placed:
                    deferred.setdefault(n, []).append(column)
            placed.add(n)
            ordered.append(n)
            remaining.remove(n)
    return ordered, {k: tuple(v) for k, v in deferred.items()}


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move PostgreSQL sequences past the ids the archive brought (the outbox's)."""
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or codec.kind_of(key[0].type) != "integer":
            continue
        column = key[0]
        qualified = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": qualified, "c": column.name}
        ).scalar()
        if sequence is None:
            continue
        highest = conn.execute(select(func.max(column))).scalar()
        if highest is not None:
            conn.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": highest})


def _restore_members(
    platform: Platform, tenant: str, members: list[dict[str, Any]], actor: str
) -> list[str]:
    """Add the archive's members to the tenant; create users this instance lacks (with no
    password: they act only through tokens until an admin sets one). Return those."""
    from runtime.security.identity import UserNotFound

    identity = platform.identity
    created = []
    for m in members:
        try:
            identity.user(m["email"])
        except UserNotFound:
            identity.create_user(m["email"], None, display_name=m.get("display_name"), actor=actor)
            created.append(m["email"])
        identity.set_membership(
            tenant,
            m["email"],
            role=m.get("role"),
            permission_sets=list(m.get("permission_sets") or ()),
            tenant_admin=bool(m.get("tenant_admin")),
            actor=actor,
        )
    for m in members:
        if m.get("manager"):
            identity.set_membership(
                tenant,
                m["email"],
                role=m.get("role"),
                permission_sets=list(m.get("permission_sets") or ()),
                tenant_admin=bool(m.get("tenant_admin")),
                actor=actor,
                manager=m["manager"],
            )
    return created
