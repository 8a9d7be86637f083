"""Tenant memberships: who belongs to a tenant, with which role and manager.

One part of ``Identity`` (``runtime/security/identity.py``), which composes them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from metadata.registry.models import utcnow
from metadata.registry.store import Registry, TenantInfo
from runtime.security import audit
from runtime.security.accounts import (
    UNCHANGED,
    IdentityError,
    MemberInfo,
    UserInfo,
    UserNotFound,
    _members,
    _refresh,
    _tenants,
    _tokens,
    _users,
    not_member,
)
from runtime.security.identity_basis import IdentityBasis


class Memberships(IdentityBasis):
    """Tenant memberships (one part of Identity)."""

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
