"""Users, memberships and credentials: passwords, JWT access tokens, refresh and API tokens.

- Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's second
  recommended profile).
- Signing in to a tenant returns a short-lived access token (a JWT signed with the
  platform secret, HS256) and a refresh token. Refresh tokens are random, stored as
  SHA-256 hashes and rotated on every use; presenting a rotated one again revokes the
  whole family of that user's refresh tokens for the tenant (a stolen copy was used).
- API tokens (``tsk_...``) belong to one tenant and act as one member with one role.
  Only their SHA-256 hash is stored: they are 256-bit random, so a slow hash adds nothing.

Every sign-in, failed sign-in, token creation, revocation and (once a minute per token)
token use is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, insert, select, update

from metadata.registry.models import ApiToken, Membership, RefreshToken, Tenant, User, utcnow
from metadata.registry.store import Registry, RegistryError, TenantInfo
from runtime.coordination.invalidation import Generations, Invalidation
from runtime.security import audit
from runtime.settings import Settings, SettingsError
from runtime.storage.backends import Backend

_users = User.__table__
_members = Membership.__table__
_refresh = RefreshToken.__table__
_tokens = ApiToken.__table__
_tenants = Tenant.__table__

API_TOKEN_PREFIX = "tsk_"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
MIN_PASSWORD_LENGTH = 10
#: How often one API token's use is written to the audit log (per process).
TOKEN_USE_AUDIT_SECONDS = 60.0
#: How long a process trusts what it read about a user or API token (active, platform
#: admin, revoked). The process that makes a change forgets at once; others within this.
CREDENTIAL_CACHE_SECONDS = 10.0


class AuthError(RegistryError):
    """Missing, wrong or expired credentials."""

    status, code = 401, "unauthenticated"


class Forbidden(RegistryError):
    """Known caller, but not allowed to do this."""

    status, code = 403, "forbidden"


class IdentityError(RegistryError):
    """A request about users or tokens that cannot be done as asked."""

    status, code = 422, "invalid_identity"


def not_member(email: str, tenant: str) -> UserNotFound:
    """The one answer for an e-mail that is not a member: known to the platform or not."""
    return UserNotFound(f"{email} is not a member of tenant {tenant!r}")


class UserNotFound(RegistryError):
    status, code = 404, "user_not_found"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class UserInfo:
    id: uuid.UUID
    email: str
    display_name: str
    platform_admin: bool
    active: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "email": self.email,
            "display_name": self.display_name,
            "platform_admin": self.platform_admin,
            "active": self.active,
        }


@dataclass(frozen=True)
class MemberInfo:
    tenant: str
    user: UserInfo
    role: str | None
    permission_sets: tuple[str, ...]
    tenant_admin: bool
    manager_id: uuid.UUID | None = None
    """Who this member reports to (approvals to "the owner's manager")."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "user": self.user.to_dict(),
            "role": self.role,
            "permission_sets": list(self.permission_sets),
            "tenant_admin": self.tenant_admin,
            "manager_id": str(self.manager_id) if self.manager_id else None,
        }


@dataclass(frozen=True)
class TokenInfo:
    id: uuid.UUID
    tenant: str
    email: str
    name: str
    role: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return _aware(v).isoformat() if v else None  # type: ignore[union-attr]

        return {
            "id": str(self.id),
            "tenant": self.tenant,
            "user": self.email,
            "name": self.name,
            "role": self.role,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "last_used_at": iso(self.last_used_at),
        }


@dataclass(frozen=True)
class Caller:
    """An authenticated request's credentials, before any tenant permissions apply."""

    user_id: uuid.UUID
    email: str
    platform_admin: bool
    tenant: str | None
    """The tenant the credential was issued for; None for a platform sign-in."""
    token_id: uuid.UUID | None = None
    token_role: str | None = None
    """An API token acts with this role instead of the member's own."""

    @property
    def actor(self) -> str:
        """Return how the audit log names this caller."""
        return f"token:{self.token_id}" if self.token_id else f"user:{self.email}"

    @property
    def rate_key(self) -> str:
        """Return the key request rates are counted under: the token or the user."""
        return f"token:{self.token_id}" if self.token_id else f"user:{self.user_id}"


#: ``set_membership(manager=...)`` left out: keep the member's manager as it is.
UNCHANGED: Any = object()


class Identity:
    """Users, memberships and credentials, stored in the control plane."""

    def __init__(
        self,
        backend: Backend,
        secret: bytes,
        *,
        access_ttl: dt.timedelta = dt.timedelta(minutes=15),
        refresh_ttl: dt.timedelta = dt.timedelta(days=30),
        clock: Callable[[], float] = time.monotonic,
        invalidation: Invalidation | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.backend = backend
        self.secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        # Entries carry the credentials generation they were read under (see
        # runtime/coordination): a revocation anywhere makes them stale everywhere.
        self._token_cache: dict[str, tuple[float, Caller | None, dt.datetime | None, int]] = {}
        self._user_cache: dict[uuid.UUID, tuple[float, bool, bool, int]] = {}
        self._audited_use: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()
        self.invalidation = invalidation or Invalidation()
        """Told when memberships or credentials change; tells the other processes."""
        self.invalidation.subscribe(self._heard)
        # A constant-time answer for unknown e-mails: verify against a real hash anyway.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def _changed(self, tenant: str) -> None:
        self.invalidation.changed("members", tenant)

    def _heard(self, kind: str, tenant: str | None) -> None:
        if kind in ("credentials", "all"):
            with self._lock:
                self._token_cache.clear()
                self._user_cache.clear()

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

    # -- memberships ---------------------------------------------------------------------

    def set_membership(
        self,
        tenant: str,
        email: str,
        *,
        role: str | None = None,
        permission_sets: list[str] | None = None,
        tenant_admin: bool = False,
        actor: str = "cli",
        known_roles: set[str] | None = None,
        known_sets: set[str] | None = None,
        manager: Any = UNCHANGED,
    ) -> MemberInfo:
        """Add ``email`` to ``tenant`` or change their role, sets and admin flag.

        ``known_roles``/``known_sets`` (from the tenant's active metadata) make a wrong
        name an error instead of a membership that grants nothing. ``manager`` is the
        e-mail of the member they report to (None: nobody; left out: unchanged).
        """
        sets = sorted(set(permission_sets or ()))
        if known_roles is not None and role is not None and role not in known_roles:
            raise IdentityError(
                f"tenant {tenant!r} has no role {role!r}; roles: "
                + (", ".join(sorted(known_roles)) or "none yet")
            )
        unknown = [s for s in sets if known_sets is not None and s not in known_sets]
        if unknown:
            raise IdentityError(
                f"tenant {tenant!r} has no permission set {', '.join(map(repr, unknown))}; "
                "sets: " + (", ".join(sorted(known_sets or ())) or "none yet")
            )
        with self.backend.begin_control() as conn:
            info = Registry(conn).get_tenant(tenant)
            user = self._member_to_be(conn, email, actor)
            values: dict[str, Any] = {
                "role": role,
                "permission_sets": json.dumps(sets),
                "tenant_admin": tenant_admin,
            }
            if manager is not UNCHANGED:
                values["manager_id"] = self._manager_id(conn, info, user, manager)
            existing = conn.execute(
                select(_members.c.id, _members.c.manager_id).where(
                    _members.c.tenant_id == info.id, _members.c.user_id == user.id
                )
            ).first()
            if existing:
                conn.execute(update(_members).where(_members.c.id == existing.id).values(**values))
            else:
                conn.execute(
                    insert(_members).values(
                        id=uuid.uuid4(),
                        tenant_id=info.id,
                        user_id=user.id,
                        created_at=utcnow(),
                        **values,
                    )
                )
            audit.write(
                conn,
                tenant=tenant,
                actor=actor,
                kind="membership_changed",
                email=user.email,
                role=role,
                permission_sets=sets,
                tenant_admin=tenant_admin,
                **({"manager": manager} if manager is not UNCHANGED else {}),
            )
        self._changed(tenant)
        manager_id = values.get("manager_id", existing.manager_id if existing else None)
        return MemberInfo(tenant, user, role, tuple(sets), tenant_admin, manager_id)

    def _member_to_be(self, conn: Connection, email: str, actor: str) -> UserInfo:
        """Return the user ``email`` names, inviting them when there is none: a user
        without a password (they act through API tokens until an admin sets one).

        Adding a member therefore answers the same whether or not the address was known
        to the platform: a tenant admin cannot use it to find out who else has an account.
        """
        try:
            return self._user(conn, email)
        except UserNotFound:
            pass
        email = self._check_email(email)
        conn.execute(
            insert(_users).values(
                id=uuid.uuid4(),
                email=email,
                display_name=email.split("@")[0],
                password_hash=None,
                platform_admin=False,
                active=True,
                created_at=utcnow(),
            )
        )
        audit.write(conn, tenant=None, actor=actor, kind="user_created", email=email, invited=True)
        return self._user(conn, email)

    def _manager_id(
        self, conn: Connection, info: TenantInfo, user: UserInfo, manager: str | None
    ) -> uuid.UUID | None:
        if manager is None:
            return None
        boss = self._tenant_user(conn, manager, info.name)
        if boss.id == user.id:
            raise IdentityError(f"{user.email} cannot be their own manager")
        member = conn.execute(
            select(_members.c.id).where(
                _members.c.tenant_id == info.id, _members.c.user_id == boss.id
            )
        ).first()
        if member is None:
            raise not_member(boss.email, info.name)
        return boss.id

    def remove_membership(self, tenant: str, email: str, *, actor: str = "cli") -> None:
        with self.backend.begin_control() as conn:
            info = Registry(conn).get_tenant(tenant)
            user = self._tenant_user(conn, email, tenant)
            gone = conn.execute(
                delete(_members).where(
                    _members.c.tenant_id == info.id, _members.c.user_id == user.id
                )
            ).rowcount
            if not gone:
                raise not_member(user.email, tenant)
            for table in (_refresh, _tokens):
                conn.execute(
                    update(table)
                    .where(
                        table.c.tenant_id == info.id,
                        table.c.user_id == user.id,
                        table.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=utcnow())
                )
            audit.write(
                conn, tenant=tenant, actor=actor, kind="membership_removed", email=user.email
            )
        self._forget_tokens()
        self._changed(tenant)

    def members(self, tenant: str) -> list[MemberInfo]:
        """Return the tenant's members, by e-mail."""
        with self.backend.connect_control() as conn:
            info = Registry(conn).get_tenant(tenant)
            rows = conn.execute(
                select(_members, _users)
                .join(_users, _users.c.id == _members.c.user_id)
                .where(_members.c.tenant_id == info.id)
                .order_by(_users.c.email)
            )
            return [self._member(tenant, r) for r in rows]

    def membership(self, tenant: str, user_id: uuid.UUID) -> MemberInfo | None:
        with self.backend.connect_control() as conn:
            info = Registry(conn).find_tenant(tenant)
            if info is None:
                return None
            row = conn.execute(
                select(_members, _users)
                .join(_users, _users.c.id == _members.c.user_id)
                .where(_members.c.tenant_id == info.id, _members.c.user_id == user_id)
            ).first()
            return self._member(tenant, row) if row else None

    def _member(self, tenant: str, row: Any) -> MemberInfo:
        user = UserInfo(row.user_id, row.email, row.display_name, row.platform_admin, row.active)
        return MemberInfo(
            tenant,
            user,
            row.role,
            tuple(json.loads(row.permission_sets)),
            row.tenant_admin,
            row.manager_id,
        )

    def _tenants_of(self, conn: Connection, user_id: uuid.UUID) -> list[str]:
        rows = conn.execute(
            select(_tenants.c.name)
            .join(_members, _members.c.tenant_id == _tenants.c.id)
            .where(_members.c.user_id == user_id)
        )
        return [r.name for r in rows]

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

    # -- API tokens ----------------------------------------------------------------------

    def create_token(
        self,
        tenant: str,
        email: str,
        *,
        name: str,
        role: str | None = None,
        expires_in_days: int | None = None,
        actor: str = "cli",
        known_roles: set[str] | None = None,
    ) -> tuple[TokenInfo, str]:
        """Create an API token acting as member ``email`` with ``role``; return it and its
        secret, which is shown this once and never stored."""
        if known_roles is not None and role is not None and role not in known_roles:
            raise IdentityError(
                f"tenant {tenant!r} has no role {role!r}; roles: "
                + (", ".join(sorted(known_roles)) or "none yet")
            )
        if expires_in_days is not None and not 1 <= expires_in_days <= 36_500:
            raise IdentityError("expires_in_days must be between 1 and 36,500 (100 years)")
        if not name or len(name) > 200:
            raise IdentityError("a token's name must be 1 to 200 characters long")
        secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        with self.backend.begin_control() as conn:
            info = Registry(conn).get_tenant(tenant)
            user = self._tenant_user(conn, email, tenant)
            membership = conn.execute(
                select(_members.c.role).where(
                    _members.c.tenant_id == info.id, _members.c.user_id == user.id
                )
            ).first()
            if membership is None:
                raise not_member(user.email, tenant)
            # Bound now: a later change of the member's role does not widen the token.
            role = role or membership.role
            token_id = uuid.uuid4()
            expires = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
            conn.execute(
                insert(_tokens).values(
                    id=token_id,
                    tenant_id=info.id,
                    user_id=user.id,
                    name=name,
                    role=role,
                    token_hash=_hash(secret),
                    created_at=now,
                    expires_at=expires,
                    revoked_at=None,
                    last_used_at=None,
                )
            )
            audit.write(
                conn,
                tenant=tenant,
                actor=actor,
                kind="token_created",
                token=str(token_id),
                name=name,
                user=user.email,
                role=role,
            )
        token = TokenInfo(token_id, tenant, user.email, name, role, now, expires, None, None)
        return token, secret

    def revoke_token(self, token_id: str, *, tenant: str | None = None, actor: str = "cli") -> None:
        try:
            key = uuid.UUID(token_id)
        except ValueError:
            raise IdentityError(f"{token_id!r} is not a token id (a UUID)") from None
        with self.backend.begin_control() as conn:
            query = (
                select(_tokens.c.id, _tenants.c.name)
                .join(_tenants, _tenants.c.id == _tokens.c.tenant_id)
                .where(_tokens.c.id == key)
            )
            row = conn.execute(query).first()
            if row is None or (tenant is not None and row.name != tenant):
                raise UserNotFound(f"no API token has id {token_id}")
            conn.execute(
                update(_tokens)
                .where(_tokens.c.id == key, _tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            audit.write(conn, tenant=row.name, actor=actor, kind="token_revoked", token=token_id)
        self._forget_tokens()

    def tokens(self, tenant: str) -> list[TokenInfo]:
        with self.backend.connect_control() as conn:
            info = Registry(conn).get_tenant(tenant)
            rows = conn.execute(
                select(_tokens, _users.c.email)
                .join(_users, _users.c.id == _tokens.c.user_id)
                .where(_tokens.c.tenant_id == info.id)
                .order_by(_tokens.c.created_at)
            )
            return [
                TokenInfo(
                    r.id,
                    tenant,
                    r.email,
                    r.name,
                    r.role,
                    r.created_at,
                    r.expires_at,
                    r.revoked_at,
                    r.last_used_at,
                )
                for r in rows
            ]

    def _forget_tokens(self) -> None:
        """Make every cached credential stale, in this process and the others."""
        self.invalidation.changed("credentials")

    # -- authentication ------------------------------------------------------------------

    def authenticate(
        self, authorization: str | None, generations: Generations | None = None
    ) -> Caller:
        """Return the caller an ``Authorization: Bearer ...`` header names, or raise.

        ``generations``: the request's, if read already (one shared-store round trip
        per request)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("sign in first: send Authorization: Bearer <token>")
        current = (generations or self.invalidation.generations(None)).credentials
        credential = authorization[len("Bearer ") :].strip()
        if credential.startswith(API_TOKEN_PREFIX):
            return self._api_token(credential, current)
        try:
            claims = jwt.decode(
                credential,
                self.secret,
                algorithms=["HS256"],
                options={"require": ["exp", "iat", "sub", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the access token has expired; refresh it") from None
        except jwt.PyJWTError:
            raise AuthError("the access token is not valid") from None
        if claims.get("typ") != "access":
            raise AuthError("the access token is not valid")
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError:
            raise AuthError("the access token is not valid") from None
        # The token says who signed in; whether they still may, and as what, is read from
        # the users table (cached briefly), so deactivating a user or taking away platform
        # admin does not wait for their access tokens to expire.
        active, platform_admin = self._user_state(user_id, current)
        if not active:
            raise AuthError("this user is deactivated")
        return Caller(
            user_id=user_id,
            email=claims.get("email", ""),
            platform_admin=platform_admin,
            tenant=claims.get("tnt"),
        )

    def _user_state(self, user_id: uuid.UUID, generation: int) -> tuple[bool, bool]:
        """Return (active, platform admin) for ``user_id``; (False, False) if it is gone."""
        now = self._clock()
        with self._lock:
            hit = self._user_cache.get(user_id)
        if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS or hit[3] != generation:
            with self.backend.connect_control() as conn:
                row = conn.execute(
                    select(_users.c.active, _users.c.platform_admin).where(_users.c.id == user_id)
                ).first()
            hit = (now, bool(row and row.active), bool(row and row.platform_admin), generation)
            with self._lock:
                self._user_cache[user_id] = hit
        return hit[1], hit[2]

    def _api_token(self, secret: str, generation: int) -> Caller:
        digest = _hash(secret)
        now = self._clock()
        with self._lock:
            hit = self._token_cache.get(digest)
        if hit is None or now - hit[0] > CREDENTIAL_CACHE_SECONDS or hit[3] != generation:
            hit = (now, *self._lookup_token(digest), generation)
            with self._lock:
                self._token_cache[digest] = hit
        _, caller, expires, _ = hit
        if caller is None:
            raise AuthError("the API token is not valid or was revoked")
        if expires is not None and expires < dt.datetime.now(dt.UTC):
            raise AuthError("the API token has expired")
        assert caller.token_id is not None
        with self._lock:
            due = now - self._audited_use.get(caller.token_id, -1e18) >= TOKEN_USE_AUDIT_SECONDS
            if due:
                self._audited_use[caller.token_id] = now
        if due:
            with self.backend.begin_control() as conn:
                conn.execute(
                    update(_tokens)
                    .where(_tokens.c.id == caller.token_id)
                    .values(last_used_at=utcnow())
                )
                audit.write(conn, tenant=caller.tenant, actor=caller.actor, kind="token_used")
        return caller

    def _lookup_token(self, digest: str) -> tuple[Caller | None, dt.datetime | None]:
        with self.backend.connect_control() as conn:
            row = conn.execute(
                select(_tokens, _users.c.email, _users.c.active, _tenants.c.name.label("tenant"))
                .join(_users, _users.c.id == _tokens.c.user_id)
                .join(_tenants, _tenants.c.id == _tokens.c.tenant_id)
                .where(_tokens.c.token_hash == digest)
            ).first()
        if row is None or row.revoked_at is not None or not row.active:
            return None, None
        caller = Caller(
            user_id=row.user_id,
            email=row.email,
            platform_admin=False,  # a token never carries platform rights
            tenant=row.tenant,
            token_id=row.id,
            token_role=row.role,
        )
        return caller, _aware(row.expires_at)


#: RFC 7518 section 3.2: an HS256 key is at least as long as the hash (32 bytes).
MIN_SECRET_BYTES = 32


def load_secret(settings: Settings) -> bytes:
    """Return the signing secret: the configured one, else one kept in the data folder.

    Several processes must share one secret: set ``TESSERA_SECRET_KEY`` for them
    (production refuses to start without it, see ``Settings.check``).
    """
    if settings.secret_key:
        key = settings.secret_key.encode()
        if len(key) < MIN_SECRET_BYTES:
            # HS256 with a short key can be brute-forced offline from any one token.
            raise SettingsError(
                f"TESSERA_SECRET_KEY is {len(key)} bytes; use at least {MIN_SECRET_BYTES} "
                "random bytes (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return key
    path = settings.writable_data_dir() / "secret.key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
