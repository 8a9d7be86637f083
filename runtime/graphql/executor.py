"""Run one GraphQL request against one tenant and return the response as JSON text.

Queries: every data root field is compiled into one statement whose single value is that
field's JSON, built by the database; the response is spliced together from those texts
without parsing them. Introspection fields (``__schema``, ``__type``) describe the
schema, not data, and run through graphql-core's own executor.

Mutations run in order in one transaction: if any fails, none of them happens.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute_sync,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from runtime.graphql.api import Request, TenantApi
from runtime.graphql.automation import QUERIES as AUTOMATION_QUERIES
from runtime.graphql.automation import Resolver
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.roots import compile_root
from runtime.graphql.cost import check_limits
from runtime.graphql.mutations import run_mutations
from runtime.graphql.plans import Root, plan_key, reader_of
from runtime.graphql.responses import (
    collect_root,
    error_json,
    graphql_error,
    response,
    shape_value,
)
from runtime.sql.dialect import dialect_for
from runtime.storage.backends import Backend, bad_data, cancelled

log = logging.getLogger(__name__)

_BAD_DATA = "a value given to {key!r} does not fit the field it is compared with"
TIMEOUT_MESSAGE = (
    "{key!r} ran longer than the server allows and was stopped: ask for less (smaller "
    "pages, fewer levels, narrower filters)"
)


def run(api: TenantApi, backend: Backend, request: Request) -> str:
    """Execute ``request`` and return the response JSON text."""
    # Defence in depth: the caller resolved the principal for this very tenant.
    if request.principal.tenant != request.tenant:
        raise PermissionError("the principal belongs to another tenant")
    document, errors = api.document(request.query)
    if document is None:
        return response(None, [graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        message = (
            f"no operation named {request.operation_name!r}"
            if request.operation_name
            else "the document has several operations: give operationName"
        )
        return response(None, [error_json(message, "BAD_REQUEST")])
    if operation.operation == OperationType.SUBSCRIPTION:
        return response(None, [error_json("subscriptions are not supported", "BAD_REQUEST")])
    schema_name = backend.schema(request.tenant)
    today = dt.datetime.now(ZoneInfo(request.timezone)).date()
    key = None
    if operation.operation == OperationType.QUERY:
        key = plan_key(
            request.query,
            request.operation_name,
            request.variables,
            schema_name,
            today,
            reader_of(request.principal),
            request.locale,
        )
        kept = api.plans.get(key) if key is not None else None
        if kept is not None:
            return _planned(backend, request, kept)
    variables = get_variable_values(
        api.schema, operation.variable_definitions or (), dict(request.variables or {})
    )
    if isinstance(variables, list):
        return response(None, [graphql_error(e, "BAD_USER_INPUT") for e in variables])
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    ctx = Context(
        schema=api.schema,
        shape=api.shape,
        dialect=dialect_for(backend.dialect, schema_name),
        fragments=fragments,
        variables=variables,
        limits=api.limits,
        principal=request.principal,
        today=today,
        timezone=request.timezone,
        request_id=request.request_id,
        locale=request.locale,
    )
    root_type = (
        api.schema.mutation_type
        if operation.operation == OperationType.MUTATION
        else api.schema.query_type
    )
    assert root_type is not None
    try:
        check_limits(ctx, root_type, operation.selection_set)
    except QueryError as exc:
        return response(None, [error_json(exc.message, exc.code, exc.field, field=exc.field)])
    if operation.operation == OperationType.MUTATION:
        return run_mutations(api, backend, request, ctx, operation, document)
    root = api.schema.query_type
    assert root is not None
    selected = collect_root(ctx, root, operation.selection_set)
    plan: list[Root] | None = [] if key is not None else None

    def each(conn: Connection, errors: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        if plan is not None:
            plan.clear()  # a second attempt (a dropped connection) starts the plan again
        for name, nodes in selected.items():
            yield (
                name,
                _root(
                    ctx,
                    conn,
                    backend,
                    request,
                    api,
                    document,
                    operation,
                    variables,
                    name,
                    nodes,
                    errors,
                    plan,
                ),
            )

    text = _reading(backend, request, each)
    if plan is not None and key is not None and len(plan) == len(selected):
        api.plans.put(key, tuple(plan))
    return text


def _planned(backend: Backend, request: Request, plan: tuple[Root, ...]) -> str:
    """Run a kept plan: its statements, nothing compiled."""

    def each(conn: Connection, errors: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        for root in plan:
            if root.sql is None:
                yield root.key, root.text
            else:
                yield root.key, _execute(conn, root.sql, root.params, root.key, errors)

    return _reading(backend, request, each)


def _reading(
    backend: Backend,
    request: Request,
    each: Callable[[Connection, list[dict[str, Any]]], Iterator[tuple[str, str]]],
) -> str:
    """Return the response of a query whose root fields ``each`` answers on one
    connection, run once more on a new connection if the first one was dropped."""
    for attempt in (1, 2):
        errors: list[dict[str, Any]] = []
        try:
            with backend.reading(request.tenant) as conn, request.watching(conn):
                data = list(each(conn, errors))
        except _Reconnect:
            # Pooled connections are not pinged before each request (one round trip
            # saved per read): one the server dropped fails here, the pool has let go of
            # every connection as old as it, and the reads run once more on a new one.
            if attempt == 2:
                raise
            continue
        return response(data, errors)
    raise AssertionError("unreachable")


class _Reconnect(Exception):
    """The connection was lost before the request's reads finished (reads are safe to
    run again)."""


def _root(
    ctx: Context,
    conn: Connection,
    backend: Backend,
    request: Request,
    api: TenantApi,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    key: str,
    nodes: list[FieldNode],
    errors: list[dict[str, Any]],
    plan: list[Root] | None = None,
) -> str:
    """Return the JSON text of one root field of a query; add it to ``plan`` if it can
    be kept (data fields, ``__typename``; never introspection or automation)."""
    root = api.schema.query_type
    assert root is not None
    name = nodes[0].name.value
    if name == "__typename":
        text = json.dumps(root.name)
        if plan is not None:
            plan.append(Root(key, None, {}, text))
        return text
    if name.startswith("__"):
        return _introspect(api.schema, document, operation, variables, key, nodes)
    if name in AUTOMATION_QUERIES and root.fields.get(name) is not None:
        schema_name = backend.schema(request.tenant)
        return _automation(
            ctx, conn, schema_name, request, api, document, operation, variables, key, nodes, errors
        )
    ctx.params = {}
    try:
        sql = compile_root(ctx, nodes[0], key)
    except QueryError as exc:
        errors.append(error_json(exc.message, exc.code, [key], field=exc.field))
        return "null"
    params = ctx.params
    if plan is not None:
        plan.append(Root(key, sql, params))
    return _execute(conn, sql, params, key, errors)


def _execute(
    conn: Connection, sql: str, params: Mapping[str, Any], key: str, errors: list[dict[str, Any]]
) -> str:
    """Run one root field's statement; return its JSON text (``null`` on an error, which
    goes to ``errors``)."""
    try:
        value = conn.exec_driver_sql(sql, dict(params)).scalar()
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise _Reconnect from exc
        conn.rollback()
        if cancelled(exc):
            errors.append(error_json(TIMEOUT_MESSAGE.format(key=key), "TIMEOUT", [key]))
            return "null"
        if bad_data(exc):
            log.warning("a value of %r reached the database unchecked: %s", key, exc.orig)
            errors.append(error_json(_BAD_DATA.format(key=key), "BAD_USER_INPUT", [key]))
            return "null"
        log.exception("query of %s failed", key)
        errors.append(
            error_json(
                f"the database could not answer {key!r}: {type(exc.orig).__name__}",
                "INTERNAL_SERVER_ERROR",
                [key],
            )
        )
        return "null"
    return "null" if value is None else value


def _automation(
    ctx: Context,
    conn: Connection,
    schema_name: str | None,
    request: Request,
    api: TenantApi,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    key: str,
    nodes: list[FieldNode],
    errors: list[dict[str, Any]],
) -> str:
    root = api.schema.query_type
    assert root is not None
    name = nodes[0].name.value
    try:
        value = Resolver(ctx, conn, schema_name, request.hooks, request.timezone).query(
            name, ctx.arguments(root.fields[name], nodes[0])
        )
    except QueryError as exc:
        errors.append(error_json(exc.message, exc.code, [key], field=exc.field))
        return "null"
    return shape_value(api.schema, document, operation, variables, key, nodes, name, value)


def _introspect(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    key: str,
    nodes: list[FieldNode],
) -> str:
    only = OperationDefinitionNode(
        operation=operation.operation,
        selection_set=SelectionSetNode(selections=tuple(nodes)),
        variable_definitions=operation.variable_definitions,
    )
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    result = execute_sync(
        schema, DocumentNode(definitions=(only, *fragments)), variable_values=variables.coerced
    )
    return json.dumps((result.data or {}).get(key), ensure_ascii=False)
