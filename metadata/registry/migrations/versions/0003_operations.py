"""Operations: process heartbeats (the beat's liveness), and each member's manager.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "tessera"


def _schema() -> str | None:
    return SCHEMA if op.get_bind().dialect.name == "postgresql" else None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    # Approvals that go to "the owner's manager" need the person, not a role: two teams
    # under one manager role would otherwise both reach every rep's approvals.
    # ALTER is rendered as text, which the SQLite control plane's schema map does not
    # reach: name the schema only where there is one.
    op.add_column(
        "memberships", sa.Column("manager_id", sa.Uuid(), nullable=True), schema=_schema()
    )


def downgrade() -> None:
    op.drop_column("memberships", "manager_id", schema=_schema())
    op.drop_table("heartbeats", schema=SCHEMA)
