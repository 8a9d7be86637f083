"""``tessera tenant list`` reads the registry with the database's own driver
(metadata/registry/quick.py): the same tenants as the registry reads, on both backends,
and the full path whenever the control plane is not ready."""

from __future__ import annotations

import sqlite3

from metadata.registry import quick
from metadata.registry.store import Registry


def test_the_quick_reader_reads_what_the_registry_reads(service, database_url):
    service.create_tenant("quick_b", display_name="B 公司", timezone="Asia/Shanghai")
    service.create_tenant("quick_a")
    with service.backend.connect_control() as conn:
        expected = Registry(conn).list_tenants()
    found = quick.list_tenants(database_url)
    assert found == expected
    assert [t.to_dict() for t in found] == [t.to_dict() for t in expected]
    assert quick.location(database_url) == service.backend.location()


def test_the_full_path_answers_when_the_control_plane_is_not_ready(tmp_path):
    missing = tmp_path / "none.sqlite3"
    assert quick.list_tenants(f"sqlite:///{missing}") is None
    assert not missing.exists()  # nothing created by a read
    old = tmp_path / "old.sqlite3"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
        conn.execute("INSERT INTO alembic_version VALUES ('0001')")
    assert quick.list_tenants(f"sqlite:///{old}") is None
    assert quick.list_tenants("mysql://somewhere/db") is None
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    assert quick.list_tenants(unreachable) is None
    assert quick.location("postgresql+psycopg://u:secret@db.example:5433/t") == (
        "PostgreSQL postgresql+psycopg://u:***@db.example:5433/t"
    )
