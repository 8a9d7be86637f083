"""Signing in and out: access JWTs and rotated refresh tokens.

One part of ``Identity`` (``runtime/security/identity.py``), which composes them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import jwt
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update

from metadata.registry.models import utcnow
from metadata.registry.store import Registry, TenantInfo
from runtime.security import audit
from runtime.security.accounts import (
    AuthError,
    UserInfo,
    _aware,
    _hash,
    _members,
    _refresh,
    _tenants,
    _users,
)
from runtime.security.identity_basis import IdentityBasis


class Sessions(IdentityBasis):
    """Signing in and out (one part of Identity)."""

    # -- sign-in -------------------------------------------------------------------------

    def login(self, email: str, password: str, tenant: str | None) -> dict[str, Any]:
        """Check the password and return access and refresh tokens for ``tenant``.

        ``tenant`` None signs a platform admin in to the platform (tenant management).
        Every wrong e-mail, password or tenant gets the same answer, and is audited.
        """
        email = (email or "").strip().lower()
        with self.backend.begin_control() as conn:
            row = conn.execute(select(_users).where(_users.c.email == email)).first()
            ok = self._verify(row.password_hash if row else None, password)
            info = Registry(conn).find_tenant(tenant) if tenant else None
            allowed = bool(ok and row.active)
            if allowed and tenant is not None:
                allowed = info is not None and (
                    row.platform_admin or self._is_member(conn, info, row.id)
                )
            elif allowed:
                allowed = row.platform_admin
            if not allowed:
                audit.write(
                    conn, tenant=tenant, actor=f"user:{email}", kind="login_failed", email=email
                )
        if not allowed:
            raise AuthError("the e-mail, password or tenant is not right")
        with self.backend.begin_control() as conn:
            audit.write(conn, tenant=tenant, actor=f"user:{email}", kind="login")
            if row.password_hash and self._hasher.check_needs_rehash(row.password_hash):
                conn.execute(
                    update(_users)
                    .where(_users.c.id == row.id)
                    .values(password_hash=self._hasher.hash(password))
                )
            return self._issue(conn, self._user_info(row), info)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy_hash, password or "") and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _is_member(conn: Connection, tenant: TenantInfo, user_id: uuid.UUID) -> bool:
        return (
            conn.execute(
                select(_members.c.id).where(
                    _members.c.tenant_id == tenant.id, _members.c.user_id == user_id
                )
            ).first()
            is not None
        )

    def _issue(self, conn: Connection, user: UserInfo, tenant: TenantInfo | None) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "sub": str(user.id),
            "email": user.email,
            "adm": user.platform_admin,
            "tnt": tenant.name if tenant else None,
            "iat": now,
            "exp": now + self.access_ttl,
            "typ": "access",
            "jti": secrets.token_hex(8),
        }
        out: dict[str, Any] = {
            "access_token": jwt.encode(claims, self.secret, algorithm="HS256"),
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl.total_seconds()),
            "tenant": tenant.name if tenant else None,
        }
        if tenant is not None:
            refresh = "tsr_" + secrets.token_urlsafe(32)
            conn.execute(
                insert(_refresh).values(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    tenant_id=tenant.id,
                    token_hash=_hash(refresh),
                    created_at=now,
                    expires_at=now + self.refresh_ttl,
                    revoked_at=None,
                )
            )
            out["refresh_token"] = refresh
        return out

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token for new access and refresh tokens (rotation)."""
        now = dt.datetime.now(dt.UTC)
        with self.backend.begin_control() as conn:
            row = conn.execute(
                select(_refresh).where(_refresh.c.token_hash == _hash(refresh_token or ""))
            ).first()
            if row is None:
                raise AuthError("the refresh token is not valid")
            if row.revoked_at is not None:
                # A rotated token came back: someone holds a copy. End every session.
                conn.execute(
                    update(_refresh)
                    .where(
                        _refresh.c.user_id == row.user_id,
                        _refresh.c.tenant_id == row.tenant_id,
                        _refresh.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=now)
                )
                reuse = True
            else:
                reuse = False
        if reuse:
            raise AuthError("the refresh token was already used; sign in again")
        with self.backend.begin_control() as conn:
            taken = conn.execute(
                update(_refresh)
                .where(_refresh.c.id == row.id, _refresh.c.revoked_at.is_(None))
                .values(revoked_at=now)
            ).rowcount
            user = conn.execute(select(_users).where(_users.c.id == row.user_id)).first()
            tenant = conn.execute(select(_tenants).where(_tenants.c.id == row.tenant_id)).first()
            if (
                not taken
                or _aware(row.expires_at) < now  # type: ignore[operator]
                or user is None
                or not user.active
                or tenant is None
            ):
                raise AuthError("the refresh token has expired or was revoked; sign in again")
            info = Registry(conn).get_tenant(tenant.name)
            if not (user.platform_admin or self._is_member(conn, info, user.id)):
                raise AuthError(f"{user.email} is no longer a member of tenant {tenant.name!r}")
            audit.write(
                conn, tenant=tenant.name, actor=f"user:{user.email}", kind="token_refreshed"
            )
            return self._issue(conn, self._user_info(user), info)

    def logout(self, refresh_token: str) -> None:
        with self.backend.begin_control() as conn:
            conn.execute(
                update(_refresh)
                .where(
                    _refresh.c.token_hash == _hash(refresh_token or ""),
                    _refresh.c.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
