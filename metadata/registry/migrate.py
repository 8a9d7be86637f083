"""Bring the control-plane database up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from metadata.registry.models import SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest migration revision shipped with this code."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the control plane is at, or None if it was never migrated."""
    with engine.connect() as conn:
        schema = SCHEMA if conn.dialect.name == "postgresql" else None
        return MigrationContext.configure(
            conn, opts={"version_table_schema": schema}
        ).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Run every pending control-plane migration, in one transaction."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent first starts of several processes on one database.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7403311)")
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
        command.upgrade(_config(conn), "head")
