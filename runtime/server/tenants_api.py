"""Tenant endpoints: create, list, show, delete."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from runtime.server.auth import platform_admin, tenant_admin
from runtime.server.bodies import TenantCreate
from runtime.tenants import TenantService


class TenantController(Controller):
    path = "/api/tenants"
    tags = ["tenants"]

    @get("/", sync_to_thread=True, summary="List tenants", guards=[platform_admin])
    def list_tenants(self, service: NamedDependency[TenantService]) -> list[dict[str, Any]]:
        return [t.to_dict() for t in service.list_tenants()]

    @post(
        "/",
        sync_to_thread=True,
        summary="Create a tenant with empty storage",
        guards=[platform_admin],
    )
    def create_tenant(
        self, service: NamedDependency[TenantService], data: JSONBody[TenantCreate]
    ) -> dict[str, Any]:
        info = service.create_tenant(data.name, data.display_name, data.timezone)
        # Nobody can sign in to a tenant without members: say what comes next.
        hint = (
            f"Tenant {info.name!r} has no members yet. Add its first admin: PUT "
            f'/api/tenants/{info.name}/members/{{email}} with {{"tenant_admin": true}}.'
        )
        return {**info.to_dict(), "members": 0, "hint": hint}

    @get("/{tenant:str}", sync_to_thread=True, summary="Show a tenant", guards=[tenant_admin])
    def show_tenant(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> dict[str, Any]:
        return service.get_tenant(tenant).to_dict()

    @delete(
        "/{tenant:str}",
        sync_to_thread=True,
        status_code=200,
        summary="Delete a tenant with all its data",
        description="Irreversible. Pass ?confirm=<tenant name> to show you mean it.",
        guards=[platform_admin],
    )
    def delete_tenant(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        confirm: Annotated[
            str | None, QueryParameter(description="The tenant's name again.")
        ] = None,
    ) -> dict[str, Any]:
        service.get_tenant(tenant)
        if confirm != tenant:
            raise ValidationException(
                f"deleting tenant {tenant!r} destroys all its data: repeat its name in "
                f"?confirm={tenant} to go ahead"
            )
        service.delete_tenant(tenant)
        return {"deleted": tenant}
