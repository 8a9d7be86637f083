"""Alembic environment for the control plane; run by metadata.registry.migrate."""

from __future__ import annotations

from alembic import context

from metadata.registry.models import SCHEMA, Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=SCHEMA if connection.dialect.name == "postgresql" else None,
    include_schemas=True,
)
with context.begin_transaction():
    context.run_migrations()
