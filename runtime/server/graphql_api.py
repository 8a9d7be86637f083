"""The per-tenant GraphQL endpoint: ``/t/{tenant}/graphql``.

POST takes ``{"query", "variables", "operationName"}``; GET takes the same as query
parameters (queries only, never mutations) or, from a browser, serves GraphiQL.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from graphql import OperationType, get_operation_ast
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath
from litestar.response.base import ASGIResponse

from runtime.graphql.automation import AutomationHooks
from runtime.graphql.cache import ActiveApis
from runtime.graphql.executor import Request as GraphQLRequest
from runtime.graphql.executor import run
from runtime.graphql.responses import error_json, response
from runtime.server import pages
from runtime.server.auth import resolve_principal
from runtime.server.inputs import JSON_BODY, NOT_JSON
from runtime.storage.cancel import Cancellation, Cancelled
from runtime.tenants import TenantService
from ui_schema.locales import negotiate


def _operation_type(api: Any, query: str, name: str | None) -> str:
    """Return query, mutation or subscription (``invalid`` if it does not parse); the
    document is cached, so this costs a dictionary look-up."""
    document, _errors = api.document(query)
    op = get_operation_ast(document, name) if document else None
    return op.operation.value if op is not None else "invalid"


def localized(text: str, accept_language: str | None) -> str:
    """Return the response with its errors' messages in the caller's language: an error
    with ``extensions.messages`` (a validation rule's, a refusal's own) says it in zh-CN
    to a caller whose Accept-Language prefers Chinese. Answers without errors, and
    English callers', are returned as they are (not parsed)."""
    if not accept_language or '"errors"' not in text:
        return text
    locale = negotiate(accept_language)
    if locale == "en":
        return text
    body = json.loads(text)
    for error in body.get("errors") or ():
        messages = (error.get("extensions") or {}).get("messages") or {}
        if isinstance(messages, dict) and messages.get(locale):
            error["message"] = messages[locale]
    return json.dumps(body, ensure_ascii=False)


def _variables(raw: Any) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationException(f"variables is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValidationException("variables must be a JSON object")
    return raw


@dataclass
class _PostOperation(Operation):
    """The POST operation's OpenAPI entry: its body is read by hand (not a parameter)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            content={
                MediaType.JSON: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["query"],
                        properties={
                            "query": Schema(type=OpenAPIType.STRING),
                            "variables": Schema(type=OpenAPIType.OBJECT),
                            "operationName": Schema(type=OpenAPIType.STRING),
                        },
                    )
                )
            },
        )


class GraphQLController(Controller):
    path = "/t/{tenant:str}/graphql"
    tags = ["graphql"]

    async def _serve(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        tenant: str,
        body: dict[str, Any],
    ) -> Response[str]:
        """Run the request in a worker thread; if the client goes away while it runs,
        its statements are cancelled (runtime/server/inflight.py)."""
        return await request.app.state.inflight.run(
            request.receive,
            lambda cancellation: self._run(request, apis, service, tenant, body, cancellation),
        )

    def _run(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        tenant: str,
        body: dict[str, Any],
        cancellation: Cancellation | None = None,
    ) -> Response[str]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValidationException("the request needs a GraphQL document in 'query'")
        operation = body.get("operationName")
        if operation is not None and not isinstance(operation, str):
            raise ValidationException("operationName must be a string")
        state = request.app.state
        passes = state.passes
        epoch = passes.epoch(tenant) if passes is not None else None
        principal, generation = resolve_principal(request, tenant)
        api, timezone = apis.get(tenant, principal.grants, generation)
        if passes is not None and epoch is not None:
            # The next request with this credential may take the fast lane
            # (runtime/server/fast_reads.py), with what was resolved here.
            passes.remember(
                tenant,
                request.headers.get("authorization"),
                principal,
                api,
                service.backend.schema(tenant),
                timezone,
                request.state.generations,
                request.state.caller.expires,
                epoch,
            )
        hooks = AutomationHooks(
            members=state.identity.members, after_commit=state.notifier.after_commit
        )
        graphql_request = GraphQLRequest(
            tenant,
            principal,
            query,
            _variables(body.get("variables")),
            operation,
            timezone,
            hooks,
            request_id=request.state.get("request_id"),
            cancellation=cancellation,
            locale=negotiate(request.headers.get("accept-language")),
        )
        started = time.perf_counter()
        try:
            text = run(api, service.backend, graphql_request)
        except Cancelled:
            # The client left before a statement started (a slow parse, a busy server):
            # nothing ran, and the answer, which nobody reads, says so.
            text = response(
                None, [error_json("the client went away before the request ran", "TIMEOUT")]
            )
        text = localized(text, request.headers.get("accept-language"))
        if state.metrics is not None:
            state.metrics.graphql.labels(
                _operation_type(api, query, operation), state.metrics.tenant_class(tenant)
            ).observe(time.perf_counter() - started)
        return Response(text, media_type=MediaType.JSON)

    @post(
        "/",
        status_code=200,
        summary="Run a GraphQL request",
        operation_class=_PostOperation,
    )
    async def post_graphql(
        self, request: Request[Any, Any, Any], tenant: FromPath[str]
    ) -> ASGIResponse:
        """The hot path: the request's JSON as the input boundary already decoded it (not
        parsed again), the platform's parts from the app's state (not dependencies), and
        the response's bytes sent as they are (no response model). Litestar's own path
        for these cost a quarter of a one-record read's server CPU (issue 17)."""
        body = request.scope.get("state", {}).get(JSON_BODY, NOT_JSON)
        if body is NOT_JSON:
            try:
                body = msgspec.json.decode(await request.body())
            except msgspec.DecodeError:
                raise ValidationException("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValidationException(
                'the request body must be a JSON object: {"query": "...", "variables": {...}}'
            )
        platform = request.app.state.platform
        response = await self._serve(request, platform.apis, platform.service, tenant, body)
        return ASGIResponse(body=response.content, media_type=MediaType.JSON, status_code=200)

    @get("/", sync_to_thread=True, summary="GraphiQL, or a query given as parameters")
    def get_graphql(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
    ) -> Response[str]:
        params = request.query_params
        if "query" not in params:
            if "text/html" in request.headers.get("accept", ""):
                # The page itself holds no data; its requests carry the credentials.
                return pages.graphiql_or_404(service, tenant)
            # An API client gets JSON, as from every other answer of this endpoint.
            raise ValidationException(
                "the request needs a GraphQL document in the query parameter 'query' (open "
                "this address in a browser for GraphiQL)"
            )
        principal, generation = resolve_principal(request, tenant)
        api, _ = apis.get(tenant, principal.grants, generation)
        document, _errors = api.document(params["query"])
        op = get_operation_ast(document, params.get("operationName")) if document else None
        if op is not None and op.operation == OperationType.MUTATION:
            raise ValidationException("mutations change data, so they need POST")
        body = {k: params.get(k) for k in ("query", "variables", "operationName")}
        return self._run(request, apis, service, tenant, body)
