"""Platform users: creating them, their passwords, and whether they are active.

One part of ``Identity`` (``runtime/security/identity.py``), which composes them.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update

from metadata.registry.models import utcnow
from runtime.security import audit
from runtime.security.accounts import (
    _EMAIL,
    MIN_PASSWORD_LENGTH,
    AuthError,
    IdentityError,
    UserInfo,
    UserNotFound,
    _refresh,
    _users,
    not_member,
)
from runtime.security.identity_basis import IdentityBasis


class Users(IdentityBasis):
    """Platform users (one part of Identity)."""

    # -- users ---------------------------------------------------------------------------

    def create_user(
        self,
        email: str,
        password: str | None,
        *,
        display_name: str | None = None,
        platform_admin: bool = False,
        actor: str = "cli",
    ) -> UserInfo:
        """Create a user; ``password`` None makes one who can act only through tokens."""
        email = self._check_email(email)
        if display_name is not None and len(display_name) > 200:
            raise IdentityError(
                f"the display name is {len(display_name)} characters long; the limit is 200"
            )
        if password is not None:
            self._check_password(password)
        with self.backend.begin_control() as conn:
            if conn.execute(select(_users.c.id).where(_users.c.email == email)).first():
                raise IdentityError(f"a user with e-mail {email!r} already exists")
            user_id = uuid.uuid4()
            conn.execute(
                insert(_users).values(
                    id=user_id,
                    email=email,
                    display_name=display_name or email.split("@")[0],
                    password_hash=self._hasher.hash(password) if password else None,
                    platform_admin=platform_admin,
                    active=True,
                    created_at=utcnow(),
                )
            )
            audit.write(
                conn,
                tenant=None,
                actor=actor,
                kind="user_created",
                email=email,
                platform_admin=platform_admin,
            )
            return self._user(conn, email)

    def set_password(self, email: str, password: str, *, actor: str = "cli") -> None:
        self._check_password(password)
        with self.backend.begin_control() as conn:
            user = self._user(conn, email)
            conn.execute(
                update(_users)
                .where(_users.c.id == user.id)
                .values(password_hash=self._hasher.hash(password))
            )
            # A new password ends every session.
            conn.execute(
                update(_refresh)
                .where(_refresh.c.user_id == user.id, _refresh.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            audit.write(
                conn,
                tenant=None,
                actor=actor,
                kind="user_changed",
                email=user.email,
                change="password",
            )

    def change_password(self, user_id: uuid.UUID, current: str, new: str) -> None:
        """Change a user's own password, proving the current one (ends every session)."""
        with self.backend.connect_control() as conn:
            row = conn.execute(select(_users).where(_users.c.id == user_id)).first()
        if row is None or not self._verify(row.password_hash, current):
            raise AuthError("the current password is not right")
        self.set_password(row.email, new, actor=f"user:{row.email}")

    def set_active(self, email: str, active: bool, *, actor: str = "cli") -> UserInfo:
        with self.backend.begin_control() as conn:
            user = self._user(conn, email)
            conn.execute(update(_users).where(_users.c.id == user.id).values(active=active))
            audit.write(
                conn,
                tenant=None,
                actor=actor,
                kind="user_changed",
                email=user.email,
                change="activated" if active else "deactivated",
            )
            tenants = self._tenants_of(conn, user.id)
        self._forget_tokens()
        for tenant in tenants:
            self._changed(tenant)
        return UserInfo(user.id, user.email, user.display_name, user.platform_admin, active)

    def users(self) -> list[UserInfo]:
        with self.backend.connect_control() as conn:
            rows = conn.execute(select(_users).order_by(_users.c.email))
            return [self._user_info(r) for r in rows]

    def user(self, email: str) -> UserInfo:
        with self.backend.connect_control() as conn:
            return self._user(conn, email)

    def _tenant_user(self, conn: Connection, email: str, tenant: str) -> UserInfo:
        """Return the user ``email`` names for an action inside ``tenant``; an unknown
        e-mail gets the same answer as a user of another tenant, so a tenant admin cannot
        learn who else uses the platform."""
        try:
            return self._user(conn, email)
        except UserNotFound:
            raise not_member(email.strip().lower(), tenant) from None

    def _user(self, conn: Connection, email: str) -> UserInfo:
        row = conn.execute(select(_users).where(_users.c.email == email.strip().lower())).first()
        if row is None:
            raise UserNotFound(f"no user has e-mail {email!r}")
        return self._user_info(row)

    @staticmethod
    def _user_info(row: Any) -> UserInfo:
        return UserInfo(row.id, row.email, row.display_name, row.platform_admin, row.active)

    @staticmethod
    def _check_email(email: str) -> str:
        email = (email or "").strip().lower()
        if not _EMAIL.match(email):
            raise IdentityError(f"{email!r} is not an e-mail address such as li.lei@example.com")
        return email

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise IdentityError(
                f"the password is {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}"
            )
