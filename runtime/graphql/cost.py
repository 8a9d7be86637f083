"""Depth and cost of a GraphQL operation, checked before anything is compiled.

Cost counts the records a query may return: each list multiplies the records under it
by its page size (``first``/``last``, or the default page size), like GitHub's node
limit. ``{ accounts(first: 50) { nodes { contacts(first: 20) { id } } } }`` costs
50 + 50 × 20 = 1,050.
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    SelectionSetNode,
    get_named_type,
)

from runtime.graphql.compiler.context import Context, QueryError


def _is_list(output: object) -> bool:
    if isinstance(output, GraphQLNonNull):
        output = output.of_type
    return isinstance(output, GraphQLList)


def check_limits(ctx: Context, root: GraphQLObjectType, selection: SelectionSetNode) -> int:
    """Return the operation's cost; raise LIMIT_EXCEEDED past the depth or cost limit."""
    limits = ctx.limits
    cost = 0

    def walk(parent: GraphQLObjectType, nodes: list[FieldNode], depth: int, scale: int) -> None:
        nonlocal cost
        for key, group in ctx.collect(parent, nodes).items():
            name = group[0].name.value
            if name.startswith("__") or name not in parent.fields:
                continue
            definition = parent.fields[name]
            named = get_named_type(definition.type)
            factor = 1
            # A connection's nodes and edges are the page it already counted.
            wrapper = parent.name.endswith(("Connection", "Edge"))
            if not wrapper and (_is_list(definition.type) or named.name.endswith("Connection")):
                args = ctx.arguments(definition, group[0])
                size = args.get("first") or args.get("last") or limits.default_page_size
                factor = max(1, min(int(size), limits.max_page_size))
                cost += scale * factor
                if cost > limits.max_cost:
                    raise QueryError(
                        f"the query may return {cost:,} records or more; the limit is "
                        f"{limits.max_cost:,}: ask for smaller pages (first) or fewer levels",
                        "LIMIT_EXCEEDED",
                        field=[key],
                    )
            members = named.types if isinstance(named, GraphQLUnionType) else [named]
            for member in members:
                if not isinstance(member, GraphQLObjectType) or group[0].selection_set is None:
                    continue
                if depth + 1 > limits.max_depth:
                    raise QueryError(
                        f"the query nests more than {limits.max_depth} levels deep (at "
                        f"{key!r}); the limit is {limits.max_depth}",
                        "LIMIT_EXCEEDED",
                        field=[key],
                    )
                walk(member, group, depth + 1, scale * factor)

    holder = FieldNode(name=None, selection_set=selection)  # type: ignore[arg-type]
    walk(root, [holder], 1, 1)
    return cost
