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
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from threading import Lock
from typing import Any
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from runtime.graphql.automation import QUERIES as AUTOMATION_QUERIES
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.roots import compile_root
from runtime.graphql.cost import check_limits
from runtime.graphql.validation import RULES
from runtime.limits import Limits
from runtime.model.shape import ApiShape
from runtime.security.principal import Principal
from runtime.sql.dialect import dialect_for
from runtime.storage.backends import Backend, bad_data, cancelled
from runtime.storage.cancel import Cancellation

log = logging.getLogger(__name__)

_BAD_DATA = "a value given to {key!r} does not fit the field it is compared with"
_TIMEOUT = (
    "{key!r} ran longer than the server allows and was stopped: ask for less (smaller "
    "pages, fewer levels, narrower filters)"
)


@dataclass
class TenantApi:
    """A built schema with its shape and its cache of parsed, validated documents.

    Tenants with the same metadata content hash share one TenantApi.
    """

    shape: ApiShape
    schema: GraphQLSchema
    limits: Limits
    _documents: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = field(
        default_factory=OrderedDict
    )
    _lock: Lock = field(default_factory=Lock)

    def document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Return ``query`` parsed and validated (cached), or the errors that stop it."""
        with self._lock:
            hit = self._documents.get(query)
            if hit is not None:
                self._documents.move_to_end(query)
                return hit
        try:
            document: DocumentNode | None = parse(query)
            errors = validate(self.schema, document, RULES)
        except GraphQLError as exc:
            document, errors = None, [exc]
        entry = (document if not errors else None, list(errors))
        with self._lock:
            self._documents[query] = entry
            while len(self._documents) > self.limits.document_cache_size:
                self._documents.popitem(last=False)
        return entry


@dataclass(frozen=True)
class Request:
    """One GraphQL request for one tenant, run as ``principal``."""

    tenant: str
    principal: Principal
    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    timezone: str = "UTC"
    hooks: Any = None
    """AutomationHooks (runtime/graphql/automation.py): members for approvals, and what to
    do after a commit (start runs, wake the dispatcher). None: nothing after commits."""
    request_id: str | None = None
    """Carried into the outbox events the request's writes append."""
    cancellation: Cancellation | None = None
    """Lets the server stop the request's statements when its client goes away."""

    def watching(self, conn: Connection) -> AbstractContextManager[Connection]:
        """Run the block with ``conn`` open to cancellation (if the request has one)."""
        if self.cancellation is None:
            return nullcontext(conn)
        return self.cancellation.watching(conn)


def error_json(
    message: str, code: str, path: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if path:
        out["path"] = path
    out["extensions"] = {"code": code, **{k: v for k, v in extra.items() if v is not None}}
    return out


def _graphql_error(error: GraphQLError, code: str) -> dict[str, Any]:
    out = error.formatted
    out.setdefault("extensions", {})["code"] = code
    return dict(out)


def _response(
    data: list[tuple[str, str]] | None, errors: list[dict[str, Any]], *, executed: bool = False
) -> str:
    """Return the response text; ``executed`` requests without data say ``"data": null``
    (the spec's way to tell execution errors from request errors)."""
    parts = []
    if errors:
        parts.append('"errors":' + json.dumps(errors, ensure_ascii=False))
    if data is None and executed:
        parts.append('"data":null')
    elif data is not None:
        parts.append('"data":{' + ",".join(f"{json.dumps(k)}:{v}" for k, v in data) + "}")
    return "{" + ",".join(parts) + "}"


def run(api: TenantApi, backend: Backend, request: Request) -> str:
    """Execute ``request`` and return the response JSON text."""
    # Defence in depth: the caller resolved the principal for this very tenant.
    if request.principal.tenant != request.tenant:
        raise PermissionError("the principal belongs to another tenant")
    document, errors = api.document(request.query)
    if document is None:
        return _response(None, [_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        message = (
            f"no operation named {request.operation_name!r}"
            if request.operation_name
            else "the document has several operations: give operationName"
        )
        return _response(None, [error_json(message, "BAD_REQUEST")])
    if operation.operation == OperationType.SUBSCRIPTION:
        return _response(None, [error_json("subscriptions are not supported", "BAD_REQUEST")])
    variables = get_variable_values(
        api.schema, operation.variable_definitions or (), dict(request.variables or {})
    )
    if isinstance(variables, list):
        return _response(None, [_graphql_error(e, "BAD_USER_INPUT") for e in variables])
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    schema_name = backend.schema(request.tenant)
    ctx = Context(
        schema=api.schema,
        shape=api.shape,
        dialect=dialect_for(backend.dialect, schema_name),
        fragments=fragments,
        variables=variables,
        limits=api.limits,
        principal=request.principal,
        today=dt.datetime.now(ZoneInfo(request.timezone)).date(),
        request_id=request.request_id,
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
        return _response(None, [error_json(exc.message, exc.code, exc.field, field=exc.field)])
    if operation.operation == OperationType.MUTATION:
        from runtime.graphql.mutations import run_mutations

        return run_mutations(api, backend, request, ctx, operation, document)
    root = api.schema.query_type
    assert root is not None
    selected = collect_root(ctx, root, operation.selection_set)
    data: list[tuple[str, str]] = []
    out_errors: list[dict[str, Any]] = []
    with backend.read_tenant(request.tenant) as conn, request.watching(conn):
        for key, nodes in selected.items():
            name = nodes[0].name.value
            if name == "__typename":
                data.append((key, json.dumps(root.name)))
            elif name.startswith("__"):
                data.append(
                    (key, _introspect(api.schema, document, operation, variables, key, nodes))
                )
            elif name in AUTOMATION_QUERIES and root.fields.get(name) is not None:
                data.append(
                    (
                        key,
                        _automation(
                            ctx,
                            conn,
                            backend.schema(request.tenant),
                            request,
                            api,
                            document,
                            operation,
                            variables,
                            key,
                            nodes,
                            out_errors,
                        ),
                    )
                )
            else:
                data.append((key, _query_field(ctx, conn, nodes[0], key, out_errors)))
    return _response(data, out_errors)


def collect_root(
    ctx: Context, root: GraphQLObjectType, selection_set: SelectionSetNode
) -> dict[str, list[FieldNode]]:
    """Return the root fields of an operation by response key."""
    holder = FieldNode(name=None, selection_set=selection_set)  # type: ignore[arg-type]
    return ctx.collect(root, [holder])


def _query_field(
    ctx: Context, conn: Connection, node: FieldNode, key: str, errors: list[dict[str, Any]]
) -> str:
    ctx.params = {}
    try:
        sql = compile_root(ctx, node, key)
        value = conn.exec_driver_sql(sql, ctx.params).scalar()
    except QueryError as exc:
        errors.append(error_json(exc.message, exc.code, [key], field=exc.field))
        return "null"
    except DBAPIError as exc:
        conn.rollback()
        if cancelled(exc):
            errors.append(error_json(_TIMEOUT.format(key=key), "TIMEOUT", [key]))
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
    from runtime.graphql.automation import Resolver

    root = api.schema.query_type
    assert root is not None
    name = nodes[0].name.value
    try:
        value = Resolver(ctx, conn, schema_name, request.hooks).query(
            name, ctx.arguments(root.fields[name], nodes[0])
        )
    except QueryError as exc:
        errors.append(error_json(exc.message, exc.code, [key], field=exc.field))
        return "null"
    return shape_value(api.schema, document, operation, variables, key, nodes, name, value)


def shape_value(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
    key: str,
    nodes: list[FieldNode],
    name: str,
    value: Any,
) -> str:
    """Return ``value`` (plain dicts and lists) with the selection of ``nodes`` applied,
    by graphql-core's executor with the default resolvers."""
    only = OperationDefinitionNode(
        operation=operation.operation,
        selection_set=SelectionSetNode(selections=tuple(nodes)),
        variable_definitions=operation.variable_definitions,
    )
    fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
    result = execute_sync(
        schema,
        DocumentNode(definitions=(only, *fragments)),
        root_value={name: value},
        variable_values=variables.coerced,
    )
    if result.errors:
        raise QueryError(result.errors[0].message, "INTERNAL_SERVER_ERROR")
    return json.dumps((result.data or {}).get(key), ensure_ascii=False)


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
