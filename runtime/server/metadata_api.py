"""Metadata endpoints: the active document, versions, plan (dry run), apply, archives."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, Parameter

from metadata.validation import ValidMetadata, validate_data, validate_text
from runtime.server.auth import tenant_admin
from runtime.server.bodies import INT32_MAX, MetadataChange
from runtime.tenants import TenantService


def parse_change(data: JSONBody[MetadataChange]) -> ValidMetadata:
    """Validate the document in a request, given as JSON or as YAML text."""
    if (data.metadata is None) == (data.metadata_yaml is None):
        raise ValidationException(
            "give the document as exactly one of 'metadata' (JSON) or 'metadata_yaml' (text)"
        )
    if data.metadata_yaml is not None:
        return validate_text(data.metadata_yaml, file="metadata_yaml")
    return validate_data(data.metadata)


class MetadataController(Controller):
    path = "/api/tenants/{tenant:str}/metadata"
    guards = [tenant_admin]
    tags = ["metadata"]

    @get("/", sync_to_thread=True, summary="The active metadata")
    def active(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> dict[str, Any]:
        version, snapshot = service.active(tenant)
        return {
            "tenant": tenant,
            "version": version.number if version else None,
            "content_hash": snapshot.content_hash,
            "metadata": snapshot.model.to_document(),
        }

    @get("/versions", sync_to_thread=True, summary="Version history, oldest first")
    def versions(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> list[dict[str, Any]]:
        active = service.get_tenant(tenant).active_version
        return [{**v.to_dict(), "active": v.number == active} for v in service.history(tenant)]

    @get("/versions/{number:int}", sync_to_thread=True, summary="One version, with its metadata")
    def version(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        number: Annotated[int, Parameter(ge=1, le=INT32_MAX)],
    ) -> dict[str, Any]:
        return service.version(tenant, number).to_dict(with_snapshot=True)

    @get("/attempts", sync_to_thread=True, summary="Every apply attempt, failed ones included")
    def attempts(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> list[dict[str, Any]]:
        return [a.to_dict() for a in service.attempts(tenant)]

    @post(
        "/plan",
        sync_to_thread=True,
        status_code=200,
        summary="Dry run: the operations and DDL an apply would run, and what blocks it",
    )
    def plan(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        data: JSONBody[MetadataChange],
    ) -> dict[str, Any]:
        report = service.plan(tenant, parse_change(data), allow_destructive=data.allow_destructive)
        return report.to_dict()

    @post(
        "/apply",
        sync_to_thread=True,
        status_code=200,
        summary="Migrate the tenant's tables and activate the document as a new version",
    )
    def apply(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        data: JSONBody[MetadataChange],
    ) -> dict[str, Any]:
        result = service.apply(
            tenant,
            parse_change(data),
            allow_destructive=data.allow_destructive,
            author=data.author,
            message=data.message,
            expected_version=data.expected_version,
        )
        return result.to_dict()

    @get("/archives", sync_to_thread=True, summary="Data kept from destructive changes")
    def archives(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> list[dict[str, Any]]:
        return service.archives(tenant)

    @delete(
        "/archives/{name:str}",
        sync_to_thread=True,
        status_code=200,
        summary="Purge one archive for good",
    )
    def purge(
        self, service: NamedDependency[TenantService], tenant: FromPath[str], name: FromPath[str]
    ) -> dict[str, Any]:
        return {"purged": service.purge(tenant, [name])}
