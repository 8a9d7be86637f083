"""Translate a GraphQL root field into the query IR (``runtime.query.ir``).

This is the only place that reads GraphQL documents for data: it expands fragments and
directives, applies variables and defaults, and names what each selection asks for. SQL
is written from the IR by ``runtime.query``, as for any other reader of records.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLUnionType

from metadata.identifiers import camel_case
from runtime.graphql.compiler.context import Context, QueryError
from runtime.model.shape import ObjectShape
from runtime.query import ir
from runtime.query.build import condition, page_size, sorts
from runtime.query.views import view_condition

Path = list[str | int]

#: Composite kinds: their value is an object of parts.
_COMPOSITE_TYPES = ("currency", "address", "geolocation", "attachment")


def translate_root(ctx: Context, node: FieldNode, key: str) -> ir.Query | None:
    """Return the query of root field ``node`` (None for ``_empty``, which reads nothing)."""
    query = ctx.schema.query_type
    assert query is not None
    name = node.name.value
    args = ctx.arguments(query.fields[name], node)
    path: Path = [key]
    if name == "search":
        return _search(ctx, node, args, path)
    if name == "_empty":
        return None
    for s in ctx.shape.objects.values():
        if name == s.single:
            select = record_select(ctx, s, [node], path)
            return ir.GetRecord(
                s.name, args["id"], select, bool(args.get("includeDeleted")), tuple(path)
            )
        if name == s.plural:
            return _list(ctx, s, node, args, path)
        if name == f"{s.plural}Aggregate":
            return _aggregate(ctx, s, node, args, path)
    raise QueryError(f"unknown root field {name!r}", "GRAPHQL_VALIDATION_FAILED")


def _object_type(ctx: Context, name: str) -> GraphQLObjectType:
    gtype = ctx.schema.get_type(name)
    assert isinstance(gtype, GraphQLObjectType)
    return gtype


def record_select(ctx: Context, s: ObjectShape, nodes: list[FieldNode], path: Path) -> ir.Select:
    """Return what ``nodes``' selection sets ask of a record of ``s``."""
    gtype = _object_type(ctx, s.type_name)
    return _select(ctx, s, gtype, ctx.collect(gtype, nodes), path)


def _select(
    ctx: Context,
    s: ObjectShape,
    gtype: GraphQLObjectType,
    selected: dict[str, list[FieldNode]],
    path: Path,
) -> ir.Select:
    items: list[tuple[str, ir.Item]] = []
    for key, nodes in selected.items():
        name = nodes[0].name.value
        if name == "__typename":
            items.append((key, ir.Text(s.type_name)))
        elif name in s.fields:
            f = s.fields[name]
            if f.type == "polymorphic_lookup":
                items.append((key, _polymorphic(ctx, s, name, nodes, [*path, key])))
            elif f.type in _COMPOSITE_TYPES:
                parts_type = gtype.fields[name].type
                while not isinstance(parts_type, GraphQLObjectType):
                    parts_type = parts_type.of_type
                items.append((key, ir.Parts(name, _parts(ctx, parts_type, nodes))))
            else:
                items.append((key, ir.Value(name)))
        elif name in s.id_fields:
            items.append((key, ir.Value(name)))
        elif name not in s.relations and name.endswith("Label") and name[:-5] in s.fields:
            f = s.fields[name[:-5]]
            labels = tuple((v.value, v.label.get(ctx.locale)) for v in f.values)
            items.append((key, ir.Label(name[:-5], labels)))
        elif name == "fieldHistory":
            items.append((key, _history(ctx, s, gtype, nodes, [*path, key])))
        else:
            items.append((key, _relation(ctx, s, name, gtype, nodes, [*path, key])))
    return ir.Select(s.name, tuple(items))


def _parts(
    ctx: Context, gtype: GraphQLObjectType, nodes: list[FieldNode]
) -> tuple[tuple[str, str | ir.Text], ...]:
    """The parts asked of an object type without arguments (a currency amount, an edge,
    page info): each by its field name, ``__typename`` as the type's name."""
    return tuple(
        (key, ir.Text(gtype.name) if sub[0].name.value == "__typename" else sub[0].name.value)
        for key, sub in ctx.collect(gtype, nodes).items()
    )


def _polymorphic(
    ctx: Context, s: ObjectShape, name: str, nodes: list[FieldNode], path: Path
) -> ir.OneOf:
    union = ctx.schema.get_type(f"{s.type_name}{name[:1].upper()}{name[1:]}")
    assert isinstance(union, GraphQLUnionType)
    branches = []
    for gtype in union.types:
        target = ctx.shape.by_type[gtype.name]
        branches.append(_select(ctx, target, gtype, ctx.collect(gtype, nodes), path))
    return ir.OneOf(name, tuple(branches))


def _history(
    ctx: Context, s: ObjectShape, gtype: GraphQLObjectType, nodes: list[FieldNode], path: Path
) -> ir.History:
    args = ctx.arguments(gtype.fields["fieldHistory"], nodes[0])
    api_names = {camel_case(n): n for n in s.obj.history}
    wanted = args.get("field")
    if wanted is not None and wanted not in api_names:
        raise QueryError(
            f"{wanted!r} is not a tracked field; tracked: {', '.join(api_names) or 'none'}",
            field=[*path, "field"],
        )
    names = (api_names[wanted],) if wanted else tuple(api_names.values())
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    parts = _parts(ctx, _object_type(ctx, "FieldChange"), nodes)
    return ir.History(names, limit, parts)


def _relation(
    ctx: Context,
    s: ObjectShape,
    name: str,
    parent: GraphQLObjectType,
    nodes: list[FieldNode],
    path: Path,
) -> ir.One | ir.Many:
    rel = s.relations[name]
    target = ctx.shape.objects[rel.target]
    if rel.kind == "to_one":
        return ir.One(name, record_select(ctx, target, nodes, path))
    args = ctx.arguments(parent.fields[name], nodes[0])
    where = condition(ctx, target, args.get("filter"), [*path, "filter"])
    order = sorts(ctx.shape, target, args.get("orderBy"), [*path, "orderBy"])
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    offset = args.get("offset") or 0
    if offset < 0:
        raise QueryError("offset cannot be negative", field=[*path, "offset"])
    select = record_select(ctx, target, nodes, path)
    return ir.Many(name, select, where, order, limit, offset)


def _filtered(ctx: Context, s: ObjectShape, args: dict[str, Any], path: Path) -> dict[str, Any]:
    """The conditions common to lists and aggregates, as keyword arguments."""
    where = condition(ctx, s, args.get("filter"), [*path, "filter"])
    if args.get("view"):
        where = ir.AllOf((view_condition(ctx, s, args["view"], [*path, "view"]), where))
    return {
        "where": where,
        "search": args.get("search") or None,
        "include_deleted": bool(args.get("includeDeleted")),
    }


def _list(
    ctx: Context, s: ObjectShape, node: FieldNode, args: dict[str, Any], path: Path
) -> ir.ListRecords:
    first, last = args.get("first"), args.get("last")
    after, before = args.get("after"), args.get("before")
    if (first is not None or after is not None) and (last is not None or before is not None):
        raise QueryError(
            "page forward with first/after or backward with last/before, not both",
            field=[*path, "last" if last is not None else "before"],
        )
    backward = last is not None or before is not None
    size = page_size(ctx, last if backward else first, [*path, "last" if backward else "first"])
    filtered = _filtered(ctx, s, args, path)
    order = sorts(ctx.shape, s, args.get("orderBy"), [*path, "orderBy"])
    page = ir.Page(size, backward, before if backward else after, tuple(path))

    connection = _object_type(ctx, f"{s.type_name}Connection")
    edge_type = _object_type(ctx, f"{s.type_name}Edge")
    record_nodes: list[FieldNode] = []
    output: list[tuple[str, Any]] = []
    for key, nodes in ctx.collect(connection, [node]).items():
        name = nodes[0].name.value
        if name == "__typename":
            output.append((key, ir.Text(connection.name)))
        elif name == "totalCount":
            output.append((key, ir.Count()))
        elif name == "nodes":
            record_nodes += nodes
            output.append((key, ir.Nodes()))
        elif name == "edges":
            edge_parts = []
            for edge_key, sub in ctx.collect(edge_type, nodes).items():
                sub_name = sub[0].name.value
                if sub_name == "node":
                    record_nodes += sub
                edge_parts.append(
                    (edge_key, ir.Text(edge_type.name) if sub_name == "__typename" else sub_name)
                )
            output.append((key, ir.Edges(tuple(edge_parts))))
        elif name == "pageInfo":
            output.append((key, ir.PageInfo(_parts(ctx, _object_type(ctx, "PageInfo"), nodes))))
    select = record_select(ctx, s, record_nodes, path) if record_nodes else None
    return ir.ListRecords(s.name, page, select, tuple(output), order=order, **filtered)


def _aggregate(
    ctx: Context, s: ObjectShape, node: FieldNode, args: dict[str, Any], path: Path
) -> ir.AggregateRecords:
    filtered = _filtered(ctx, s, args, path)
    limit = page_size(ctx, args.get("first") or ctx.limits.max_page_size, [*path, "first"])
    groups = tuple(
        ir.Group(entry["field"], entry.get("granularity"), (*path, "groupBy", i))
        for i, entry in enumerate(args.get("groupBy") or ())
    )
    gtype = _object_type(ctx, f"{s.type_name}Aggregate")
    output: list[tuple[str, Any]] = []
    for key, nodes in ctx.collect(gtype, [node]).items():
        name = nodes[0].name.value
        if name == "count":
            output.append((key, ir.Count()))
        elif name == "__typename":
            output.append((key, ir.Text(gtype.name)))
        elif name == "key":
            key_type = gtype.fields["key"].type
            output.append((key, ir.GroupKey(_parts(ctx, key_type, nodes))))
        else:
            measure_type = gtype.fields[name].type
            output.append((key, ir.Measure(name, _parts(ctx, measure_type, nodes))))
    return ir.AggregateRecords(s.name, limit, tuple(output), groups, **filtered)


def _search(ctx: Context, node: FieldNode, args: dict[str, Any], path: Path) -> ir.SearchRecords:
    wanted = tuple(args.get("objects") or ())
    searchable = {s.name: s for s in ctx.shape.searchable()}
    for i, name in enumerate(wanted):
        if name not in searchable:
            raise QueryError(
                f"{name!r} is not a searchable object; searchable: {', '.join(searchable)}",
                field=[*path, "objects", i],
            )
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    hit = _object_type(ctx, "SearchHit")
    output: list[tuple[str, Any]] = []
    for key, nodes in ctx.collect(hit, [node]).items():
        name = nodes[0].name.value
        if name == "record":
            selects = []
            for obj in wanted or sorted(searchable):
                s = searchable[obj]
                gtype = _object_type(ctx, s.type_name)
                selects.append(_select(ctx, s, gtype, ctx.collect(gtype, nodes), [*path, key]))
            output.append((key, ir.HitRecord(tuple(selects))))
        elif name in ("objectName", "id", "title"):
            output.append((key, name))
        else:
            output.append((key, ir.Text("SearchHit")))
    return ir.SearchRecords(args["text"], limit, tuple(output), wanted)
