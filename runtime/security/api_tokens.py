"""API tokens, and authenticating whatever credential a request carries.

One part of ``Identity`` (``runtime/security/identity.py``), which composes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid

import jwt
from sqlalchemy import insert, select, update

from metadata.registry.models import utcnow
from metadata.registry.store import Registry
from runtime.coordination.invalidation import Generations
from runtime.security import audit
from runtime.security.accounts import (
    API_TOKEN_PREFIX,
    CREDENTIAL_CACHE_SECONDS,
    TOKEN_USE_AUDIT_SECONDS,
    AuthError,
    Caller,
    IdentityError,
    TokenInfo,
    UserNotFound,
    _aware,
    _hash,
    _members,
    _tenants,
    _tokens,
    _users,
    not_member,
)
from runtime.security.identity_basis import IdentityBasis


class ApiTokens(IdentityBasis):
    """API tokens (one part of Identity)."""

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
            expires=float(claims["exp"]),
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
        expires = _aware(row.expires_at)
        if expires is not None:
            caller = dataclasses.replace(caller, expires=expires.timestamp())
        return caller, expires
