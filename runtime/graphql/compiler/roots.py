"""Compile each kind of query root field into one SQL statement returning JSON text.

``compile_root`` is the entry point: one record by id, a connection page, aggregates or a
search across objects. Each returns (SQL, parameters); the statement yields one row with
one column, the field's value as JSON text.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLUnionType

from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.filters import (
    TRUE,
    col,
    field_sql,
    live,
    search_terms,
    visible,
    where,
)
from runtime.graphql.compiler.ordering import OrderKey, cursor_sql, order_keys, resume_after
from runtime.graphql.compiler.selection import page_size, record_json, record_json_of
from runtime.model.shape import ObjectShape


def compile_root(ctx: Context, node: FieldNode, key: str) -> str:
    """Return the SQL for query root field ``node`` (response key ``key``)."""
    query = ctx.schema.query_type
    assert query is not None
    name = node.name.value
    definition = query.fields[name]
    args = ctx.arguments(definition, node)
    path: list[str | int] = [key]
    if name == "search":
        return _search(ctx, node, args, path)
    if name == "_empty":
        return "SELECT NULL"
    for s in ctx.shape.objects.values():
        if name == s.single:
            return _single(ctx, s, node, args, path)
        if name == s.plural:
            return _connection(ctx, s, node, args, path)
        if name == f"{s.plural}Aggregate":
            return _aggregate(ctx, s, node, args, path)
    raise QueryError(f"unknown root field {name!r}", "GRAPHQL_VALIDATION_FAILED")


def _base(
    ctx: Context, s: ObjectShape, alias: str, args: dict[str, Any], path: list[str | int]
) -> str:
    parts = [] if args.get("includeDeleted") else [live(alias)]
    rows = ctx.rows(s.name, alias)
    if rows:
        parts.append(rows)
    condition = where(ctx, s, alias, args.get("filter"), [*path, "filter"])
    if condition != TRUE:
        parts.append(condition)
    if args.get("search"):
        parts.append(search_terms(ctx, s, alias, args["search"]))
    return " AND ".join(parts) or TRUE


def _single(
    ctx: Context, s: ObjectShape, node: FieldNode, args: dict[str, Any], path: list[str | int]
) -> str:
    alias = ctx.alias()
    try:
        record_id = ctx.param(ctx.dialect.bind(s.obj.field("id"), args["id"]))
    except ValueError as exc:
        raise QueryError(f"id: {exc}", field=[*path, "id"]) from None
    body = ctx.dialect.as_text(record_json(ctx, s, alias, [node], path))
    deleted = "" if args.get("includeDeleted") else f" AND {live(alias)}"
    rows = ctx.rows(s.name, alias)
    if rows:
        deleted += f" AND {rows}"
    table = ctx.dialect.table(s.name)
    return f"SELECT {body} FROM {table} {alias} WHERE {col(alias, 'id')} = {record_id}{deleted}"


def _connection(
    ctx: Context, s: ObjectShape, node: FieldNode, args: dict[str, Any], path: list[str | int]
) -> str:
    d = ctx.dialect
    first, last = args.get("first"), args.get("last")
    after, before = args.get("after"), args.get("before")
    if (first is not None or after is not None) and (last is not None or before is not None):
        raise QueryError(
            "page forward with first/after or backward with last/before, not both",
            field=[*path, "last" if last is not None else "before"],
        )
    backward = last is not None or before is not None
    limit = page_size(ctx, last if backward else first, [*path, "last" if backward else "first"])
    alias = ctx.alias()
    table = d.table(s.name)
    base = _base(ctx, s, alias, args, path)
    keys = order_keys(ctx, s, alias, args.get("orderBy"), [*path, "orderBy"])
    walk: list[OrderKey] = [k.reversed() for k in keys] if backward else keys
    cursor = before if backward else after
    resume = (
        resume_after(ctx, walk, cursor, [*path, "before" if backward else "after"])
        if cursor
        else TRUE
    )

    connection = ctx.schema.get_type(f"{s.type_name}Connection")
    assert isinstance(connection, GraphQLObjectType)
    selected = ctx.collect(connection, [node])
    edge_type = ctx.schema.get_type(f"{s.type_name}Edge")
    assert isinstance(edge_type, GraphQLObjectType)
    node_nodes: list[FieldNode] = []
    edge_selections = {}
    for key, nodes in selected.items():
        if nodes[0].name.value == "nodes":
            node_nodes += nodes
        elif nodes[0].name.value == "edges":
            edge_selections[key] = ctx.collect(edge_type, nodes)
            for sub in edge_selections[key].values():
                if sub[0].name.value == "node":
                    node_nodes += sub
    display = "rn DESC" if backward else "rn"
    window = f"(SELECT * FROM page WHERE rn <= {limit}) AS w"
    pairs: list[tuple[str, str]] = []
    for key, nodes in selected.items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, d.literal(connection.name)))
        elif name == "totalCount":
            pairs.append((key, f"(SELECT count(*) FROM {table} {alias} WHERE {base})"))
        elif name == "nodes":
            pairs.append((key, d.json_array(d.embed("n"), window, display)))
        elif name == "edges":
            edge_pairs = []
            for edge_key, sub in edge_selections[key].items():
                sub_name = sub[0].name.value
                value = {"cursor": "c", "node": d.embed("n")}.get(
                    sub_name, d.literal(edge_type.name)
                )
                edge_pairs.append((edge_key, value))
            pairs.append((key, d.json_array(d.json_object(edge_pairs), window, display)))
        elif name == "pageInfo":
            pairs.append(
                (
                    key,
                    _page_info(ctx, nodes, limit, backward, table, alias, base, walk, cursor, path),
                )
            )
    body = d.as_text(d.json_object(pairs))
    uses_page = any(n[0].name.value in ("nodes", "edges", "pageInfo") for n in selected.values())
    if not uses_page:
        return f"SELECT {body}"
    record = record_json(ctx, s, alias, node_nodes, path) if node_nodes else "NULL"
    # Cursors cost a JSON array per row; build them only when the query shows one.
    wants_cursor = any(
        sub[0].name.value == "cursor"
        for edges in edge_selections.values()
        for sub in edges.values()
    ) or any(n[0].name.value == "pageInfo" for n in selected.values())
    cursor_column = cursor_sql(ctx, keys) if wants_cursor else "NULL"
    order = ", ".join(k.clause() for k in walk)
    return (
        f"WITH page AS (SELECT {record} AS n, {cursor_column} AS c, "
        f"row_number() OVER (ORDER BY {order}) AS rn FROM {table} {alias} "
        f"WHERE {base} AND {resume} ORDER BY {order} LIMIT {limit + 1}) "
        f"SELECT {body}"
    )


def _page_info(
    ctx: Context,
    nodes: list[FieldNode],
    limit: int,
    backward: bool,
    table: str,
    alias: str,
    base: str,
    walk: list[OrderKey],
    cursor: str | None,
    path: list[str | int],
) -> str:
    d = ctx.dialect
    page_info = ctx.schema.get_type("PageInfo")
    assert isinstance(page_info, GraphQLObjectType)
    more = d.json_bool(f"(SELECT count(*) FROM page) > {limit}")
    if cursor:
        # Rows at or before the cursor, in the walking direction, exist: the other way.
        behind = resume_after(ctx, walk, cursor, path)
        earlier = d.json_bool(
            f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {base} AND ({behind}) IS NOT TRUE)"
        )
    else:
        earlier = d.json_bool("1 = 0")
    first_c = "(SELECT c FROM page WHERE rn = 1)"
    last_c = f"(SELECT c FROM page WHERE rn <= {limit} ORDER BY rn DESC LIMIT 1)"
    values = {
        "hasNextPage": earlier if backward else more,
        "hasPreviousPage": more if backward else earlier,
        "startCursor": last_c if backward else first_c,
        "endCursor": first_c if backward else last_c,
        "__typename": d.literal("PageInfo"),
    }
    pairs = [(key, values[sub[0].name.value]) for key, sub in ctx.collect(page_info, nodes).items()]
    return d.json_object(pairs)


def _aggregate(
    ctx: Context, s: ObjectShape, node: FieldNode, args: dict[str, Any], path: list[str | int]
) -> str:
    d = ctx.dialect
    alias = ctx.alias()
    base = _base(ctx, s, alias, args, path)
    limit = page_size(ctx, args.get("first") or ctx.limits.max_page_size, [*path, "first"])
    groups: dict[str, tuple[str, Any]] = {}
    for i, entry in enumerate(args.get("groupBy") or ()):
        name = entry["field"]
        f = s.fields.get(name) or s.id_fields[name]
        if name in groups:
            raise QueryError(f"groupBy names {name!r} twice", field=[*path, "groupBy", i])
        column = field_sql(ctx, s, alias, f)
        granularity = entry.get("granularity")
        if f.type in ("date", "datetime"):
            groups[name] = (d.date_bucket(column, granularity or "day"), None)
        elif granularity:
            raise QueryError(
                f"granularity applies to date fields; {name!r} is a {f.type} field",
                field=[*path, "groupBy", i, "granularity"],
            )
        else:
            groups[name] = (column, f)
    gtype = ctx.schema.get_type(f"{s.type_name}Aggregate")
    assert isinstance(gtype, GraphQLObjectType)
    pairs: list[tuple[str, str]] = []
    for key, nodes in ctx.collect(gtype, [node]).items():
        name = nodes[0].name.value
        if name == "count":
            pairs.append((key, "count(*)"))
        elif name == "__typename":
            pairs.append((key, d.literal(gtype.name)))
        elif name == "key":
            sub_type = gtype.fields["key"].type
            key_pairs = []
            for sub_key, sub in ctx.collect(sub_type, nodes).items():
                sub_name = sub[0].name.value
                if sub_name == "__typename":
                    key_pairs.append((sub_key, d.literal(sub_type.name)))
                elif sub_name in groups:
                    sql, f = groups[sub_name]
                    key_pairs.append((sub_key, d.output(f, sql) if f is not None else sql))
                else:
                    key_pairs.append((sub_key, "NULL"))
            pairs.append((key, d.json_object(key_pairs)))
        else:
            pairs.append((key, _measures(ctx, s, alias, gtype.fields[name].type, name, nodes)))
    key_columns = [sql for sql, _ in groups.values()]
    select_keys = "".join(f", {sql} AS g{i}" for i, sql in enumerate(key_columns))
    group_by = f" GROUP BY {', '.join(key_columns)}" if key_columns else ""
    order = ", ".join(f"g{i} ASC NULLS LAST" for i in range(len(key_columns)))
    inner = (
        f"(SELECT {d.json_object(pairs)} AS j{select_keys} FROM {d.table(s.name)} {alias} "
        f"WHERE {base}{group_by}{' ORDER BY ' + order if order else ''} LIMIT {limit}) AS a"
    )
    order = order or "NULL"
    return f"SELECT {d.as_text(d.json_array('j', inner, order))}"


def _measures(
    ctx: Context, s: ObjectShape, alias: str, gtype: Any, which: str, nodes: list[FieldNode]
) -> str:
    d = ctx.dialect
    pairs = []
    for key, sub in ctx.collect(gtype, nodes).items():
        name = sub[0].name.value
        if name == "__typename":
            pairs.append((key, d.literal(gtype.name)))
            continue
        f = s.fields[name]
        column = field_sql(ctx, s, alias, f)
        if which == "avg":
            pairs.append((key, d.round_float(f"avg({column})", 6)))
        elif which == "sum" and f.type in ("integer", "duration"):
            pairs.append((key, f"sum({column})"))
        elif f.type in ("decimal", "currency", "percent"):
            pairs.append((key, d.decimal_text(f"{which}({column})", f.option("scale"))))
        else:
            pairs.append((key, d.output(f, f"{which}({column})")))
    return d.json_object(pairs)


def _search(ctx: Context, node: FieldNode, args: dict[str, Any], path: list[str | int]) -> str:
    d = ctx.dialect
    wanted = args.get("objects")
    searchable = {s.name: s for s in ctx.shape.searchable()}
    for i, name in enumerate(wanted or ()):
        if name not in searchable:
            raise QueryError(
                f"{name!r} is not a searchable object; searchable: {', '.join(searchable)}",
                field=[*path, "objects", i],
            )
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    text = args["text"].strip()
    if not text:
        return f"SELECT {d.as_text(d.json_array('j', '(SELECT NULL AS j) AS e WHERE 1 = 0', 'j'))}"
    hit = ctx.schema.get_type("SearchHit")
    union = ctx.schema.get_type("SearchRecord")
    assert isinstance(hit, GraphQLObjectType) and isinstance(union, GraphQLUnionType)
    selected = ctx.collect(hit, [node])
    folded = text.lower()
    branches = []
    for name in wanted or sorted(searchable):
        s = searchable[name]
        alias = ctx.alias()
        title = col(alias, s.obj.search[0])
        object_type = ctx.schema.get_type(s.type_name)
        assert isinstance(object_type, GraphQLObjectType)
        pairs = []
        for key, nodes in selected.items():
            field = nodes[0].name.value
            if field == "objectName":
                pairs.append((key, d.literal(s.name)))
            elif field == "id":
                pairs.append((key, col(alias, "id")))
            elif field == "title":
                pairs.append((key, title))
            elif field == "record":
                record_fields = ctx.collect(object_type, nodes)
                pairs.append(
                    (key, record_json_of(ctx, s, alias, object_type, record_fields, [*path, key]))
                )
            else:
                pairs.append((key, d.literal("SearchHit")))
        q = ctx.param(folded)
        rank = (
            f"CASE WHEN lower({title}) = {q} THEN 0 WHEN substr(lower({title}), 1, "
            f"{ctx.param(len(folded))}) = {q} THEN 1 ELSE 2 END"
        )
        branches.append(
            f"SELECT {d.json_object(pairs)} AS j, {rank} AS r0, {col(alias, 'updated_at')} AS r1, "
            f"{col(alias, 'id')} AS r2 FROM {d.table(s.name)} {alias} "
            f"WHERE {visible(ctx, s.name, alias)} AND {search_terms(ctx, s, alias, text)}"
        )
    order = "r0 ASC, r1 DESC, r2 DESC"
    source = (
        f"(SELECT * FROM ({' UNION ALL '.join(branches)}) AS u ORDER BY {order} LIMIT {limit}) AS h"
    )
    return f"SELECT {d.as_text(d.json_array('j', source, order))}"
