"""INSERT ... ON CONFLICT in the connection's dialect.

PostgreSQL and SQLite (3.24+) share the syntax, and SQLAlchemy offers it through each
dialect's own ``insert``; the dialect classes (``runtime/sql``) pick it, for sequences, workflow
runs and steps alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table

from runtime.sql.dialect import dialect_for


def conflict_insert(conn: Connection, table: Table) -> Any:
    """Return an INSERT into ``table`` that takes ``on_conflict_do_update`` and
    ``on_conflict_do_nothing``, for ``conn``'s database."""
    return dialect_for(conn.dialect.name, table.schema).upsert(table)
