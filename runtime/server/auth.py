"""Sign-in endpoints, the guards every other endpoint uses, and identity administration.

Guards authenticate the ``Authorization: Bearer`` header (a JWT access token or an API
token) and store the caller in ``request.state``:

- ``platform_admin``: tenant management and users (platform admins only);
- ``tenant_admin``: a tenant's metadata, members, tokens and audit log (its admins, or
  platform admins signed in to the platform).

A credential issued for one tenant never passes a guard of another (``Principals``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Struct

from runtime.coordination.invalidation import Generations
from runtime.security import audit
from runtime.security.identity import Caller, Forbidden, Identity
from runtime.security.principal import Principal, Principals
from runtime.security.rate import RateLimited
from runtime.server.bodies import INT64_MAX, Days, Label
from runtime.server.fast_reads import RATE_COUNTED
from runtime.tenants import TenantService


def _security(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[Identity, Principals]:
    state = connection.app.state
    return state.identity, state.principals


def authenticate(
    connection: ASGIConnection[Any, Any, Any, Any], generations: Generations | None = None
) -> Caller:
    """Return the request's caller (raise AuthError without valid credentials)."""
    identity, _ = _security(connection)
    caller = identity.authenticate(connection.headers.get("authorization"), generations)
    connection.state.caller = caller
    connection.state.actor = caller.actor
    return caller


def platform_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    caller = authenticate(connection)
    if not caller.platform_admin or caller.tenant is not None:
        raise Forbidden("this needs a platform admin signed in to the platform (no tenant)")


def tenant_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    caller = authenticate(connection)
    _, principals = _security(connection)
    tenant = connection.path_params["tenant"]
    principal = principals.resolve(caller, tenant)
    if not principal.tenant_admin:
        raise Forbidden(f"this needs an admin of tenant {tenant!r}")
    connection.state.principal = principal


class Login(Struct, forbid_unknown_fields=True):
    email: str
    password: str
    tenant: str | None = None
    """The tenant to sign in to; leave out for a platform admin's platform sign-in."""


class Refresh(Struct, forbid_unknown_fields=True):
    refresh_token: str


class MemberChange(Struct, forbid_unknown_fields=True):
    role: str | None = None
    permission_sets: list[str] = []
    tenant_admin: bool = False
    manager: str | msgspec.UnsetType | None = msgspec.UNSET
    """E-mail of the member this one reports to (null: nobody; absent: unchanged)."""


class TokenCreate(Struct, forbid_unknown_fields=True):
    name: Label
    user: str
    """E-mail of the member the token acts as."""
    role: str | None = None
    expires_in_days: Days | None = None


class UserCreate(Struct, forbid_unknown_fields=True):
    email: str
    password: str | None = None
    display_name: Label | None = None
    platform_admin: bool = False


class PasswordChange(Struct, forbid_unknown_fields=True):
    current_password: str
    new_password: str


class Activation(Struct, forbid_unknown_fields=True):
    active: bool


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/login", sync_to_thread=True, status_code=200, summary="Sign in with a password")
    def login(self, identity: NamedDependency[Identity], data: JSONBody[Login]) -> dict[str, Any]:
        return identity.login(data.email, data.password, data.tenant)

    @post("/refresh", sync_to_thread=True, status_code=200, summary="Rotate a refresh token")
    def refresh(
        self, identity: NamedDependency[Identity], data: JSONBody[Refresh]
    ) -> dict[str, Any]:
        return identity.refresh(data.refresh_token)

    @post("/logout", sync_to_thread=True, status_code=200, summary="End a refresh token")
    def logout(
        self, identity: NamedDependency[Identity], data: JSONBody[Refresh]
    ) -> dict[str, Any]:
        identity.logout(data.refresh_token)
        return {"signed_out": True}

    @post("/password", sync_to_thread=True, status_code=200, summary="Change your password")
    def change_password(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[PasswordChange],
    ) -> dict[str, Any]:
        caller = authenticate(request)
        if caller.token_id is not None:
            raise Forbidden("sign in with your password to change it; API tokens cannot")
        identity.change_password(caller.user_id, data.current_password, data.new_password)
        return {"changed": True, "signed_out_everywhere": True}

    @get("/me", sync_to_thread=True, summary="Who the credentials belong to")
    def me(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        caller = authenticate(request)
        return {
            "user_id": str(caller.user_id),
            "email": caller.email,
            "tenant": caller.tenant,
            "platform_admin": caller.platform_admin,
            "token": str(caller.token_id) if caller.token_id else None,
            "role": caller.token_role,
        }


def _known(service: TenantService, tenant: str) -> tuple[set[str], set[str]]:
    _, snapshot = service.active(tenant)
    security = snapshot.model.security
    return set(security.roles), set(security.permission_sets)


def _member_view(request: Request[Any, Any, Any], member: Any) -> dict[str, Any]:
    """A member as a tenant admin sees them: whether the user is also a platform admin
    is the platform's business, shown only to platform admins."""
    view = member.to_dict()
    if not request.state.caller.platform_admin:
        view["user"].pop("platform_admin", None)
    return view


class MemberController(Controller):
    path = "/api/tenants/{tenant:str}"
    tags = ["identity"]
    guards = [tenant_admin]

    @get("/members", sync_to_thread=True, summary="The tenant's members")
    def members(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        tenant: FromPath[str],
    ) -> list[dict[str, Any]]:
        return [_member_view(request, m) for m in identity.members(tenant)]

    @put(
        "/members/{email:str}",
        sync_to_thread=True,
        summary="Add a member or change them",
        description="An e-mail without an account is invited: a user without a password "
        "is made (the answer is the same either way, so it tells nothing about who else "
        "uses the platform).",
    )
    def set_member(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        email: FromPath[str],
        data: JSONBody[MemberChange],
    ) -> dict[str, Any]:
        roles, sets = _known(service, tenant)
        member = identity.set_membership(
            tenant,
            email,
            role=data.role,
            permission_sets=data.permission_sets,
            tenant_admin=data.tenant_admin,
            actor=request.state.actor,
            known_roles=roles,
            known_sets=sets,
            **({} if data.manager is msgspec.UNSET else {"manager": data.manager}),
        )
        return _member_view(request, member)

    @delete("/members/{email:str}", sync_to_thread=True, status_code=200, summary="Remove")
    def remove_member(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        tenant: FromPath[str],
        email: FromPath[str],
    ) -> dict[str, Any]:
        identity.remove_membership(tenant, email, actor=request.state.actor)
        return {"removed": email}

    @get("/tokens", sync_to_thread=True, summary="API tokens (never their secrets)")
    def tokens(
        self, identity: NamedDependency[Identity], tenant: FromPath[str]
    ) -> list[dict[str, Any]]:
        return [t.to_dict() for t in identity.tokens(tenant)]

    @post("/tokens", sync_to_thread=True, summary="Create an API token (secret shown once)")
    def create_token(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        data: JSONBody[TokenCreate],
    ) -> dict[str, Any]:
        roles, _ = _known(service, tenant)
        token, secret = identity.create_token(
            tenant,
            data.user,
            name=data.name,
            role=data.role,
            expires_in_days=data.expires_in_days,
            actor=request.state.actor,
            known_roles=roles,
        )
        return {**token.to_dict(), "secret": secret}

    @delete("/tokens/{token_id:str}", sync_to_thread=True, status_code=200, summary="Revoke")
    def revoke_token(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        tenant: FromPath[str],
        token_id: FromPath[str],
    ) -> dict[str, Any]:
        identity.revoke_token(token_id, tenant=tenant, actor=request.state.actor)
        return {"revoked": token_id}

    @get("/audit", sync_to_thread=True, summary="The tenant's audit log, newest first")
    def audit_log(
        self,
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        kind: Annotated[list[str] | None, QueryParameter(description="Only these kinds")] = None,
        before: Annotated[
            int | None, QueryParameter(ge=1, le=INT64_MAX, description="Entries older than id")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        with service.backend.connect_control() as conn:
            entries = audit.read(conn, tenant=tenant, kinds=kind, before=before, limit=limit)
        return [e.to_dict() for e in entries]


class UserController(Controller):
    path = "/api/users"
    tags = ["identity"]
    guards = [platform_admin]

    @get("/", sync_to_thread=True, summary="Every user")
    def users(self, identity: NamedDependency[Identity]) -> list[dict[str, Any]]:
        return [u.to_dict() for u in identity.users()]

    @post("/", sync_to_thread=True, summary="Create a user")
    def create_user(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        data: JSONBody[UserCreate],
    ) -> dict[str, Any]:
        user = identity.create_user(
            data.email,
            data.password,
            display_name=data.display_name,
            platform_admin=data.platform_admin,
            actor=request.state.actor,
        )
        return user.to_dict()

    @put("/{email:str}/active", sync_to_thread=True, summary="Activate or deactivate a user")
    def set_active(
        self,
        request: Request[Any, Any, Any],
        identity: NamedDependency[Identity],
        email: FromPath[str],
        data: JSONBody[Activation],
    ) -> dict[str, Any]:
        return identity.set_active(email, data.active, actor=request.state.actor).to_dict()

    @get("/audit", sync_to_thread=True, summary="The whole audit log, newest first")
    def audit_log(
        self,
        service: NamedDependency[TenantService],
        kind: Annotated[list[str] | None, QueryParameter(description="Only these kinds")] = None,
        before: Annotated[
            int | None, QueryParameter(ge=1, le=INT64_MAX, description="Entries older than id")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        with service.backend.connect_control() as conn:
            entries = audit.read(conn, kinds=kind, before=before, limit=limit)
        return [e.to_dict() for e in entries]


def resolve_principal(request: Request[Any, Any, Any], tenant: str) -> tuple[Principal, int]:
    """Authenticate the request, resolve it in ``tenant`` and count it against the rate;
    return the principal and the tenant's cache generation.

    The generations are read once (one round trip to a shared store), and every cache
    the request consults judges its entries by them: a token revoked or a member changed
    in another process a moment ago is not served from this one's cache.
    """
    state = request.app.state
    generations = state.platform.invalidation.generations(tenant)
    caller = authenticate(request, generations)
    principal = state.principals.resolve(caller, tenant, generations)
    request.state.generations = generations
    if request.scope.get("state", {}).get(RATE_COUNTED):
        return principal, generations.tenant  # the fast lane counted it, then fell through
    try:
        state.limiter.check(principal.rate_key)
    except RateLimited:
        if state.metrics is not None:
            state.metrics.rate_limited.labels(state.metrics.tenant_class(tenant)).inc()
        raise
    return principal, generations.tenant
