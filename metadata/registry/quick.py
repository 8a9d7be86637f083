"""The tenant list read with the database's own driver, for ``tessera tenant list``.

SQLAlchemy, the registry's models and the storage layer take ~0.6 s to import, longer
than the query; this reads the one table with ``sqlite3`` or psycopg and answers in
~0.2 s (issue 17). It only reads a control plane already at the migration head: any
other (a new data folder, a pending migration) returns None, and the caller goes the
full way, which migrates.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from metadata.registry.info import HEAD, TenantInfo

_COLUMNS = "id, name, display_name, timezone, created_at, active_version"


def list_tenants(database_url: str) -> list[TenantInfo] | None:
    """Return the tenants by name, or None when the full path must answer."""
    if database_url.startswith("sqlite:///"):
        return _sqlite(Path(database_url.removeprefix("sqlite:///")))
    if database_url.startswith(("postgresql", "postgres:")):
        return _postgres(_libpq(database_url))
    return None


def location(database_url: str) -> str:
    """Where the data is, for people (no password), as ``Backend.location`` says it."""
    if database_url.startswith("sqlite:///"):
        return f"SQLite in {Path(database_url.removeprefix('sqlite:///')).parent}"
    parts = urlsplit(database_url)
    if parts.password:
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=f"{user}:***@{host}{port}")
    return f"PostgreSQL {urlunsplit(parts)}"


def _libpq(database_url: str) -> str:
    scheme, rest = database_url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith(("postgresql", "postgres")) else ""


def _sqlite(path: Path) -> list[TenantInfo] | None:
    if not path.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            if conn.execute("SELECT version_num FROM alembic_version").fetchall() != [(HEAD,)]:
                return None
            rows = conn.execute(f"SELECT {_COLUMNS} FROM tenants ORDER BY name").fetchall()
    except sqlite3.Error:
        return None
    return [_info(row, sqlite=True) for row in rows]


def _postgres(conninfo: str) -> list[TenantInfo] | None:
    import psycopg

    try:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            version = conn.execute("SELECT version_num FROM tessera.alembic_version").fetchall()
            if version != [(HEAD,)]:
                return None
            rows = conn.execute(f"SELECT {_COLUMNS} FROM tessera.tenants ORDER BY name").fetchall()
    except psycopg.Error:
        return None
    return [_info(row, sqlite=False) for row in rows]


def _info(row: tuple[Any, ...], *, sqlite: bool) -> TenantInfo:
    id_, name, display_name, timezone, created_at, active_version = row
    if sqlite:  # SQLite keeps these as text, as SQLAlchemy wrote them
        id_ = uuid.UUID(id_)
        created_at = dt.datetime.fromisoformat(created_at)
    return TenantInfo(id_, name, display_name, timezone, created_at, active_version)
