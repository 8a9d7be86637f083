"""INSERT ... ON CONFLICT in the connection's dialect.

PostgreSQL and SQLite (3.24+) share the syntax, and SQLAlchemy offers it through each
dialect's own ``insert``: this is the one place that picks it, for sequences, workflow
runs and steps alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def conflict_insert(conn: Connection, table: Table) -> Any:
    """Return an INSERT into ``table`` that takes ``on_conflict_do_update`` and
    ``on_conflict_do_nothing``, for ``conn``'s database."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
