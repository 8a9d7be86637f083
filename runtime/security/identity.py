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

import secrets

from runtime.security.accounts import (
    API_TOKEN_PREFIX,
    CREDENTIAL_CACHE_SECONDS,
    MIN_PASSWORD_LENGTH,
    TOKEN_USE_AUDIT_SECONDS,
    UNCHANGED,
    AuthError,
    Caller,
    Forbidden,
    IdentityError,
    MemberInfo,
    TokenInfo,
    UserInfo,
    UserNotFound,
    not_member,
)
from runtime.security.api_tokens import ApiTokens
from runtime.security.memberships import Memberships
from runtime.security.sessions import Sessions
from runtime.security.users import Users
from runtime.settings import Settings, SettingsError

__all__ = [
    "API_TOKEN_PREFIX",
    "CREDENTIAL_CACHE_SECONDS",
    "MIN_PASSWORD_LENGTH",
    "MIN_SECRET_BYTES",
    "TOKEN_USE_AUDIT_SECONDS",
    "UNCHANGED",
    "AuthError",
    "Caller",
    "Forbidden",
    "Identity",
    "IdentityError",
    "MemberInfo",
    "TokenInfo",
    "UserInfo",
    "UserNotFound",
    "load_secret",
    "not_member",
]


class Identity(Users, Memberships, Sessions, ApiTokens):
    """Users, memberships and credentials, stored in the control plane (its state and
    constructor are ``IdentityBasis``'s; each part holds one area's operations)."""


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
