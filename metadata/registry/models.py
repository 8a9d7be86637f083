"""Control-plane tables: tenants, their metadata versions and apply attempts; users, their
tenant memberships, refresh and API tokens, and the audit log.

They live in the ``tessera`` schema on PostgreSQL, next to the tenant schemas, so that a
metadata apply and its DDL commit in one transaction. On SQLite the control plane is its
own file and the schema name is mapped away (see ``runtime.storage.backends``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA = "tessera"

NAMING = {
    "ix": "ix_%(table_name)s__%(column_0_N_name)s",
    "uq": "uq_%(table_name)s__%(column_0_N_name)s",
    "fk": "fk_%(table_name)s__%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Return the current time in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING)


class Tenant(Base):
    """A customer organisation with its own storage and metadata."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Number of the active MetadataVersion; None until the first apply.
    active_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class MetadataVersion(Base):
    """An immutable snapshot of a tenant's metadata, written once when applied.

    A database trigger (migration 0001) rejects UPDATE on this table, whatever the caller.
    """

    __tablename__ = "metadata_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)
    """Canonical JSON of the model (metadata.snapshot.canonical_json)."""
    operations: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of the operations that produced this version from the previous one."""
    author: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApplyAttempt(Base):
    """One run of ``apply``: pending while it runs, then applied or failed (with why)."""

    __tablename__ = "apply_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    base_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    target_version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)
    operations: Mapped[str] = mapped_column(Text, default="[]")
    author: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    """``pending``, ``applied`` or ``failed``."""
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class User(Base):
    """A person who can sign in; platform-wide, with memberships in tenants."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Stored lower-cased: sign-in is case-insensitive."""
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    """argon2id; None for users who may only act through API tokens."""
    platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Membership(Base):
    """A user's place in one tenant: role, extra permission sets, admin or not."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str | None] = mapped_column(String(63), nullable=True)
    permission_sets: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of permission set names held in addition to the role's."""
    tenant_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The user this member reports to (approvals to "the owner's manager"); None: the
    single member of the role above, if there is exactly one."""


class RefreshToken(Base):
    """A long-lived sign-in for one tenant, exchanged (and rotated) for access tokens."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.users.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token for scripts and integrations: one tenant, one role, stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.tenants.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey(f"{SCHEMA}.users.id", ondelete="CASCADE"), index=True
    )
    """The member the token acts as: records it creates are theirs."""
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(63), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One security-relevant event. A trigger (migration 0002) refuses UPDATE and DELETE."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    tenant: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    """Tenant name (kept after the tenant is deleted); None for platform events."""
    actor: Mapped[str] = mapped_column(String(300))
    """Who: ``user:<email>``, ``token:<id>`` or ``cli:<name>``."""
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    """JSON object with the event's particulars."""


class Heartbeat(Base):
    """The last sign of life of a process kind (``beat``, ``tick``), for /ready and
    metrics: a dead or missing beat shows as an old ``at``."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text, default="{}")
