"""Attachments: ``/t/{tenant}/files/{object}/{id}/{field}`` uploads, downloads and removes
the file of one attachment field of one record, with that record's permissions.

- ``PUT`` streams the body into the file store (no part of it is held in memory) under
  the field's ``max_size`` and content types and the platform's cap, then sets the field
  through the record service, as any change: edit access, validation rules, history and
  the outbox apply. The file name comes in ``?name=``, the type in ``Content-Type``.
- ``GET`` answers only a caller who can read the record and the field, and checks the
  file against the checksum kept on the record: a file gone from the store is a 404
  ``file-missing``, one that changed is a 409 ``file-corrupt``; never the wrong bytes.
- ``DELETE`` clears the field (and then removes the file).

A file replaced or removed is deleted from the store only after the record's change has
committed, so a failed change never loses the file the record still names.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Stream
from sqlalchemy import select

from metadata.kinds import ValueProblem
from metadata.kinds.files import ATTACHMENT_PARTS, AttachmentKind
from runtime.graphql.cache import ActiveApis
from runtime.records.errors import RecordError
from runtime.records.writer import Writer
from runtime.security.scope import SqlScope
from runtime.server.auth import resolve_principal
from runtime.server.problems import problem
from runtime.sql.dialect import dialect_for
from runtime.storage.files import (
    FileMissing,
    FileStore,
    FileTooLarge,
    StoreUnavailable,
    checksum,
    chunks_of,
)
from runtime.tenants import TenantService

_KIND = AttachmentKind()
_STATUS = {"NOT_FOUND": 404, "FORBIDDEN": 403, "RECORD_LOCKED": 409, "STALE_ROW_VERSION": 409}


class _Refusal(Exception):
    def __init__(self, status: int, kind: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail, self.extra = status, kind, detail, extra


def _unavailable(exc: StoreUnavailable) -> _Refusal:
    return _Refusal(503, "file-store-unavailable", f"{exc}; try again later")


def _refused(request: Request[Any, Any, Any], refusal: _Refusal) -> Response[Any]:
    title = refusal.kind.replace("-", " ").capitalize()
    return problem(
        request,
        status=refusal.status,
        kind=refusal.kind,
        title=title,
        detail=refusal.detail,
        **refusal.extra,
    )


def _record_refusal(exc: RecordError) -> _Refusal:
    status = _STATUS.get(exc.code, 400 if exc.code != "VALIDATION_RULE" else 422)
    kind = exc.code.lower().replace("_", "-")
    return _Refusal(status, kind, exc.message, code=exc.code, messages=exc.messages)


class _Target:
    """The record and field a request names, as the caller may see them."""

    def __init__(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        tenant: str,
        obj: str,
        record_id: uuid.UUID,
        field: str,
    ) -> None:
        principal, generation = resolve_principal(request, tenant)
        api, timezone = apis.get(tenant, principal.grants, generation)
        s = api.shape.objects.get(obj)
        f = s.obj.fields.get(field) if s is not None else None
        if s is None or f is None or f.type != "attachment":
            # Hidden and missing look alike: no error names what the caller cannot see.
            raise _Refusal(404, "not-found", f"no attachment field {obj}.{field} here")
        self.tenant, self.record_id, self.s, self.f = tenant, record_id, s, f
        self.backend = service.backend
        self.schema = service.backend.schema(tenant)
        self.timezone = timezone
        self.scope = SqlScope(
            shape=api.shape,
            dialect=dialect_for(service.backend.dialect, self.schema),
            principal=principal,
            today=dt.datetime.now(ZoneInfo(timezone)).date(),
            request_id=request.state.get("request_id"),
        )

    def writer(self, conn: Any) -> Writer:
        return Writer(self.scope, conn, self.s, self.schema, self.timezone)

    def check_editable(self) -> None:
        if "update" not in self.s.allow or self.f.name in self.s.read_only:
            raise _Refusal(403, "forbidden", f"you may not change {self.s.name}.{self.f.name}")

    def current(self, conn: Any) -> dict[str, Any] | None:
        """The field's columns on the record, if the caller can read the record."""
        w = self.writer(conn)
        if not w.accessible(self.s.name, {self.record_id}):
            raise _Refusal(404, "not-found", f"no {self.s.name} has id {self.record_id}")
        table = w.table
        names = [self.f.name, *(_KIND.part_column(self.f.name, p) for p, _ in ATTACHMENT_PARTS)]
        row = conn.execute(
            select(*(table.c[n] for n in names)).where(table.c.id == self.record_id)
        ).first()
        if row is None or row[0] is None:
            return None
        return {"key": row[0], **{p: row[i + 1] for i, (p, _) in enumerate(ATTACHMENT_PARTS)}}


def _described(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": value["file_name"],
        "size": value["size"],
        "contentType": value["content_type"],
        "checksum": value["sha256"],
    }


class FilesController(Controller):
    path = "/t/{tenant:str}/files/{obj:str}/{record_id:uuid}/{field:str}"
    tags = ["files"]

    @put("/", status_code=200, summary="Upload the file of an attachment field")
    async def upload(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        files: NamedDependency[FileStore],
        tenant: FromPath[str],
        obj: FromPath[str],
        record_id: FromPath[uuid.UUID],
        field: FromPath[str],
        name: Annotated[str, QueryParameter(description="The file's name, as people see it")],
    ) -> Response[Any]:
        try:
            return await self._upload(
                request, apis, service, files, tenant, obj, record_id, field, name
            )
        except _Refusal as refusal:
            return _refused(request, refusal)

    async def _upload(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        files: FileStore,
        tenant: str,
        obj: str,
        record_id: uuid.UUID,
        field: str,
        name: str,
    ) -> Response[Any]:
        import anyio

        target = await anyio.to_thread.run_sync(
            lambda: _Target(request, apis, service, tenant, obj, record_id, field)
        )
        target.check_editable()
        name = name.strip()
        if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
            raise _Refusal(400, "bad-request", "name must be 1-255 printable characters")
        content_type = request.headers.get("content-type") or "application/octet-stream"
        content_type = content_type.split(";")[0].strip().lower()
        limit = min(target.f.option("max_size") or 0, request.app.state.settings.files_max_bytes)
        declared = request.headers.get("content-length")
        try:
            _KIND.accepts(target.f, content_type, int(declared) if declared else None, field)
        except ValueProblem as problem_:
            status = 415 if problem_.code == "UNSUPPORTED_MEDIA_TYPE" else 413
            raise _Refusal(status, problem_.code.lower().replace("_", "-"), problem_.en) from None

        def check() -> None:
            with target.backend.read_tenant(tenant) as conn:
                target.writer(conn).check_edit(record_id, ["id"])

        try:
            await anyio.to_thread.run_sync(check)
        except RecordError as exc:
            raise _record_refusal(exc) from None
        try:
            stored = await files.put(tenant, _body(request), limit)
        except FileTooLarge:
            raise _Refusal(
                413, "file-too-large", f"{field} takes files of at most {limit:,} bytes"
            ) from None
        except StoreUnavailable as exc:
            raise _unavailable(exc) from None
        value = {
            "key": stored.key,
            "file_name": name,
            "size": stored.size,
            "content_type": content_type,
            "sha256": stored.sha256,
        }

        def save() -> str | None:
            with target.backend.begin_tenant(tenant) as conn:
                w = target.writer(conn)
                w.check_edit(record_id, ["id"])
                old = target.current(conn)
                w.update(record_id, _KIND.to_columns(target.f, value), None, [field])
                return old["key"] if old else None

        try:
            old_key = await anyio.to_thread.run_sync(save)
        except BaseException as exc:
            files.delete(tenant, stored.key)
            if isinstance(exc, RecordError):
                raise _record_refusal(exc) from None
            raise
        if old_key:
            files.delete(tenant, old_key)
        return Response(_described(value))

    @get("/", sync_to_thread=True, summary="Download the file of an attachment field")
    def download(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        files: NamedDependency[FileStore],
        tenant: FromPath[str],
        obj: FromPath[str],
        record_id: FromPath[uuid.UUID],
        field: FromPath[str],
    ) -> Response[Any]:
        try:
            target = _Target(request, apis, service, tenant, obj, record_id, field)
            with target.backend.read_tenant(tenant) as conn:
                value = target.current(conn)
            if value is None:
                raise _Refusal(404, "not-found", f"{obj}.{field} has no file on this record")
            try:
                source = files.open(tenant, value["key"])
            except StoreUnavailable as exc:
                raise _unavailable(exc) from None
            except FileMissing:
                raise _Refusal(
                    404,
                    "file-missing",
                    f"the file of {obj}.{field} ({value['file_name']}) is missing from the "
                    "file store; upload it again",
                ) from None
            if checksum(source) != value["sha256"]:
                source.close()
                raise _Refusal(
                    409,
                    "file-corrupt",
                    f"the stored file of {obj}.{field} ({value['file_name']}) no longer "
                    "matches its checksum; upload it again",
                )
            source.seek(0)
        except _Refusal as refusal:
            return _refused(request, refusal)
        disposition = f"attachment; filename*=UTF-8''{quote(value['file_name'])}"
        return Stream(
            chunks_of(source),
            media_type=value["content_type"],
            headers={
                "Content-Disposition": disposition,
                "Content-Length": str(value["size"]),
                "ETag": f'"{value["sha256"]}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @delete("/", status_code=200, sync_to_thread=True, summary="Remove the file (204)")
    def remove(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        files: NamedDependency[FileStore],
        tenant: FromPath[str],
        obj: FromPath[str],
        record_id: FromPath[uuid.UUID],
        field: FromPath[str],
    ) -> Response[Any]:
        try:
            target = _Target(request, apis, service, tenant, obj, record_id, field)
            target.check_editable()
            with target.backend.begin_tenant(tenant) as conn:
                w = target.writer(conn)
                w.check_edit(record_id, ["id"])
                old = target.current(conn)
                if old is not None:
                    w.update(record_id, _KIND.to_columns(target.f, None), None, [field])
        except _Refusal as refusal:
            return _refused(request, refusal)
        except RecordError as exc:
            return _refused(request, _record_refusal(exc))
        if old is not None:
            files.delete(tenant, old["key"])
        return Response(content=b"", status_code=204)


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk
