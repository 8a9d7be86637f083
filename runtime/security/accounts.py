"""What identities are made of: users, members and API tokens as values, the errors
of identity operations, and the control-plane tables they live in."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from metadata.registry.models import ApiToken, Membership, RefreshToken, Tenant, User
from metadata.registry.store import RegistryError

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
    expires: float | None = None
    """When the credential stops being valid (seconds since the epoch; None: never)."""

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
