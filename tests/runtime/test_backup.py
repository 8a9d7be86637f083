"""Backups: a tenant exported and imported comes back whole (history, rows, members,
counters), on SQLite, on PostgreSQL and from one to the other; a whole instance restores
into an empty one with its users, tokens and audit log."""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, make_url, select

from metadata.registry.store import TenantExists
from metadata.validation import validate_file
from runtime.backup import codec
from runtime.backup.instance import backup_instance, restore_instance
from runtime.backup.tenant_archive import ArchiveError, export_tenant, import_tenant
from runtime.security import audit
from runtime.security.identity import UserNotFound
from runtime.server.app import create_app
from runtime.settings import Settings
from runtime.sql import naming
from runtime.storage.tables import system_tables
from runtime.tenants import TenantService
from runtime.wiring import Platform
from tests.conftest import DEMO_METADATA, ROOT

V2 = ROOT / "docs" / "examples" / "crm_v2.yaml"
PASSWORD = "backup-test-password"


def _platform(service: TenantService) -> Platform:
    settings = Settings(
        database_url="sqlite:////unused/x.sqlite3", secret_key="b" * 40, password_hashing="fast"
    )
    return Platform(settings, service=service)


BOSS = f"boss-{uuid.uuid4().hex[:6]}@acme.example"
REP = f"rep-{uuid.uuid4().hex[:6]}@acme.example"


def _crm(service: TenantService, name: str = "acme") -> Platform:
    """A tenant with two metadata versions, records that refer to each other, members
    (one reporting to another) and an auto number that has counted."""
    platform = _platform(service)
    service.create_tenant(name, "Acme 公司", timezone="Asia/Shanghai")
    service.apply(name, validate_file(DEMO_METADATA), author="alice", message="v1")
    service.apply(name, validate_file(V2), author="bob", message="v2")
    # Back to v1: two fields go, and their values are kept in archive tables.
    service.apply(
        name, validate_file(DEMO_METADATA), author="carol", message="v3", allow_destructive=True
    )
    identity = platform.identity
    for email in (BOSS, REP):
        try:  # the PostgreSQL control plane is shared by this module's tests
            identity.user(email)
        except UserNotFound:
            identity.create_user(email, PASSWORD)
        else:  # an import may have made them without a password
            identity.set_password(email, PASSWORD)
    identity.set_membership(name, BOSS, tenant_admin=True)
    identity.set_membership(name, REP, role="sales_rep", manager=BOSS)
    with TestClient(
        create_app(Settings(secret_key="b" * 40, password_hashing="fast"), service=service)
    ) as client:
        token = identity.login(BOSS, PASSWORD, name)["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        parent = gql(
            client, name, 'mutation { createAccount(input: {name: "Parent 母公司"}) { id } }'
        )
        child = gql(
            client,
            name,
            'mutation($p: ID!) { createAccount(input: {name: "Child", parentId: $p}) { id } }',
            p=parent["createAccount"]["id"],
        )
        gql(
            client,
            name,
            'mutation($a: ID!) { createContact(input: {lastName: "王", accountId: $a, '
            'email: "wang@acme.example"}) { id } }',
            a=child["createAccount"]["id"],
        )
    return platform


def gql(client, tenant, query, **variables):
    body = client.post(f"/t/{tenant}/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]


def tables(service: TenantService, tenant: str) -> dict[str, list[dict]]:
    """Every table of the tenant as sorted, comparable rows."""
    backend = service.backend
    schema = backend.schema(tenant)
    from runtime.backup.tenant_export import _tenant_tables

    _, snapshot = service.active(tenant)
    out = {}
    with backend.read_tenant(tenant) as conn:
        for _, table in _tenant_tables(conn, snapshot.model, schema):
            rows = [
                {k: str(v) if v is not None else None for k, v in r._mapping.items()}
                for r in conn.execute(select(table))
            ]
            out[table.name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
    return out


def history(service: TenantService, tenant: str) -> list[tuple]:
    return [
        (v.number, v.content_hash, v.author, v.message, codec.dump("datetime", v.created_at))
        for v in service.history(tenant)
    ]


def test_a_tenant_exported_and_imported_comes_back_whole(service, tmp_path):
    platform = _crm(service)
    before_tables, before_history = tables(service, "acme"), history(service, "acme")
    assert any(name.startswith("_archive_") for name in before_tables)  # v3 dropped fields
    path = tmp_path / "acme.tar.gz"
    progress = []
    summary = export_tenant(platform, "acme", path, lambda d, t, w: progress.append((d, t)))
    assert summary.versions == 3 and summary.rows > 0 and summary.members == 2
    assert progress[-1][0] == progress[-1][1]  # the bar reached its end
    service.delete_tenant("acme")
    result = import_tenant(platform, path)
    assert result.tenant == "acme" and result.active_version == 3 and result.created_users == []
    assert history(service, "acme") == before_history
    after = tables(service, "acme")
    assert after.keys() == before_tables.keys()
    for name in after:
        assert after[name] == before_tables[name], name
    members = {m.user.email: m for m in platform.identity.members("acme")}
    boss = members[BOSS]
    assert boss.tenant_admin and members[REP].manager_id == boss.user.id
    # The tenant works: GraphQL answers, counters go on, new outbox events get new ids.
    with TestClient(
        create_app(Settings(secret_key="b" * 40, password_hashing="fast"), service=service)
    ) as client:
        token = platform.identity.login(REP, PASSWORD, "acme")["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        made = gql(client, "acme", 'mutation { createAccount(input: {name: "After"}) { id } }')
        assert made["createAccount"]["id"]
    outbox = system_tables(service.backend.schema("acme")).tables
    table = next(t for t in outbox.values() if t.name == naming.OUTBOX_TABLE)
    with service.backend.read_tenant("acme") as conn:
        ids = conn.execute(select(table.c.id)).scalars().all()
    assert len(ids) == len(set(ids)) == len(before_tables[naming.OUTBOX_TABLE]) + 1


def test_import_refuses_what_it_cannot_take(service, tmp_path):
    platform = _crm(service)
    path = tmp_path / "acme.tar.gz"
    export_tenant(platform, "acme", path)
    with pytest.raises(TenantExists, match="--as"):
        import_tenant(platform, path)
    copy = import_tenant(platform, path, name="acme_copy", members=False)
    assert copy.tenant == "acme_copy" and platform.identity.members("acme_copy") == []
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(ArchiveError, match="not a Tessera tenant archive"):
        import_tenant(platform, junk)


@pytest.mark.postgres
def test_a_tenant_moves_from_sqlite_to_postgresql(tmp_path, request):
    from runtime.storage.backends import make_backend

    sqlite = make_backend(Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite3"))
    sqlite.prepare()
    source = TenantService(sqlite)
    platform = _crm(source, "moving")
    before = tables(source, "moving")
    path = tmp_path / "moving.tar.gz"
    export_tenant(platform, "moving", path)
    target = TenantService(request.getfixturevalue("_postgres_backend"))
    try:
        import_tenant(_platform(target), path)
        after = tables(target, "moving")
        assert after.keys() == before.keys()
        for name in after:
            if not name.startswith("_archive_"):  # archives move with generic types
                assert after[name] == before[name], name
        assert history(target, "moving") == history(source, "moving")
    finally:
        for t in target.list_tenants():
            target.delete_tenant(t.name)
        sqlite.dispose()


@contextmanager
def empty_instance(backend_kind: str, tmp_path: Path):
    """Yield a TenantService on a brand-new, empty instance of the same backend."""
    from runtime.storage.backends import make_backend

    if backend_kind == "sqlite":
        backend = make_backend(Settings(database_url=f"sqlite:///{tmp_path}/new/t.sqlite3"))
        backend.prepare()
        yield TenantService(backend)
        backend.dispose()
        return
    admin_url = make_url(os.environ["TESSERA_TEST_DATABASE_URL"]).set(
        drivername="postgresql+psycopg"
    )
    name = f"tessera_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    try:
        yield TenantService(backend)
    finally:
        backend.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_a_whole_instance_restores_into_an_empty_one(service, backend, tmp_path):
    platform = _crm(service)
    _, secret = platform.identity.create_token("acme", REP, name="BI export")
    path = tmp_path / "instance.tar.gz"
    summary = backup_instance(platform, path)
    # (On PostgreSQL the control plane is shared with this module's other tests.)
    assert summary["users"] >= 2 and summary["tokens"] >= 1 and summary["audit_entries"] > 0
    before = tables(service, "acme")
    with empty_instance(backend.dialect, tmp_path) as fresh:
        restored = _platform(fresh)
        result = restore_instance(restored, path)
        assert result["tenants"] == {"acme": sum(len(r) for r in before.values())}
        after = tables(fresh, "acme")
        for name in after:
            assert after[name] == before[name], name
        # Passwords and tokens work as before; the audit log came along.
        identity = restored.identity
        assert identity.login(REP, PASSWORD, "acme")["access_token"]
        caller = identity.authenticate(f"Bearer {secret}")
        assert caller.email == REP and caller.tenant == "acme"
        with fresh.backend.connect_control() as conn:
            kinds = {e.kind for e in audit.read(conn, limit=500)}
        assert {"tenant_created", "token_created", "backup_restored"} <= kinds
        with pytest.raises(ArchiveError, match="already has tenants or users"):
            restore_instance(restored, path)
