"""Compile a selection set on a record into SQL that builds its JSON object.

Scalars become formatted columns; to-one relations become correlated subqueries; to-many
and many-to-many relations become ordered, limited JSON arrays. All of it nests inside
the one statement of the root field.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLObjectType, GraphQLUnionType

from metadata.identifiers import camel_case
from metadata.kinds.files import AttachmentKind
from metadata.kinds.places import ADDRESS_PARTS, AddressKind, GeolocationKind
from metadata.kinds.references import PolymorphicLookupKind
from metadata.model import SYSTEM_FIELDS
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.filters import col, field_sql, related_rows, visible, where
from runtime.graphql.compiler.ordering import order_keys
from runtime.model.shape import ObjectShape, Relation
from runtime.sql import naming
from runtime.sql.dialect import currency_code


def record_json(
    ctx: Context, s: ObjectShape, alias: str, nodes: list[FieldNode], path: list[str | int]
) -> str:
    """Return SQL for the JSON object of the row ``alias`` of ``s`` with ``nodes``' fields."""
    gtype = ctx.schema.get_type(s.type_name)
    assert isinstance(gtype, GraphQLObjectType)
    return record_json_of(ctx, s, alias, gtype, ctx.collect(gtype, nodes), path)


def record_json_of(
    ctx: Context,
    s: ObjectShape,
    alias: str,
    gtype: GraphQLObjectType,
    selected: dict[str, list[FieldNode]],
    path: list[str | int],
) -> str:
    d = ctx.dialect
    pairs: list[tuple[str, str]] = []
    for key, nodes in selected.items():
        name = nodes[0].name.value
        if name == "__typename":
            pairs.append((key, d.literal(s.type_name)))
        elif name in s.fields:
            f = s.fields[name]
            composite = _COMPOSITES.get(f.type)
            if f.type == "polymorphic_lookup":
                pairs.append((key, _polymorphic(ctx, s, name, f, alias, nodes, [*path, key])))
            elif f.type == "attachment":
                pairs.append((key, _attachment(ctx, s.name, f, alias, nodes)))
            elif composite is not None:
                pairs.append((key, composite(ctx, f, alias, nodes)))
            else:
                pairs.append((key, d.output(f, field_sql(ctx, s, alias, f))))
        elif name in s.id_fields:
            pairs.append((key, col(alias, s.id_fields[name].name)))
        elif name == "fieldHistory":
            pairs.append((key, _history(ctx, s, alias, gtype, nodes, [*path, key])))
        else:
            rel = s.relations[name]
            pairs.append((key, relation_json(ctx, rel, alias, gtype, nodes, [*path, key])))
    return d.json_object(pairs)


def _history(
    ctx: Context,
    s: ObjectShape,
    alias: str,
    gtype: GraphQLObjectType,
    nodes: list[FieldNode],
    path: list[str | int],
) -> str:
    """Return SQL for the record's field history: changes to tracked fields the reader can
    read (``s.obj.history`` already leaves out the others), newest first."""
    d = ctx.dialect
    args = ctx.arguments(gtype.fields["fieldHistory"], nodes[0])
    api_names = {camel_case(n): n for n in s.obj.history}
    wanted = args.get("field")
    if wanted is not None and wanted not in api_names:
        raise QueryError(
            f"{wanted!r} is not a tracked field; tracked: {', '.join(api_names) or 'none'}",
            field=[*path, "field"],
        )
    names = [api_names[wanted]] if wanted else list(api_names.values())
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    h = ctx.alias()
    change = ctx.schema.get_type("FieldChange")
    assert isinstance(change, GraphQLObjectType)
    label = (
        "CASE "
        + " ".join(
            f"WHEN {col(h, 'field')} = {d.literal(n)} THEN {d.literal(camel_case(n))}"
            for n in names
        )
        + " END"
    )
    columns = {
        "field": label,
        "oldValue": d.json_text(col(h, "old_value")),
        "newValue": d.json_text(col(h, "new_value")),
        "changedBy": col(h, "changed_by"),
        "changedAt": d.output(SYSTEM_FIELDS["updated_at"], col(h, "changed_at")),
        "__typename": d.literal("FieldChange"),
    }
    pairs = [(k, columns[sub[0].name.value]) for k, sub in ctx.collect(change, nodes).items()]
    fields = ", ".join(ctx.param(n) for n in names)
    source = (
        f"(SELECT {d.json_object(pairs)} AS j, {col(h, 'changed_at')} AS k0, {col(h, 'id')} AS k1 "
        f"FROM {d.table(naming.HISTORY_TABLE)} {h} WHERE {col(h, 'record_id')} = "
        f"{col(alias, 'id')} AND {col(h, 'object')} = {ctx.param(s.name)} AND "
        f"{col(h, 'field')} IN ({fields}) ORDER BY k0 DESC, k1 DESC "
        f"LIMIT {ctx.param(limit)}) AS s"
    )
    return d.json_array("j", source, "k0 DESC, k1 DESC")


def _currency(ctx: Context, f: Any, alias: str, nodes: list[FieldNode]) -> str:
    money = ctx.schema.get_type("CurrencyAmount")
    assert isinstance(money, GraphQLObjectType)
    pairs = []
    for key, sub in ctx.collect(money, nodes).items():
        name = sub[0].name.value
        if name == "amount":
            pairs.append((key, ctx.dialect.output(f, col(alias, f.name))))
        elif name == "currencyCode":
            pairs.append((key, currency_code(alias, f)))
        else:
            pairs.append((key, ctx.dialect.literal("CurrencyAmount")))
    value = ctx.dialect.json_object(pairs)
    return f"CASE WHEN {col(alias, f.name)} IS NULL THEN NULL ELSE {value} END"


def _address(ctx: Context, f: Any, alias: str, nodes: list[FieldNode]) -> str:
    address = ctx.schema.get_type("Address")
    assert isinstance(address, GraphQLObjectType)
    columns = {api: AddressKind.part_column(f.name, part) for part, api, _ in ADDRESS_PARTS}
    columns["line"] = f.name
    pairs = []
    for key, sub in ctx.collect(address, nodes).items():
        name = sub[0].name.value
        if name in columns:
            pairs.append((key, col(alias, columns[name])))
        else:
            pairs.append((key, ctx.dialect.literal("Address")))
    value = ctx.dialect.json_object(pairs)
    return f"CASE WHEN {col(alias, f.name)} IS NULL THEN NULL ELSE {value} END"


def _geopoint(ctx: Context, f: Any, alias: str, nodes: list[FieldNode]) -> str:
    point = ctx.schema.get_type("GeoPoint")
    assert isinstance(point, GraphQLObjectType)
    columns = {"latitude": f.name, "longitude": GeolocationKind.longitude_column(f.name)}
    pairs = []
    for key, sub in ctx.collect(point, nodes).items():
        name = sub[0].name.value
        if name in columns:
            pairs.append((key, ctx.dialect.round_float(col(alias, columns[name]), 7)))
        else:
            pairs.append((key, ctx.dialect.literal("GeoPoint")))
    value = ctx.dialect.json_object(pairs)
    return f"CASE WHEN {col(alias, f.name)} IS NULL THEN NULL ELSE {value} END"


def _polymorphic(
    ctx: Context,
    s: ObjectShape,
    name: str,
    f: Any,
    alias: str,
    nodes: list[FieldNode],
    path: list[str | int],
) -> str:
    """The referred record as its own object type (what ``... on Account`` selects),
    chosen by the object column; null when it is gone or the reader cannot see it."""
    d = ctx.dialect
    union = ctx.schema.get_type(f"{s.type_name}{name[:1].upper()}{name[1:]}")
    assert isinstance(union, GraphQLUnionType)
    cases = []
    for gtype in union.types:
        target = ctx.shape.by_type[gtype.name]
        inner = ctx.alias()
        body = record_json_of(ctx, target, inner, gtype, ctx.collect(gtype, nodes), path)
        record = (
            f"(SELECT {body} FROM {d.table(target.name)} {inner} WHERE "
            f"{col(inner, 'id')} = {col(alias, f.name)} AND {visible(ctx, target.name, inner)})"
        )
        cases.append(f"WHEN {d.literal(target.name)} THEN {d.embed(record)}")
    kind = PolymorphicLookupKind
    return f"CASE {col(alias, kind.object_column(f.name))} {' '.join(cases)} ELSE NULL END"


def _attachment(ctx: Context, obj: str, f: Any, alias: str, nodes: list[FieldNode]) -> str:
    """The file's description, and its download address (``runtime/server/files_api.py``)."""
    described = ctx.schema.get_type("Attachment")
    assert isinstance(described, GraphQLObjectType)
    d = ctx.dialect
    columns = {
        "name": "file_name",
        "size": "size",
        "contentType": "content_type",
        "checksum": "sha256",
    }
    pairs = []
    for key, sub in ctx.collect(described, nodes).items():
        name = sub[0].name.value
        if name in columns:
            pairs.append((key, col(alias, AttachmentKind.part_column(f.name, columns[name]))))
        elif name == "url":
            url = (
                f"({ctx.param('/t/' + ctx.principal.tenant + '/files/' + obj + '/')} || "
                f"{d.text_of_id(col(alias, 'id'))} || {ctx.param('/' + f.name)})"
            )
            pairs.append((key, url))
        else:
            pairs.append((key, d.literal("Attachment")))
    value = d.json_object(pairs)
    return f"CASE WHEN {col(alias, f.name)} IS NULL THEN NULL ELSE {value} END"


#: Field kinds whose value is an object: how each builds its JSON from its columns.
_COMPOSITES = {
    "currency": _currency,
    "address": _address,
    "geolocation": _geopoint,
}


def relation_json(
    ctx: Context,
    rel: Relation,
    alias: str,
    parent: GraphQLObjectType,
    nodes: list[FieldNode],
    path: list[str | int],
) -> str:
    """Return SQL for a relation field: an object (to-one) or an array (to-many)."""
    d = ctx.dialect
    target = ctx.shape.objects[rel.target]
    inner = ctx.alias()
    table = d.table(rel.target)
    if rel.kind == "to_one":
        body = record_json(ctx, target, inner, nodes, path)
        return d.embed(
            f"(SELECT {body} FROM {table} {inner} WHERE {col(inner, 'id')} = "
            f"{col(alias, rel.via)} AND {visible(ctx, rel.target, inner)})"
        )
    args = ctx.arguments(parent.fields[nodes[0].name.value], nodes[0])
    condition = where(ctx, target, inner, args.get("filter"), [*path, "filter"])
    keys = order_keys(ctx, target, inner, args.get("orderBy"), [*path, "orderBy"])
    limit = page_size(ctx, args.get("first"), [*path, "first"])
    offset = args.get("offset") or 0
    if offset < 0:
        raise QueryError("offset cannot be negative", field=[*path, "offset"])
    body = record_json(ctx, target, inner, nodes, path)
    sort_columns = ", ".join(f"{k.sql} AS k{i}" for i, k in enumerate(keys))
    source = (
        f"(SELECT {body} AS j, {sort_columns} FROM {table} {inner} "
        f"WHERE {related_rows(ctx, rel, alias, inner)} AND {condition} "
        f"ORDER BY {', '.join(k.clause() for k in keys)} "
        f"LIMIT {ctx.param(limit)} OFFSET {ctx.param(offset)}) AS s"
    )
    order = ", ".join(k.clause(f"k{i}") for i, k in enumerate(keys))
    return d.json_array("j", source, order)


def page_size(ctx: Context, first: int | None, path: list[str | int]) -> int:
    """Return the page size asked for, checked against the limits."""
    if first is None:
        return ctx.limits.default_page_size
    if first < 0:
        raise QueryError(f"{path[-1]} cannot be negative", field=path)
    if first > ctx.limits.max_page_size:
        raise QueryError(
            f"{path[-1]} is {first}, above the page size limit of {ctx.limits.max_page_size}; "
            "page through with cursors",
            "LIMIT_EXCEEDED",
            field=path,
        )
    return first
