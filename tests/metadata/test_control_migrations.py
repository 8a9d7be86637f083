"""The control plane's migrations: a process skips Alembic when the database is at the
head revision, so that head must be the one the migrations define."""

from __future__ import annotations

from sqlalchemy import event

from metadata.registry import migrate
from runtime.storage.backends import SqliteBackend


def test_the_recorded_head_is_alembics_head():
    assert migrate.head_revision() == migrate.HEAD, "set HEAD in metadata/registry/migrate.py"


def test_a_new_control_plane_is_migrated_and_a_current_one_costs_one_query(tmp_path):
    engine = SqliteBackend(tmp_path / "tessera.sqlite3").control
    migrate.upgrade(engine)  # a new database: every migration
    assert migrate.current_revision(engine) == migrate.HEAD
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, sql, *_: seen.append(sql))
    migrate.upgrade(engine)
    queries = [sql for sql in seen if not sql.startswith(("PRAGMA", "BEGIN", "ROLLBACK"))]
    assert queries == ["SELECT version_num FROM alembic_version"]
