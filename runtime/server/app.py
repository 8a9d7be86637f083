"""The Litestar application: health, admin REST API and its OpenAPI docs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Response, get
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy import text

from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.server.graphql_api import GraphQLController
from runtime.server.metadata_api import MetadataController
from runtime.server.problems import EXCEPTION_HANDLERS
from runtime.server.schema_api import SchemaController
from runtime.server.tenants_api import TenantController
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService


def _version() -> str:
    try:
        return version("tessera")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0+source"


@get("/health", sync_to_thread=True, tags=["health"], summary="Liveness and database check")
def health(service: NamedDependency[TenantService]) -> Response[dict[str, Any]]:
    try:
        with service.backend.connect_control() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, do not raise: this endpoint exists to say so
        return Response({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    return Response({"status": "ok", "database": service.backend.dialect, "version": _version()})


def create_app(
    settings: Settings | None = None, *, service: NamedDependency[TenantService] | None = None
) -> Litestar:
    """Return the application, building the service from ``settings`` unless given one."""
    if service is None:
        backend = make_backend(settings or Settings.from_env())
        backend.prepare()
        service = TenantService(backend)

    apis = ActiveApis(service, SchemaCache())

    def provide_service() -> TenantService:
        return service

    def provide_apis() -> ActiveApis:
        return apis

    return Litestar(
        route_handlers=[
            health,
            TenantController,
            MetadataController,
            SchemaController,
            GraphQLController,
        ],
        dependencies={
            "service": Provide(provide_service, sync_to_thread=False),
            "apis": Provide(provide_apis, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Tessera admin API",
            version=_version(),
            description="Tenants and their metadata: JSONBody[plan], apply, history, archives. "
            "Errors are RFC 9457 problem details; see docs/rest-api.md.",
            path="/schema",
        ),
        on_shutdown=[service.backend.dispose],
    )


def run(settings: Settings) -> None:
    """Serve the application with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
