"""A tenant made by an older release gets the platform tables and columns it lacks the
first time a process serves it; a current tenant costs that process one small query."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import event, inspect

from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.sql import naming


def _outbox_columns(backend, tenant: str) -> set[str]:
    with backend.read_tenant(tenant) as conn:
        columns = inspect(conn).get_columns(naming.OUTBOX_TABLE, schema=backend.schema(tenant))
    return {c["name"] for c in columns}


def _as_if_made_by_an_older_release(backend, tenant: str) -> None:
    schema = backend.schema(tenant)
    prefix = f'"{schema}".' if schema else ""
    with backend.begin_tenant(tenant, migration=True) as conn:
        conn.exec_driver_sql(f'ALTER TABLE {prefix}"{naming.OUTBOX_TABLE}" DROP COLUMN request_id')
        conn.exec_driver_sql(
            f"DELETE FROM {prefix}{naming.STATE_TABLE} WHERE key = 'platform_tables'"
        )


def test_an_old_tenant_is_upgraded_once_and_a_current_one_costs_one_query(service):
    backend = service.backend
    service.create_tenant("old")
    assert backend.ensure_storage("old") is False  # made by this release: current
    _as_if_made_by_an_older_release(backend, "old")
    assert "request_id" not in _outbox_columns(backend, "old")

    assert backend.ensure_storage("old") is True
    assert "request_id" in _outbox_columns(backend, "old")
    seen: list[str] = []

    def record(_conn, _cursor, sql, *_):  # type: ignore[no-untyped-def]
        if not sql.startswith(("PRAGMA", "BEGIN", "ROLLBACK")):
            seen.append(sql)

    engine = backend.tenant_engine("old")
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert backend.ensure_storage("old") is False
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(seen) == 1 and "platform_tables" in seen[0]


def test_serving_an_old_tenant_upgrades_it(service):
    service.create_tenant("legacy")
    _as_if_made_by_an_older_release(service.backend, "legacy")
    ActiveApis(service, SchemaCache()).get("legacy")  # what the first request does
    assert "request_id" in _outbox_columns(service.backend, "legacy")


def test_the_platform_tables_fingerprint_is_the_same_in_every_process():
    """Each process compares a tenant's record with its own digest: one that varied
    between processes (a set's order) would upgrade every tenant in every process."""
    script = "from runtime.storage.backends import storage_fingerprint as f; print(f('postgresql'))"
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
