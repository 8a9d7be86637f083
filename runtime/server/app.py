"""The Litestar application: the admin REST API with its OpenAPI docs, each tenant's
GraphQL endpoint and GraphiQL page, the landing page, probes and metrics.

``create_app`` is the server's part of the composition root (``runtime/wiring.py``):
everything it serves gets its parts from one ``Platform``, built from the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from metadata.packs.catalog import APPS_DIR, Catalog
from runtime.observability import logs
from runtime.observability.metrics import (
    CacheCollector,
    Metrics,
    WorkflowCollector,
    instrument_sqlalchemy,
)
from runtime.processes.worker import Notifier
from runtime.server import openapi, vendor
from runtime.server.apps_api import AppsController
from runtime.server.auth import AuthController, MemberController, UserController
from runtime.server.fast_reads import FastReads, Passes
from runtime.server.files_api import FilesController
from runtime.server.graphql_api import GraphQLController
from runtime.server.hooks_api import HooksController
from runtime.server.inflight import Inflight
from runtime.server.inputs import InputBoundary, InputRules
from runtime.server.metadata_api import MetadataController
from runtime.server.observe import ObserveMiddleware
from runtime.server.ops_api import OpsController, _BrokerCheck, tessera_version
from runtime.server.pages import landing
from runtime.server.problems import EXCEPTION_HANDLERS
from runtime.server.schema_api import SchemaController
from runtime.server.tenants_api import TenantController
from runtime.server.ui_api import CompiledCache, UiController, build_metadata_schema, web_app
from runtime.settings import Settings
from runtime.storage.async_reads import AsyncReads
from runtime.storage.backends import PostgresBackend, SqliteBackend
from runtime.tenants import TenantService
from runtime.wiring import Platform


class _Acting(TenantService):
    """The tenant service as one signed-in caller uses it: applies are recorded (and
    audited) under the caller's name, whatever author a request body claims."""

    def __init__(self, service: TenantService, actor: str) -> None:  # no super(): a view
        self._service, self._actor = service, actor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        return self._service.apply(*args, **{**kwargs, "author": self._actor})

    def create_tenant(self, *args: Any, **kwargs: Any) -> Any:
        return self._service.create_tenant(*args, **{**kwargs, "actor": self._actor})

    def delete_tenant(self, *args: Any, **kwargs: Any) -> Any:
        return self._service.delete_tenant(*args, **{**kwargs, "actor": self._actor})


def create_app(
    settings: Settings | None = None,
    *,
    service: NamedDependency[TenantService] | None = None,
    catalog: Catalog | None = None,
) -> Litestar:
    """Return the application, building its parts from ``settings`` (or the environment),
    around ``service`` if one is given (tests share one)."""
    if settings is None:
        beside = (
            {"data_dir": service.backend.path.parent}
            if service is not None and isinstance(service.backend, SqliteBackend)
            else {}
        )
        settings = Settings.from_env(**beside)
    platform = Platform(settings, service=service)
    service = platform.service
    instrument_sqlalchemy()
    metrics = Metrics(settings.tenant_classes) if settings.metrics else None
    if metrics is not None:
        metrics.add(CacheCollector(platform.apis, platform.invalidation))
        metrics.add(WorkflowCollector(service, settings.tenant_classes))
    # Wakes the workflow dispatcher after commits; sending is best effort (the beat
    # catches up), and nothing connects to the broker until a tenant has workflows.
    notifier = Notifier(settings)
    # GraphQL requests running SQL, cancelled if their client goes away mid-statement.
    inflight = Inflight()
    # One catalog for the server's life: each pack is read and checked once.
    catalog = catalog or Catalog(settings.apps_dir or APPS_DIR)
    # Queries asked again, answered on the event loop (PostgreSQL; see fast_reads.py).
    reads = passes = None
    if settings.fast_reads and isinstance(service.backend, PostgresBackend):
        backend = service.backend
        reads = AsyncReads(
            backend.control.url.set(drivername="postgresql").render_as_string(hide_password=False),
            options=backend.connect_options,
            size=settings.db_pool_size,
            max_tenants=settings.db_connection_tenants,
            shards=settings.db_read_shards,
        )
        invalidation = platform.invalidation
        passes = Passes(pushed=lambda: invalidation.pushed)
        platform.invalidation.subscribe(passes.heard)

    def provide_service(request: Request[Any, Any, Any]) -> TenantService:
        actor = getattr(request.state, "actor", None)
        return _Acting(service, actor) if actor else service  # type: ignore[return-value]

    def constant(value: Any) -> Provide:
        return Provide(lambda: value, sync_to_thread=False)

    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=list(settings.cors_headers),
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )
        if settings.cors_origins
        else None
    )
    app = Litestar(
        route_handlers=[
            landing,
            OpsController,
            TenantController,
            MetadataController,
            AppsController,
            SchemaController,
            GraphQLController,
            UiController,
            web_app,
            FilesController,
            HooksController,
            AuthController,
            MemberController,
            UserController,
            # Vendored files carry their version in their path: kept a year, never asked
            # again. The app's own files are revalidated (304) on each load.
            create_static_files_router(
                path="/static/vendor",
                directories=[STATIC / "vendor"],
                include_in_schema=False,
                cache_control=CacheControlHeader(max_age=31_536_000, public=True),
            ),
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                include_in_schema=False,
                cache_control=CacheControlHeader(no_cache=True),
            ),
        ],
        dependencies={
            "service": Provide(provide_service, sync_to_thread=False),
            "apis": constant(platform.apis),
            "catalog": constant(catalog),
            "identity": constant(platform.identity),
            "principals": constant(platform.principals),
            "limiter": constant(platform.limiter),
            "files": constant(platform.files),
        },
        state=State(
            {
                "platform": platform,
                "identity": platform.identity,
                "principals": platform.principals,
                "limiter": platform.limiter,
                "notifier": notifier,
                "metrics": metrics,
                "broker_check": _BrokerCheck(settings.broker_url),
                "inflight": inflight,
                "settings": settings,
                "passes": passes,
                "fast_reads": None,
                # The metadata API's (static) schema and the compiled UI documents.
                "metadata_schema": build_metadata_schema(),
                "ui_cache": CompiledCache(),
            }
        ),
        middleware=[
            DefineMiddleware(ObserveMiddleware, metrics=metrics, access_log=settings.access_log),
            DefineMiddleware(
                InputBoundary,
                rules=InputRules(settings.max_body_bytes, settings.max_json_depth),
            ),
        ],
        request_max_body_size=settings.max_body_bytes,
        # Logging is configured once per process (runtime/observability/logs.py), not by
        # the framework: one format, JSON in production.
        logging_config=None,
        cors_config=cors,
        # Pages, the web app's scripts and the vendored libraries go gzipped (the web app's
        # first load is ~98 KB so); API answers are left alone (their hot path is measured
        # by benchmarks/server_workloads.py, and most are small).
        compression_config=CompressionConfig(
            backend="gzip",
            gzip_compress_level=6,
            minimum_size=1024,
            exclude=[r"^/t/[^/]+/(graphql|metadata|files|hooks)", "^/metrics", "^/auth", "^/api"],
        ),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Tessera admin API",
            version=tessera_version(),
            description="Sign-in, tenants, their metadata and app packs, members, API tokens "
            "and audit log. Send Authorization: Bearer <token>. Errors are RFC 9457 problem "
            "details; see docs/rest-api.md, docs/packs.md and docs/security.md.",
            path="/schema",
            # Served from /static: the docs page works with no internet.
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=vendor.url("swagger-ui-dist", "swagger-ui-bundle.js"),
                    css_url=vendor.url("swagger-ui-dist", "swagger-ui.css"),
                    standalone_preset_js_url=vendor.url(
                        "swagger-ui-dist", "swagger-ui-standalone-preset.js"
                    ),
                    favicon='<link rel="icon" href="/static/favicon.svg">',
                )
            ],
            # Lets Swagger UI's "Authorize" send the token; runtime/server/openapi.py says
            # which operations need it.
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT access token or tsk_ API token",
                    )
                }
            ),
        ),
        on_startup=[platform.listen],
        on_shutdown=[inflight.close, platform.close, *([reads.close] if reads else [])],
    )
    if reads is not None and passes is not None:
        # In front of Litestar's own handling (routing, middleware, exception handlers).
        fast = FastReads(
            app.asgi_handler,
            passes=passes,
            reads=reads,
            invalidation=platform.invalidation,
            limiter=platform.limiter,
            inflight=inflight,
            metrics=metrics,
            access_log=settings.access_log,
            max_json_depth=settings.max_json_depth,
        )
        app.asgi_handler = fast
        app.state.fast_reads = fast
    # Per operation: the credential it needs (none for the public ones) and its errors.
    openapi.document(app)
    return app


STATIC = Path(__file__).parent / "static"


def worker_app() -> Litestar:
    """Build the app in a server worker process started by ``tessera serve --workers N``
    (each builds its own from the environment, and sets up its own logging)."""
    settings = Settings.from_env().check()
    logs.configure(settings.effective_log_format, settings.log_level, process="server")
    return create_app(settings)


def run(settings: Settings) -> None:
    """Serve the application with uvicorn until interrupted (SIGINT or SIGTERM)."""
    import uvicorn

    settings.check()
    logs.configure(settings.effective_log_format, settings.log_level, process="server")
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
    if settings.web_concurrency > 1:
        # Each worker process builds its own app from the environment.
        uvicorn.run(
            "runtime.server.app:worker_app",
            factory=True,
            workers=settings.web_concurrency,
            **options,
        )
    else:
        uvicorn.run(create_app(settings), **options)
