"""The per-tenant GraphQL endpoint: ``/t/{tenant}/graphql``.

POST takes ``{"query", "variables", "operationName"}``; GET takes the same as query
parameters (queries only, never mutations) or, from a browser, serves GraphiQL.
"""

from __future__ import annotations

import json
from typing import Any

from graphql import OperationType, get_operation_ast
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody

from runtime.graphql.automation import AutomationHooks
from runtime.graphql.cache import ActiveApis
from runtime.graphql.executor import Request as GraphQLRequest
from runtime.graphql.executor import run
from runtime.security.principal import Principal
from runtime.server.auth import authenticate
from runtime.tenants import TenantService

_GRAPHIQL = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Tessera GraphQL · {tenant}</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3.8.3/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script src="https://unpkg.com/graphiql@3.8.3/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }}));
  </script>
</body>
</html>
"""


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


def _principal(request: Request[Any, Any, Any], tenant: str) -> Principal:
    """Authenticate the request, resolve it in ``tenant`` and count it against the rate."""
    caller = authenticate(request)
    principal = request.app.state.principals.resolve(caller, tenant)
    request.app.state.limiter.check(principal.rate_key)
    return principal


class GraphQLController(Controller):
    path = "/t/{tenant:str}/graphql"
    tags = ["graphql"]

    def _run(
        self,
        request: Request[Any, Any, Any],
        apis: ActiveApis,
        service: TenantService,
        tenant: str,
        body: dict[str, Any],
    ) -> Response[str]:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValidationException("the request needs a GraphQL document in 'query'")
        operation = body.get("operationName")
        if operation is not None and not isinstance(operation, str):
            raise ValidationException("operationName must be a string")
        principal = _principal(request, tenant)
        api, timezone = apis.get(tenant, principal.grants)
        state = request.app.state
        hooks = AutomationHooks(
            members=state.identity.members, after_commit=state.notifier.after_commit
        )
        graphql_request = GraphQLRequest(
            tenant, principal, query, _variables(body.get("variables")), operation, timezone, hooks
        )
        return Response(run(api, service.backend, graphql_request), media_type=MediaType.JSON)

    @post("/", sync_to_thread=True, status_code=200, summary="Run a GraphQL request")
    def post_graphql(
        self,
        request: Request[Any, Any, Any],
        apis: NamedDependency[ActiveApis],
        service: NamedDependency[TenantService],
        tenant: FromPath[str],
        data: JSONBody[dict[str, Any]],
    ) -> Response[str]:
        return self._run(request, apis, service, tenant, data)

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
            # The page itself holds no data; its requests carry the credentials.
            return Response(_GRAPHIQL.format(tenant=tenant), media_type=MediaType.HTML)
        api, _ = apis.get(tenant, _principal(request, tenant).grants)
        document, _errors = api.document(params["query"])
        op = get_operation_ast(document, params.get("operationName")) if document else None
        if op is not None and op.operation == OperationType.MUTATION:
            raise ValidationException("mutations change data, so they need POST")
        body = {k: params.get(k) for k in ("query", "variables", "operationName")}
        return self._run(request, apis, service, tenant, body)
