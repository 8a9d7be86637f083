"""Pack endpoints: the catalog, a tenant's packs, and install, upgrade and uninstall.

Each change is a dry run with ``dry_run: true`` (the plan: packs, operations with their
DDL, conflicts, data impact, blockers) and applies otherwise. Packs are named from the
server's catalog only; a client cannot point the server at a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from metadata.identifiers import IDENTIFIER_PATTERN
from metadata.packs.catalog import Catalog, PackNotFound
from runtime.packs.service import PackPlan, PackService
from runtime.server.auth import tenant_admin
from runtime.tenants import TenantService


@dataclass(kw_only=True)
class PackChangeOptions:
    dry_run: bool = False
    """Return the plan instead of applying it."""
    sql: bool = True
    """Include each step's DDL in the plan."""


@dataclass(kw_only=True)
class PackInstall(PackChangeOptions):
    packs: list[str] = field(default_factory=list)
    """Pack names from the catalog; their dependencies are installed too."""
    sample_data: bool = False
    """Also create the packs' sample records."""
    prefer: Literal["tenant", "pack"] | None = None
    """Settle conflicts with the tenant's metadata this way (default: refuse)."""


@dataclass(kw_only=True)
class PackUpgrade(PackChangeOptions):
    prefer: Literal["tenant", "pack"] | None = None
    """Settle conflicts: keep the tenant's value or take the pack's (default: refuse)."""


@dataclass(kw_only=True)
class PackUninstall(PackChangeOptions):
    purge: bool = False
    """Delete the pack's data too (default: archive it for a reinstall)."""


def _named(catalog: Catalog, names: list[str]) -> list[str]:
    """Refuse anything but catalog names (paths stay a CLI-only, local matter)."""
    unknown = [n for n in names if not re.match(IDENTIFIER_PATTERN, n) or n not in catalog.names()]
    if unknown or not names:
        raise PackNotFound(
            f"no pack named {', '.join(map(repr, unknown)) or '(none given)'} in the catalog",
            [f"packs available: {', '.join(catalog.names()) or 'none'}"],
        )
    return names


def _respond(packs: PackService, plan: PackPlan, dry_run: bool, actor: str) -> dict[str, Any]:
    if dry_run:
        return {**plan.to_dict(), "applied": False}
    return packs.apply(plan, author=actor).to_dict()


class AppsController(Controller):
    path = "/api/tenants/{tenant:str}/apps"
    guards = [tenant_admin]
    tags = ["apps"]

    @get("/", sync_to_thread=True, summary="The catalog's packs and their state in the tenant")
    def listing(
        self,
        service: NamedDependency[TenantService],
        catalog: NamedDependency[Catalog],
        tenant: FromPath[str],
    ) -> list[dict[str, Any]]:
        return PackService(service, catalog).listing(tenant)

    @get("/installed", sync_to_thread=True, summary="The tenant's pack records")
    def installed(
        self,
        service: NamedDependency[TenantService],
        catalog: NamedDependency[Catalog],
        tenant: FromPath[str],
    ) -> list[dict[str, Any]]:
        return [r.to_dict() for r in PackService(service, catalog).records(tenant).values()]

    @post("/install", sync_to_thread=True, status_code=200, summary="Install packs (or plan it)")
    def install(
        self,
        service: NamedDependency[TenantService],
        catalog: NamedDependency[Catalog],
        tenant: FromPath[str],
        data: JSONBody[PackInstall],
    ) -> dict[str, Any]:
        packs = PackService(service, catalog)
        plan = packs.plan_install(
            tenant,
            _named(catalog, data.packs),
            sample_data=data.sample_data,
            prefer=data.prefer,
            sql=data.sql,
        )
        return _respond(packs, plan, data.dry_run, "api")

    @post(
        "/{name:str}/upgrade",
        sync_to_thread=True,
        status_code=200,
        summary="Upgrade a pack to the catalog's version, keeping customizations",
    )
    def upgrade(
        self,
        service: NamedDependency[TenantService],
        catalog: NamedDependency[Catalog],
        tenant: FromPath[str],
        name: FromPath[str],
        data: JSONBody[PackUpgrade],
    ) -> dict[str, Any]:
        packs = PackService(service, catalog)
        [name] = _named(catalog, [name])
        plan = packs.plan_upgrade(tenant, name, prefer=data.prefer, sql=data.sql)
        return _respond(packs, plan, data.dry_run, "api")

    @post(
        "/{name:str}/uninstall",
        sync_to_thread=True,
        status_code=200,
        summary="Uninstall a pack; its data is archived unless purge",
    )
    def uninstall(
        self,
        service: NamedDependency[TenantService],
        catalog: NamedDependency[Catalog],
        tenant: FromPath[str],
        name: FromPath[str],
        data: JSONBody[PackUninstall],
    ) -> dict[str, Any]:
        packs = PackService(service, catalog)
        plan = packs.plan_uninstall(tenant, name, purge=data.purge, sql=data.sql)
        return _respond(packs, plan, data.dry_run, "api")
