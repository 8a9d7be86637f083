"""What every part of ``Identity`` shares: its store, secret, hasher, caches and the
invalidation that keeps other processes' caches honest. ``Identity``
(``runtime/security/identity.py``) composes the parts built on it."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
import uuid
from collections.abc import Callable

from argon2 import PasswordHasher

from runtime.coordination.invalidation import Invalidation
from runtime.security.accounts import Caller
from runtime.storage.backends import Backend


class IdentityBasis:
    """The state of an Identity, and how it hears and tells of changes."""

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
