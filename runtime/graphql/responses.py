"""Response text: errors in the GraphQL shape, data spliced from JSON texts, and values
shaped by a selection."""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute_sync,
)
from graphql.execution.values import VariableValues

from runtime.graphql.compiler.context import Context, QueryError


def error_json(
    message: str, code: str, path: list[Any] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if path:
        out["path"] = path
    out["extensions"] = {"code": code, **{k: v for k, v in extra.items() if v is not None}}
    return out


def graphql_error(error: GraphQLError, code: str) -> dict[str, Any]:
    out = error.formatted
    out.setdefault("extensions", {})["code"] = code
    return dict(out)


def response(
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


def collect_root(
    ctx: Context, root: GraphQLObjectType, selection_set: SelectionSetNode
) -> dict[str, list[FieldNode]]:
    """Return the root fields of an operation by response key."""
    holder = FieldNode(name=None, selection_set=selection_set)  # type: ignore[arg-type]
    return ctx.collect(root, [holder])


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
