"""Control plane: tenants, metadata versions, apply attempts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "tessera"


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
        sa.UniqueConstraint("name", name="uq_tenants__name"),
        schema=SCHEMA,
    )
    op.create_table(
        "metadata_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metadata_versions"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{SCHEMA}.tenants.id"],
            ondelete="CASCADE",
            name="fk_metadata_versions__tenant_id",
        ),
        sa.UniqueConstraint("tenant_id", "number", name="uq_metadata_versions__tenant_id_number"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_metadata_versions__tenant_id", "metadata_versions", ["tenant_id"], schema=SCHEMA
    )
    op.create_table(
        "apply_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
        sa.Column("operations", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_apply_attempts"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            [f"{SCHEMA}.tenants.id"],
            ondelete="CASCADE",
            name="fk_apply_attempts__tenant_id",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_apply_attempts__tenant_id", "apply_attempts", ["tenant_id"], schema=SCHEMA)
    # Versions are insert-only: refuse UPDATE in the database itself, whatever the caller.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION {SCHEMA}.refuse_version_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'metadata versions are immutable; apply a new version';
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER metadata_versions_immutable BEFORE UPDATE ON "
            f"{SCHEMA}.metadata_versions FOR EACH ROW EXECUTE FUNCTION "
            f"{SCHEMA}.refuse_version_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER metadata_versions_immutable BEFORE UPDATE ON metadata_versions "
            "BEGIN SELECT RAISE(ABORT, 'metadata versions are immutable; apply a new "
            "version'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER metadata_versions_immutable ON {SCHEMA}.metadata_versions")
        op.execute(f"DROP FUNCTION {SCHEMA}.refuse_version_update()")
    op.drop_table("apply_attempts", schema=SCHEMA)
    op.drop_table("metadata_versions", schema=SCHEMA)
    op.drop_table("tenants", schema=SCHEMA)
