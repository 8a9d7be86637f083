"""Object and field endpoints, for admins who do not write metadata files.

Each change edits the active document, validates it and goes through the same plan and
apply as a whole file, pinned to the version it read: two admins editing at once get a
version conflict instead of one silently undoing the other.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from metadata.validation import validate_data
from runtime.server.auth import tenant_admin
from runtime.server.bodies import ChangeOptions, DefinitionChange, Rename
from runtime.tenants import TenantService

_ALLOW = QueryParameter(description="Allow destructive changes (data is archived).")
_DRY_RUN = QueryParameter(description="Return the plan instead of applying it.")


def change_from_query(
    allow_destructive: Annotated[bool, _ALLOW] = False,
    dry_run: Annotated[bool, _DRY_RUN] = False,
    message: FromQuery[str] = "",
    author: FromQuery[str] = "api",
) -> ChangeOptions:
    """Return the change options a DELETE takes as query parameters."""
    return ChangeOptions(
        allow_destructive=allow_destructive, dry_run=dry_run, message=message, author=author
    )


def _active(service: TenantService, tenant: str) -> tuple[int | None, dict[str, Any]]:
    version, snapshot = service.active(tenant)
    return (version.number if version else None), snapshot.model.to_document()


def _commit(
    service: TenantService,
    tenant: str,
    base: int | None,
    document: dict[str, Any],
    change: ChangeOptions,
    message: str,
) -> dict[str, Any]:
    """Validate ``document``, then plan it (dry run) or apply it pinned to ``base``."""
    valid = validate_data(document)
    if change.dry_run:
        return service.plan(tenant, valid, allow_destructive=change.allow_destructive).to_dict()
    return service.apply(
        tenant,
        valid,
        allow_destructive=change.allow_destructive,
        author=change.author,
        message=change.message or message,
        expected_version=base if change.expected_version is None else change.expected_version,
    ).to_dict()


def _object(document: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        return document["objects"][name]
    except KeyError:
        raise NotFoundException(f"object {name!r} does not exist") from None


def _field(document: dict[str, Any], obj: str, name: str) -> dict[str, Any]:
    try:
        return _object(document, obj)["fields"][name]
    except KeyError:
        raise NotFoundException(f"object {obj!r} has no field {name!r}") from None


def _rekey(mapping: dict[str, Any], old: str, new: str, value: Any) -> dict[str, Any]:
    """Return ``mapping`` with key ``old`` replaced by ``new`` (same position)."""
    return {(new if k == old else k): (value if k == old else v) for k, v in mapping.items()}


class SchemaController(Controller):
    path = "/api/tenants/{tenant:str}/metadata/objects"
    guards = [tenant_admin]
    tags = ["objects and fields"]
    dependencies = {"change": Provide(change_from_query, sync_to_thread=False)}

    # -- objects -------------------------------------------------------------------------

    @get("/", sync_to_thread=True, summary="List objects")
    def list_objects(
        self, service: NamedDependency[TenantService], tenant: FromPath[str]
    ) -> list[dict[str, Any]]:
        _, document = _active(service, tenant)
        return [{"name": n, **d} for n, d in document["objects"].items()]

    @get("/{obj:str}", sync_to_thread=True, summary="Show an object")
    def show_object(
        self, service: NamedDependency[TenantService], tenant: FromPath[str], obj: FromPath[str]
    ) -> dict[str, Any]:
        _, document = _active(service, tenant)
        return {"name": obj, **_object(document, obj)}

    @post("/", sync_to_thread=True, status_code=200, summary="Create an object")
    def create_object(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        data: JSONBody[DefinitionChange],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        if not data.name:
            raise ClientException("give the new object's 'name'")
        if data.name in document["objects"]:
            raise ClientException(f"object {data.name!r} already exists", status_code=409)
        document["objects"][data.name] = data.definition
        return _commit(service, tenant, base, document, data, f"create object {data.name}")

    @put("/{obj:str}", sync_to_thread=True, summary="Replace an object's definition")
    def replace_object(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        data: JSONBody[DefinitionChange],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        _object(document, obj)
        document["objects"][obj] = data.definition
        return _commit(service, tenant, base, document, data, f"change object {obj}")

    @delete(
        "/{obj:str}",
        sync_to_thread=True,
        status_code=200,
        summary="Drop an object (its records are archived)",
    )
    def delete_object(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        change: NamedDependency[ChangeOptions],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        _object(document, obj)
        del document["objects"][obj]
        return _commit(service, tenant, base, document, change, f"drop object {obj}")

    @post(
        "/{obj:str}/rename",
        sync_to_thread=True,
        status_code=200,
        summary="Rename an object, keeping its records",
    )
    def rename_object(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        data: JSONBody[Rename],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        definition = {**_object(document, obj), "renamed_from": obj}
        objects = _rekey(document["objects"], obj, data.to, definition)
        for other in objects.values():  # lookups follow the rename
            for field in other.get("fields", {}).values():
                if field.get("to") == obj:
                    field["to"] = data.to
        document["objects"] = objects
        return _commit(service, tenant, base, document, data, f"rename object {obj} to {data.to}")

    # -- fields --------------------------------------------------------------------------

    @get("/{obj:str}/fields", sync_to_thread=True, summary="List an object's fields")
    def list_fields(
        self, service: NamedDependency[TenantService], tenant: FromPath[str], obj: FromPath[str]
    ) -> list[dict[str, Any]]:
        _, document = _active(service, tenant)
        return [{"name": n, **d} for n, d in _object(document, obj)["fields"].items()]

    @get("/{obj:str}/fields/{field:str}", sync_to_thread=True, summary="Show a field")
    def show_field(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        field: FromPath[str],
    ) -> dict[str, Any]:
        _, document = _active(service, tenant)
        return {"name": field, **_field(document, obj, field)}

    @post("/{obj:str}/fields", sync_to_thread=True, status_code=200, summary="Add a field")
    def create_field(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        data: JSONBody[DefinitionChange],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        fields = _object(document, obj)["fields"]
        if not data.name:
            raise ClientException("give the new field's 'name'")
        if data.name in fields:
            raise ClientException(
                f"object {obj!r} already has a field {data.name!r}", status_code=409
            )
        fields[data.name] = data.definition
        return _commit(service, tenant, base, document, data, f"add field {obj}.{data.name}")

    @put(
        "/{obj:str}/fields/{field:str}",
        sync_to_thread=True,
        summary="Replace a field's definition (type changes convert the data)",
    )
    def replace_field(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        field: FromPath[str],
        data: JSONBody[DefinitionChange],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        _field(document, obj, field)
        _object(document, obj)["fields"][field] = data.definition
        return _commit(service, tenant, base, document, data, f"change field {obj}.{field}")

    @delete(
        "/{obj:str}/fields/{field:str}",
        sync_to_thread=True,
        status_code=200,
        summary="Drop a field (its values are archived) and the indexes that use it",
    )
    def delete_field(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        field: FromPath[str],
        change: NamedDependency[ChangeOptions],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        _field(document, obj, field)
        definition = _object(document, obj)
        del definition["fields"][field]
        definition["indexes"] = [
            i for i in definition.get("indexes", []) if field not in i["fields"]
        ]
        return _commit(service, tenant, base, document, change, f"drop field {obj}.{field}")

    @post(
        "/{obj:str}/fields/{field:str}/rename",
        sync_to_thread=True,
        status_code=200,
        summary="Rename a field, keeping its values",
    )
    def rename_field(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        obj: FromPath[str],
        field: FromPath[str],
        data: JSONBody[Rename],
    ) -> dict[str, Any]:
        base, document = _active(service, tenant)
        definition = _object(document, obj)
        renamed = {**_field(document, obj, field), "renamed_from": field}
        definition["fields"] = _rekey(definition["fields"], field, data.to, renamed)
        definition["indexes"] = [
            {**i, "fields": [data.to if f == field else f for f in i["fields"]]}
            for i in copy.deepcopy(definition.get("indexes", []))
        ]
        return _commit(
            service, tenant, base, document, data, f"rename field {obj}.{field} to {data.to}"
        )
