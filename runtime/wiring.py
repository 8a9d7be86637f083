"""The composition root: every process (server, worker, beat, CLI) builds its parts here,
from the settings, and nowhere else.

``Platform`` holds one deployment's parts as one process sees them. Parts are built on
first use, so a CLI command that only lists tenants never reads the signing key, and a
process that never serves never listens for invalidation messages.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url

from runtime.coordination.bus import Bus, NullBus, PostgresBus, RedisBus
from runtime.coordination.invalidation import Invalidation
from runtime.coordination.store import GenerationStore, LocalStore, RedisStore
from runtime.settings import Settings, password_hasher
from runtime.storage.backends import Backend, make_backend

if TYPE_CHECKING:
    # Each imported by the part that needs it: a CLI command listing tenants never
    # loads the GraphQL engine, the identity layer or the file stores (issue 17).
    from runtime.graphql.cache import ActiveApis
    from runtime.security.identity import Identity
    from runtime.security.principal import Principal, Principals
    from runtime.security.rate import RateLimiter
    from runtime.storage.files import FileStore
    from runtime.tenants import TenantService

log = logging.getLogger(__name__)


def libpq_url(database_url: str) -> str:
    """Return a SQLAlchemy PostgreSQL URL as psycopg's own connection string."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Platform:
    """One process's view of a deployment."""

    def __init__(self, settings: Settings, *, service: TenantService | None = None) -> None:
        self.settings = settings.check()
        self._service = service

    @functools.cached_property
    def backend(self) -> Backend:
        if self._service is not None:
            return self._service.backend
        backend = make_backend(self.settings)
        backend.prepare()
        return backend

    @functools.cached_property
    def service(self) -> TenantService:
        from runtime.tenants import TenantService

        service = self._service or TenantService(self.backend)
        invalidation = self.invalidation
        service.listeners.append(lambda tenant: invalidation.changed("metadata", tenant))
        return service

    @functools.cached_property
    def store(self) -> GenerationStore:
        return RedisStore(self.settings.redis_url) if self.settings.redis_url else LocalStore()

    @functools.cached_property
    def bus(self) -> Bus:
        """LISTEN/NOTIFY on PostgreSQL, else Redis pub/sub if configured, else none."""
        from runtime.sql.dialect import dialect_for

        if dialect_for(self.backend.dialect, None).listen_notify:
            return PostgresBus(libpq_url(self.settings.database_url), self.backend.control)
        if self.settings.redis_url:
            return RedisBus(self.settings.redis_url)
        return NullBus()

    @functools.cached_property
    def invalidation(self) -> Invalidation:
        return Invalidation(self.store, self.bus)

    @functools.cached_property
    def identity(self) -> Identity:
        from runtime.security.identity import Identity, load_secret

        return Identity(
            self.backend,
            load_secret(self.settings),
            invalidation=self.invalidation,
            hasher=password_hasher(self.settings),
        )

    @functools.cached_property
    def apis(self) -> ActiveApis:
        from runtime.graphql.cache import ActiveApis, SchemaCache

        self.service  # noqa: B018  (wires the service's applies to invalidation)
        return ActiveApis(
            self.service,
            SchemaCache(limits=self.settings.limits),
            recheck=self.settings.invalidation_poll,
            invalidation=self.invalidation,
        )

    @functools.cached_property
    def principals(self) -> Principals:
        from runtime.security.principal import Principals

        return Principals(
            self.service,
            self.identity,
            invalidation=self.invalidation,
            models=self.apis.models,
        )

    def member_principal(self, tenant: str, user_id: Any) -> Principal | None:
        """A member's principal in ``tenant`` as their requests get it, or None if they
        are not an active member (workflows that run as the person who started them)."""
        from runtime.security.accounts import Caller
        from runtime.security.principal import Forbidden

        member = next(
            (m for m in self.identity.members(tenant) if str(m.user.id) == str(user_id)), None
        )
        if member is None:
            return None
        user = member.user
        caller = Caller(user_id=user.id, email=user.email, platform_admin=False, tenant=tenant)
        try:
            return self.principals.resolve(caller, tenant)
        except Forbidden:
            return None

    @functools.cached_property
    def files(self) -> FileStore:
        """Where attachments' bytes are kept: a folder (runtime/storage/files.py) or an
        S3-compatible bucket (runtime/storage/s3_files.py)."""
        from runtime.storage.files import LocalFiles

        settings = self.settings
        if settings.files_s3_bucket:
            from runtime.storage.s3_files import S3Files  # boto3 is optional

            return S3Files.connect(
                settings.files_s3_bucket,
                endpoint=settings.files_s3_endpoint,
                region=settings.files_s3_region,
            )
        return LocalFiles(settings.effective_files_dir)

    @functools.cached_property
    def limiter(self) -> RateLimiter:
        from runtime.security.rate import RateLimiter

        return RateLimiter(self.settings.rate_per_minute, storage_url=self.settings.redis_url)

    def listen(self) -> None:
        """Start hearing other processes' changes (servers and workers)."""
        self.invalidation.start()

    def close(self) -> None:
        self.invalidation.stop()
        self.backend.dispose()

    def describe_location(self) -> str:
        """Say where the data is, for people (no password)."""
        return self.backend.location()

    def describe(self) -> dict[str, Any]:
        """What this process is wired to, for logs and /ready (no secrets)."""
        return {
            "database": self.backend.dialect,
            "shared_state": "redis" if self.settings.redis_url else "process",
            "invalidation": type(self.bus).__name__,
        }
