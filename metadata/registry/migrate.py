"""Bring the control-plane database up to date with its Alembic migrations."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from metadata.registry.info import HEAD
from metadata.registry.models import SCHEMA

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = ["HEAD", "current_revision", "head_revision", "upgrade"]


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest migration revision shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the control plane is at, or None if it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        schema = SCHEMA if conn.dialect.name == "postgresql" else None
        return MigrationContext.configure(
            conn, opts={"version_table_schema": schema}
        ).get_current_revision()


def _at_head(engine: Engine) -> bool:
    """Return whether the control plane is at HEAD (one query, no Alembic)."""
    with engine.connect() as conn:
        table = (
            f'"{SCHEMA}".alembic_version'
            if conn.dialect.name == "postgresql"
            else ("alembic_version")
        )
        try:
            found = conn.exec_driver_sql(f"SELECT version_num FROM {table}").scalars().all()
        except DBAPIError:  # never migrated: no table (or schema) yet
            conn.rollback()
            return False
        conn.rollback()
    return found == [HEAD]


def upgrade(engine: Engine) -> None:
    """Run every pending control-plane migration, in one transaction."""
    if _at_head(engine):
        return
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent first starts of several processes on one database.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7403311)")
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
        command.upgrade(_config(conn), "head")
