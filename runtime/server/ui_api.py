"""The web app's server side: the metadata GraphQL API, the compiled UI schemas with
ETags, and the app itself at ``/app``.

``POST /t/{tenant}/metadata``            the metadata API (Strawberry; ui_schema/api.py)
``GET  /t/{tenant}/ui/shell``            words, apps and objects for the caller
``GET  /t/{tenant}/ui/objects/{object}`` one object's form, page, views and kanbans
``GET  /app``, ``/app/...``              the web app (one page; its scripts under /static)

The two GET documents carry an ETag, the version the compiler gives them (metadata
hash, the caller's grants and role, the locale): a browser asking again with
``If-None-Match`` gets 304 and keeps its copy. Both depend on the caller, so they are
``private``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLError
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath
from sqlalchemy import Connection

from runtime.server.auth import resolve_principal
from runtime.server.inputs import JSON_BODY, NOT_JSON
from runtime.server.webapp import app_page
from runtime.sql.dialect import dialect_for
from ui_schema.api import MetadataContext, build_metadata_schema
from ui_schema.compiler import UiCompiler, UnknownObject, Viewer
from ui_schema.locales import negotiate
from ui_schema.saved_views import Reader

log = logging.getLogger(__name__)
#: Compiled documents kept per process (they are small; versions make them exact).
_KEEP = 512


class CompiledCache:
    """Compiled UI documents by (version, what): the same caller kind asking for the
    same page again is answered without compiling it again."""

    def __init__(self, size: int = _KEEP) -> None:
        self._items: OrderedDict[tuple[str, ...], str] = OrderedDict()
        self._lock = threading.Lock()
        self.size = size

    def get(self, key: tuple[str, ...], make: Any) -> str:
        with self._lock:
            text = self._items.get(key)
            if text is not None:
                self._items.move_to_end(key)
                return text
        text = json.dumps(make(), ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._items[key] = text
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return text


def _context(request: Request[Any, Any, Any], tenant: str) -> MetadataContext:
    """Resolve the caller and build what the metadata API's resolvers need."""
    state = request.app.state
    platform = state.platform
    principal, generation = resolve_principal(request, tenant)
    api, _ = platform.apis.get(tenant, principal.grants, generation)
    snapshot, _ = platform.apis.models.get(tenant, generation)
    backend = platform.service.backend
    schema = backend.schema(tenant)
    viewer = Viewer(principal.role, principal.tenant_admin, principal.grants.key)

    def compiler(locale: str) -> UiCompiler:
        return UiCompiler(snapshot.model, api.shape, snapshot.content_hash, viewer, locale)

    @contextmanager
    def read() -> Iterator[Connection]:
        with backend.read_tenant(tenant) as conn:
            yield conn

    @contextmanager
    def write() -> Iterator[Connection]:
        with backend.begin_tenant(tenant) as conn:
            yield conn

    def members() -> list[dict[str, Any]]:
        return [
            {
                "id": str(m.user.id),
                "email": m.user.email,
                "name": m.user.display_name or m.user.email.split("@")[0],
                "role": m.role,
            }
            for m in state.identity.members(tenant)
            if m.user.active
        ]

    reader = Reader(
        principal,
        api.shape,
        snapshot.model,
        dialect_for(backend.dialect, schema),
        api.limits,
        api.schema,
    )
    locale = negotiate(request.headers.get("accept-language"), request.query_params.get("locale"))
    return MetadataContext(compiler, locale, reader, schema, read, write, members)


def _cached(request: Request[Any, Any, Any], version: str, text: Any) -> Response[Any]:
    etag = f'"{version}"'
    headers = {"etag": etag, "cache-control": "private, no-cache", "vary": "Accept-Language"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(text(), media_type=MediaType.JSON, headers=headers)


def _error(error: GraphQLError) -> dict[str, Any]:
    """A metadata API error as the client sees it. A failure of the server's own (not a
    refusal a resolver raised on purpose) is logged and answered without its details."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        log.error("metadata API failure", exc_info=original)
        return {
            "message": "the server failed to answer this field; it is logged",
            "path": error.path,
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    return {**error.formatted, "extensions": {"code": "BAD_REQUEST", **(error.extensions or {})}}


class UiController(Controller):
    path = "/t/{tenant:str}"
    tags = ["web app"]

    @post("/metadata", sync_to_thread=True, status_code=200, summary="The metadata GraphQL API")
    def metadata(self, request: Request[Any, Any, Any], tenant: FromPath[str]) -> Response[Any]:
        """The caller's view of the tenant's metadata (ui_schema/api.py): objects, fields,
        UI schemas, list views, labels; mutations save and delete list views."""
        body = request.scope.get("state", {}).get(JSON_BODY, NOT_JSON)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ValidationException(
                'the request body must be a JSON object: {"query": "...", "variables": {...}}'
            )
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise ValidationException("variables must be a JSON object")
        context = _context(request, tenant)
        schema = request.app.state.metadata_schema
        result = schema.execute_sync(
            body["query"],
            variable_values=variables,
            context_value=context,
            operation_name=body.get("operationName"),
        )
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [_error(e) for e in result.errors]
        out["data"] = result.data
        return Response(out, media_type=MediaType.JSON)

    @get("/ui/shell", sync_to_thread=True, summary="The web app shell for the caller")
    def shell(self, request: Request[Any, Any, Any], tenant: FromPath[str]) -> Response[Any]:
        context = _context(request, tenant)
        compiler = context.compiler(context.locale)
        cache: CompiledCache = request.app.state.ui_cache
        version = compiler.version
        return _cached(request, version, lambda: cache.get((version, "shell"), compiler.shell))

    @get("/ui/objects/{name:str}", sync_to_thread=True, summary="One object's UI schema")
    def object(
        self, request: Request[Any, Any, Any], tenant: FromPath[str], name: FromPath[str]
    ) -> Response[Any]:
        context = _context(request, tenant)
        compiler = context.compiler(context.locale)
        layout = request.query_params.get("layout") or None
        cache: CompiledCache = request.app.state.ui_cache
        version = compiler.version
        try:
            # Compiled now, not in the response: an unknown object is a 404 either way.
            text = cache.get(
                (version, "object", name, layout or ""), lambda: compiler.object(name, layout)
            )
        except UnknownObject:
            raise NotFoundException(f"there is no object {name!r}") from None
        return _cached(request, version, lambda: text)


@get(["/app", "/app/{rest:path}"], include_in_schema=False, sync_to_thread=False)
def web_app(request: Request[Any, Any, Any]) -> Response[str]:
    """The web app's one page; it routes in the browser (``/app#/t/demo/...``)."""
    return Response(
        app_page(negotiate(request.headers.get("accept-language"))),
        media_type=MediaType.HTML,
        headers={"cache-control": "no-cache"},
    )


__all__ = ["CompiledCache", "UiController", "build_metadata_schema", "web_app"]
