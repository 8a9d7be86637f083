"""The Litestar application: health, admin REST API and its OpenAPI docs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from sqlalchemy import text

from metadata.packs.catalog import APPS_DIR, Catalog
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.security.identity import Identity, load_secret
from runtime.security.principal import Principals
from runtime.security.rate import RateLimiter
from runtime.server.apps_api import AppsController
from runtime.server.auth import AuthController, MemberController, UserController
from runtime.server.graphql_api import GraphQLController
from runtime.server.hooks_api import HooksController
from runtime.server.metadata_api import MetadataController
from runtime.server.problems import EXCEPTION_HANDLERS
from runtime.server.schema_api import SchemaController
from runtime.server.tenants_api import TenantController
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService
from runtime.workflows.worker import Notifier


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
    """Return the application, building the service from ``settings`` unless given one."""
    settings = settings or Settings.from_env()
    if service is None:
        backend = make_backend(settings)
        backend.prepare()
        service = TenantService(backend)

    apis = ActiveApis(service, SchemaCache(limits=settings.limits))
    identity = Identity(service.backend, load_secret(settings))
    principals = Principals(service, identity)
    limiter = RateLimiter(settings.rate_per_minute)
    # Wakes the workflow dispatcher after commits; sending is best effort (the beat
    # catches up), and nothing connects to the broker until a tenant has workflows.
    notifier = Notifier(settings)

    def provide_service(request: Request[Any, Any, Any]) -> TenantService:
        actor = getattr(request.state, "actor", None)
        return _Acting(service, actor) if actor else service  # type: ignore[return-value]

    def provide_apis() -> ActiveApis:
        return apis

    # One catalog for the server's life: each pack is read and checked once.
    catalog = catalog or Catalog(settings.apps_dir or APPS_DIR)

    def provide_catalog() -> Catalog:
        return catalog

    def provide_identity() -> Identity:
        return identity

    def provide_principals() -> Principals:
        return principals

    def provide_limiter() -> RateLimiter:
        return limiter

    return Litestar(
        route_handlers=[
            health,
            TenantController,
            MetadataController,
            AppsController,
            SchemaController,
            GraphQLController,
            HooksController,
            AuthController,
            MemberController,
            UserController,
        ],
        dependencies={
            "service": Provide(provide_service, sync_to_thread=False),
            "apis": Provide(provide_apis, sync_to_thread=False),
            "catalog": Provide(provide_catalog, sync_to_thread=False),
            "identity": Provide(provide_identity, sync_to_thread=False),
            "principals": Provide(provide_principals, sync_to_thread=False),
            "limiter": Provide(provide_limiter, sync_to_thread=False),
        },
        state=State(
            {
                "identity": identity,
                "principals": principals,
                "limiter": limiter,
                "notifier": notifier,
            }
        ),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="Tessera admin API",
            version=_version(),
            description="Sign-in, tenants, their metadata and app packs, members, API tokens "
            "and audit log. Send Authorization: Bearer <token>. Errors are RFC 9457 problem "
            "details; see docs/rest-api.md, docs/packs.md and docs/security.md.",
            path="/schema",
            # Lets Swagger UI's "Authorize" send the token; /health and /auth/* need none.
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        bearer_format="JWT access token or tsk_ API token",
                    )
                }
            ),
            security=[{"bearer": []}],
        ),
        on_shutdown=[service.backend.dispose],
    )


def run(settings: Settings) -> None:
    """Serve the application with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
