"""A caller resolved against one tenant: grants, role subtree and the sharing that reaches them.

Resolving needs the tenant's active permission metadata and its memberships, so
``Principals`` caches each tenant's directory (members and their roles) and each
resolved principal. An entry is dropped when the tenant's metadata or memberships
change: at once in the process that changed them, by an invalidation message in the
others, and, with a shared generation store (Redis), at any process's next look-up.
Without either, another process learns of a change within ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from metadata.model import Model
from metadata.security import SharingRule
from metadata.snapshot import Snapshot
from runtime.coordination.invalidation import Generations, Invalidation
from runtime.security.grants import FULL, Grants, effective, sets_of
from runtime.security.identity import Caller, Forbidden, Identity, MemberInfo


@dataclass(frozen=True)
class Principal:
    """Who a GraphQL request runs as, in one tenant."""

    tenant: str
    user_id: uuid.UUID | None
    """None only for the platform itself (CLI, demo loader)."""
    actor: str
    grants: Grants
    role: str | None = None
    team: tuple[uuid.UUID, ...] = ()
    """Members whose role is in this principal's role subtree, the principal included."""
    rules: Mapping[str, tuple[SharingRule, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Sharing rules that reach this principal, by object."""
    members: frozenset[uuid.UUID] = frozenset()
    """Every member of the tenant (ownership can only go to one of them)."""
    rate_key: str = ""
    tenant_admin: bool = False

    @classmethod
    def system(cls, tenant: str, actor: str = "platform") -> Principal:
        """Return the platform acting on its own behalf: full access, no owner."""
        return cls(tenant=tenant, user_id=None, actor=actor, grants=FULL, tenant_admin=True)


@dataclass(frozen=True)
class _Directory:
    model: Model
    members: Mapping[uuid.UUID, MemberInfo]


class ActiveMetadata(Protocol):
    """Where principals read a tenant's active metadata (``runtime.tenants.TenantService``,
    a layer above security, passed in by the composition root)."""

    listeners: list[Callable[[str], None]]

    def active(self, name: str) -> tuple[Any, Snapshot]: ...


class ActiveSnapshots(Protocol):
    """Each tenant's active snapshot, kept until its metadata changes and shared by
    content hash (``runtime.model.active.ActiveModels``)."""

    def get(self, tenant: str, generation: int | None = None) -> tuple[Snapshot, str]: ...


#: Seconds a directory or principal is kept while invalidation messages arrive.
PUSHED_TTL = 300.0


class Principals:
    """Resolve callers to principals, with a per-tenant cache.

    With ``models`` (the process's active models), a tenant's permission model is the
    snapshot already kept for its requests, not a fresh read and parse of the registry
    every ``ttl`` seconds; members are re-read every ``ttl``. One thread loads a
    tenant's directory at a time: the others wait for it instead of loading it too.
    """

    def __init__(
        self,
        service: ActiveMetadata,
        identity: Identity,
        *,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        invalidation: Invalidation | None = None,
        models: ActiveSnapshots | None = None,
    ) -> None:
        self.service = service
        self.identity = identity
        self.ttl = ttl
        self.models = models
        self._clock = clock
        self._loading: dict[str, threading.Lock] = {}
        self._directories: dict[str, tuple[float, _Directory, int]] = {}
        self._principals: dict[
            tuple[str, uuid.UUID, str | None], tuple[float, Principal, Generations]
        ] = {}
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()
        if invalidation is None:
            invalidation = identity.invalidation
            service.listeners.append(lambda tenant: invalidation.changed("metadata", tenant))
        self.invalidation = invalidation
        invalidation.subscribe(self._heard)

    def _heard(self, kind: str, tenant: str | None) -> None:
        if kind in ("metadata", "members") and tenant:
            self.forget(tenant)
        elif kind in ("all", "credentials"):
            with self._lock:
                tenants = set(self._directories) | {k[0] for k in self._principals}
            for name in tenants:
                self.forget(name)

    def forget(self, tenant: str) -> None:
        with self._lock:
            self._directories.pop(tenant, None)
            for key in [k for k in self._principals if k[0] == tenant]:
                del self._principals[key]
            self._generation[tenant] = self._generation.get(tenant, 0) + 1

    def model(self, tenant: str) -> Model:
        return self._directory(tenant, self.invalidation.generations(tenant).tenant).model

    def _directory(self, tenant: str, shared: int) -> _Directory:
        hit = self._fresh(tenant, shared)
        if hit is not None:
            return hit
        with self._lock:
            loading = self._loading.setdefault(tenant, threading.Lock())
        with loading:  # concurrent reloads of one tenant collapse into one
            hit = self._fresh(tenant, shared)
            if hit is not None:
                return hit
            now = self._clock()
            with self._lock:
                generation = self._generation.get(tenant, 0)
            if self.models is not None:
                snapshot, _ = self.models.get(tenant, shared)
            else:
                _, snapshot = self.service.active(tenant)
            members = {m.user.id: m for m in self.identity.members(tenant)}
            directory = _Directory(snapshot.model, MappingProxyType(members))
            with self._lock:
                if self._generation.get(tenant, 0) == generation:
                    self._directories[tenant] = (now, directory, shared)
            return directory

    @property
    def _ttl(self) -> float:
        """How long a directory or principal is kept: ``ttl``, or five minutes while
        other processes' changes arrive as messages (members, roles and credentials
        changed elsewhere are heard at once then). Reloading every tenant's members each
        ``ttl`` seconds was a query per tenant per 10 s under load spread over many."""
        return max(self.ttl, PUSHED_TTL) if self.invalidation.pushed else self.ttl

    def _fresh(self, tenant: str, shared: int) -> _Directory | None:
        with self._lock:
            hit = self._directories.get(tenant)
        if hit is not None and self._clock() - hit[0] < self._ttl and hit[2] == shared:
            return hit[1]
        return None

    def resolve(
        self, caller: Caller, tenant: str, generations: Generations | None = None
    ) -> Principal:
        """Return ``caller``'s principal in ``tenant``; raise Forbidden if they have none.

        A credential issued for one tenant never works in another; a platform admin's
        platform sign-in (no tenant) has full access everywhere.
        """
        if caller.tenant is not None and caller.tenant != tenant:
            raise Forbidden(f"this credential is for another tenant, not {tenant!r}")
        if caller.tenant is None and not caller.platform_admin:
            raise Forbidden(f"sign in to tenant {tenant!r} first")
        key = (tenant, caller.user_id, caller.token_role if caller.token_id else "")
        generations = generations or self.invalidation.generations(tenant)
        now = self._clock()
        with self._lock:
            hit = self._principals.get(key)
            forgotten = self._generation.get(tenant, 0)
        if hit is not None and now - hit[0] < self._ttl and hit[2] == generations:
            principal = hit[1]
            # Two tokens of one member with one role share permissions, not their identity:
            # each is audited and rate-limited as itself.
            if principal.rate_key != caller.rate_key:
                principal = replace(principal, actor=caller.actor, rate_key=caller.rate_key)
            return principal
        principal = self._build(caller, tenant, generations.tenant)
        with self._lock:
            if self._generation.get(tenant, 0) == forgotten:
                self._principals[key] = (now, principal, generations)
        return principal

    def _build(self, caller: Caller, tenant: str, shared: int) -> Principal:
        directory = self._directory(tenant, shared)
        member = directory.members.get(caller.user_id)
        everyone = frozenset(directory.members)
        if member is None or not member.user.active:
            if caller.platform_admin and caller.tenant is None:
                return Principal(
                    tenant,
                    caller.user_id,
                    caller.actor,
                    FULL,
                    members=everyone,
                    rate_key=caller.rate_key,
                    tenant_admin=True,
                )
            raise Forbidden(f"{caller.email} is not a member of tenant {tenant!r}")
        model = directory.model
        security = model.security
        if caller.token_id is not None:
            # A token acts with the role bound when it was made and that role's sets,
            # never as an admin.
            role, extra, admin = caller.token_role, (), False
        else:
            role, extra, admin = member.role, member.permission_sets, member.tenant_admin
        grants = FULL if admin else effective(model, sets_of(security, role, extra))
        subtree = set(security.subtree(role)) if role else set()
        team = tuple(
            sorted(
                {m.user.id for m in directory.members.values() if m.role in subtree}
                | {caller.user_id},
                key=str,
            )
        )
        reach = {role, *security.ancestors(role)} if role else set()
        rules: dict[str, list[SharingRule]] = {}
        for rule in security.sharing_rules.values():
            if rule.role == role or (rule.subordinates and rule.role in reach):
                rules.setdefault(rule.object, []).append(rule)
        return Principal(
            tenant=tenant,
            user_id=caller.user_id,
            actor=caller.actor,
            grants=grants,
            role=role,
            team=team,
            rules=MappingProxyType({k: tuple(v) for k, v in rules.items()}),
            members=everyone,
            rate_key=caller.rate_key,
            tenant_admin=admin,
        )
