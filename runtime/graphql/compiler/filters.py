"""Compile a filter input (``{name: {startsWith: "A"}, or: [...]}``) into a WHERE clause.

Conditions on related records become EXISTS subqueries, so a filter never multiplies
rows and the whole query stays one statement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metadata.expressions.rollups import Rollup
from metadata.kinds.files import AttachmentKind
from metadata.kinds.places import ADDRESS_PARTS, AddressKind, GeolocationKind
from metadata.kinds.references import PolymorphicLookupKind
from metadata.model import Field
from runtime.expressions.sql import to_sql
from runtime.graphql.compiler.context import Context, QueryError
from runtime.model.shape import ObjectShape, Relation
from runtime.sql.dialect import BadValue, currency_code

TRUE, FALSE = "1 = 1", "1 = 0"


def col(alias: str, name: str) -> str:
    return f'{alias}."{name}"'


def field_sql(ctx: Context, s: ObjectShape, alias: str, f: Field) -> str:
    """Return SQL for field ``f`` of row ``alias``: its column, a formula's expression, or
    a roll-up's subquery over the children the reader can see."""
    computed = s.computed.get(f.name)
    today = ctx.today or dt.date.today()
    if computed is None:
        return col(alias, f.name)
    if not isinstance(computed, Rollup):
        return to_sql(computed, alias, ctx, today=today)
    child = computed.child.name
    inner = ctx.alias()
    condition = f"{col(inner, computed.via.name)} = {col(alias, 'id')} AND " + visible(
        ctx, child, inner
    )
    if computed.where is not None:
        condition += f" AND {to_sql(computed.where, inner, ctx, today=today)}"
    if computed.field is None:
        aggregate = "count(*)"
    else:
        aggregate = f"{computed.function}({col(inner, computed.field.name)})"
        if computed.function == "sum":
            aggregate = f"coalesce({aggregate}, 0)"  # no children: nothing summed is 0
    return f"(SELECT {aggregate} FROM {ctx.dialect.table(child)} {inner} WHERE {condition})"


def live(alias: str) -> str:
    return f'{alias}."deleted_at" IS NULL'


def visible(ctx: Context, obj: str, alias: str) -> str:
    """Return the condition that row ``alias`` of ``obj`` is live and readable."""
    rows = ctx.rows(obj, alias)
    return f"{live(alias)} AND {rows}" if rows else live(alias)


def where(
    ctx: Context,
    s: ObjectShape,
    alias: str,
    spec: dict[str, Any] | None,
    path: list[str | int],
    *,
    depth: int = 0,
    hops: int = 0,
) -> str:
    """Return SQL for ``spec`` on rows of ``s`` aliased ``alias`` (TRUE when empty).

    ``depth`` counts the ``and``/``or``/``not`` and relation levels above ``spec``, and
    ``hops`` the relation conditions: both are bounded, as is the number of conditions,
    so a small request cannot ask for a statement that runs for minutes (or overflows
    SQLite's parser).
    """
    if not spec:
        return TRUE
    limits = ctx.limits
    if depth > limits.max_filter_depth:
        raise QueryError(
            f"{_dotted(path)}: the filter nests more than {limits.max_filter_depth} levels "
            f"of and/or/not and relations; the limit is {limits.max_filter_depth}",
            "LIMIT_EXCEEDED",
            field=list(path),
        )
    parts: list[str] = []
    inner = {"depth": depth + 1, "hops": hops}
    for key, value in spec.items():
        here = [*path, key]
        if value is None:
            continue
        if key == "and":
            parts += [
                where(ctx, s, alias, item, [*here, i], **inner) for i, item in enumerate(value)
            ]
        elif key == "or":
            ors = [where(ctx, s, alias, item, [*here, i], **inner) for i, item in enumerate(value)]
            parts.append(joined(ors, "OR") if ors else FALSE)
        elif key == "not":
            parts.append(f"({where(ctx, s, alias, value, here, **inner)}) IS NOT TRUE")
        elif key in s.fields and s.fields[key].type == "polymorphic_lookup":
            _count(ctx, value, here)
            parts.append(_polymorphic(ctx, s.fields[key], alias, value, here, depth + 1, hops))
        elif key in s.fields:
            f = s.fields[key]
            _count(ctx, value, here)
            parts.append(_field(ctx, f, alias, field_sql(ctx, s, alias, f), value, here))
        elif key in s.id_fields:
            f = s.id_fields[key]
            _count(ctx, value, here)
            parts.append(_field(ctx, f, alias, col(alias, f.name), value, here))
        elif key in s.relations:
            if hops + 1 > limits.max_filter_relations:
                raise QueryError(
                    f"{_dotted(here)}: the filter follows more than "
                    f"{limits.max_filter_relations} relations inside one another; the limit "
                    f"is {limits.max_filter_relations}",
                    "LIMIT_EXCEEDED",
                    field=here,
                )
            _count(ctx, {key: 1}, here)
            parts.append(_relation(ctx, s.relations[key], alias, value, here, depth + 1, hops + 1))
    return joined(parts, "AND") if parts else TRUE


def joined(parts: list[str], op: str) -> str:
    """Return ``parts`` joined by ``op`` (AND or OR) as a balanced tree of parentheses.

    ``a OR b OR c ...`` nests one level per term in SQLite's parser, which refuses
    expressions deeper than 1,000; a balanced tree nests log2(n) levels, so a filter of
    a thousand conditions compiles on both backends.
    """
    if len(parts) <= 8:
        return f" {op} ".join(f"({p})" for p in parts)
    half = len(parts) // 2
    return f"({joined(parts[:half], op)}) {op} ({joined(parts[half:], op)})"


def _dotted(path: list[str | int]) -> str:
    return ".".join(map(str, path))


def _count(ctx: Context, ops: Any, path: list[str | int]) -> None:
    """Count a field's conditions (each item of a list once) against the request's bound."""
    terms = 0
    for value in ops.values() if isinstance(ops, dict) else (ops,):
        if isinstance(value, dict):
            terms += sum(len(v) if isinstance(v, list) else 1 for v in value.values())
        else:
            terms += len(value) if isinstance(value, list) else 1
    ctx.filter_terms += terms
    limit = ctx.limits.max_filter_terms
    if ctx.filter_terms > limit:
        raise QueryError(
            f"{_dotted(path)}: the request's filters hold more than {limit:,} conditions "
            f"(each item of an in list counts); the limit is {limit:,}",
            "LIMIT_EXCEEDED",
            field=list(path),
        )


def _relation(
    ctx: Context,
    rel: Relation,
    alias: str,
    value: dict[str, Any],
    path: list[str | int],
    depth: int = 0,
    hops: int = 0,
) -> str:
    target = ctx.shape.objects[rel.target]
    inner = ctx.alias()
    table = ctx.dialect.table(rel.target)
    nested = {"depth": depth, "hops": hops}
    if rel.kind == "to_one":
        cond = where(ctx, target, inner, value, path, **nested)
        return (
            f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {col(inner, 'id')} = "
            f"{col(alias, rel.via)} AND {visible(ctx, rel.target, inner)} AND {cond})"
        )
    link = related_rows(ctx, rel, alias, inner)
    out = []
    for quantifier, spec in value.items():
        if spec is None:
            continue
        cond = where(ctx, target, inner, spec, [*path, quantifier], **nested)
        if quantifier == "some":
            out.append(f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {cond})")
        elif quantifier == "none":
            out.append(f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {cond})")
        else:  # every
            out.append(
                f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND ({cond}) IS NOT TRUE)"
            )
    return " AND ".join(out) if out else TRUE


def _polymorphic(
    ctx: Context,
    f: Field,
    alias: str,
    value: dict[str, Any],
    path: list[str | int],
    depth: int,
    hops: int,
) -> str:
    """Conditions on a polymorphic lookup: which object, which id, and, per object, on
    the referred record (an EXISTS, as for a to-one relation)."""
    d = ctx.dialect
    objects = PolymorphicLookupKind.object_column(f.name)
    targets = {
        ctx.shape.objects[t].single: ctx.shape.objects[t]
        for t in f.targets
        if t in ctx.shape.objects
    }
    parts = []
    for key, spec in value.items():
        here = [*path, key]
        if spec is None:
            continue
        if key == "isNull":
            parts.append(_ops(ctx, f, col(alias, f.name), {"isNull": spec}, path))
        elif key == "id":
            ids = Field(name=f.name, type="uuid", label=f.label)
            parts.append(_ops(ctx, ids, col(alias, f.name), spec, here))
        elif key == "object":
            text = Field(name=objects, type="text", label=f.label, options={"max_length": 63})
            parts.append(_ops(ctx, text, col(alias, objects), spec, here))
        else:
            if hops + 1 > ctx.limits.max_filter_relations:
                raise QueryError(
                    f"{_dotted(here)}: the filter follows more than "
                    f"{ctx.limits.max_filter_relations} relations inside one another",
                    "LIMIT_EXCEEDED",
                    field=here,
                )
            target = targets[key]
            inner = ctx.alias()
            cond = where(ctx, target, inner, spec, here, depth=depth, hops=hops + 1)
            parts.append(
                f"{col(alias, objects)} = {d.literal(target.name)} AND EXISTS (SELECT 1 FROM "
                f"{d.table(target.name)} {inner} WHERE {col(inner, 'id')} = {col(alias, f.name)} "
                f"AND {visible(ctx, target.name, inner)} AND {cond})"
            )
    return joined(parts, "AND") if parts else TRUE


def related_rows(ctx: Context, rel: Relation, alias: str, inner: str) -> str:
    """Return the condition that row ``inner`` of the target is related to ``alias``."""
    if rel.kind == "to_many":
        return f"{col(inner, rel.via)} = {col(alias, 'id')} AND {visible(ctx, rel.target, inner)}"
    assert rel.junction and rel.far
    j = ctx.alias()
    return (
        f"{visible(ctx, rel.target, inner)} AND {col(inner, 'id')} IN (SELECT "
        f"{col(j, rel.far)} FROM {ctx.dialect.table(rel.junction)} {j} WHERE "
        f"{col(j, rel.via)} = {col(alias, 'id')} AND {visible(ctx, rel.junction, j)})"
    )


def _field(
    ctx: Context, f: Field, alias: str, column: str, ops: dict[str, Any], path: list[str | int]
) -> str:
    """``column`` is the field's SQL on row ``alias`` (its amount column for currency)."""
    if f.type == "currency":
        parts = []
        for key, value in ops.items():
            if value is None:
                continue
            if key == "amount":
                parts.append(_ops(ctx, f, column, value, [*path, key]))
            elif key == "currencyCode":
                code = Field(name=f.name, type="text", label=f.label)
                parts.append(_ops(ctx, code, currency_code(alias, f), value, [*path, key]))
            else:
                parts.append(_ops(ctx, f, column, {"isNull": value}, path))
        return " AND ".join(f"({p})" for p in parts) if parts else TRUE
    if f.type == "address":
        return _address(ctx, f, alias, column, ops, path)
    if f.type == "geolocation":
        return _geo(ctx, f, alias, column, ops, path)
    if f.type == "attachment":
        return _attachment(ctx, f, alias, column, ops, path)
    return _ops(ctx, f, column, ops, path)


def _address(
    ctx: Context, f: Field, alias: str, column: str, ops: dict[str, Any], path: list[str | int]
) -> str:
    """An address is filtered by its parts (and its whole line), each as text."""
    columns = {api: AddressKind.part_column(f.name, part) for part, api, _ in ADDRESS_PARTS}
    columns["line"] = f.name
    parts = []
    for key, value in ops.items():
        if value is None:
            continue
        if key == "isNull":
            parts.append(_ops(ctx, f, column, {"isNull": value}, path))
            continue
        text = Field(name=columns[key], type="text", label=f.label, options={"max_length": 1000})
        parts.append(_ops(ctx, text, col(alias, columns[key]), value, [*path, key]))
    return " AND ".join(f"({p})" for p in parts) if parts else TRUE


def _attachment(
    ctx: Context, f: Field, alias: str, column: str, ops: dict[str, Any], path: list[str | int]
) -> str:
    """An attachment is filtered by whether there is one, its file name and its type."""
    columns = {"name": "file_name", "contentType": "content_type"}
    parts = []
    for key, value in ops.items():
        if value is None:
            continue
        if key == "isNull":
            parts.append(_ops(ctx, f, column, {"isNull": value}, path))
            continue
        name = AttachmentKind.part_column(f.name, columns[key])
        text = Field(name=name, type="text", label=f.label, options={"max_length": 1000})
        parts.append(_ops(ctx, text, col(alias, name), value, [*path, key]))
    return " AND ".join(f"({p})" for p in parts) if parts else TRUE


def _geo(
    ctx: Context, f: Field, alias: str, column: str, ops: dict[str, Any], path: list[str | int]
) -> str:
    """A point is filtered by its great-circle distance from another (haversine, on a
    sphere of the Earth's mean radius: within 0.5% of the ellipsoid's distances)."""
    parts = []
    for key, value in ops.items():
        if value is None:
            continue
        if key == "isNull":
            parts.append(_ops(ctx, f, column, {"isNull": value}, path))
            continue
        lat, lng, km = value["latitude"], value["longitude"], value["km"]
        if not (-90 <= lat <= 90 and -180 <= lng <= 180 and 0 <= km <= 20_100):
            raise QueryError(
                "within needs latitude -90-90, longitude -180-180 and km 0-20100",
                field=[*path, key],
            )
        longitude = col(alias, GeolocationKind.longitude_column(f.name))
        parts.append(
            ctx.dialect.within_km(
                column, longitude, ctx.param(lat), ctx.param(lng), ctx.param(km), km
            )
        )
    return " AND ".join(f"({p})" for p in parts) if parts else TRUE


def _ops(ctx: Context, f: Field, column: str, ops: dict[str, Any], path: list[str | int]) -> str:
    d = ctx.dialect
    parts: list[str] = []

    def bind(value: Any, op: str) -> str:
        try:
            return ctx.param(d.bind(f, value))
        except BadValue as exc:
            raise QueryError(f"{'.'.join(map(str, path))}.{op}: {exc}", field=[*path, op]) from None

    for op, value in ops.items():
        if op == "isNull":
            if value is not None:
                parts.append(f"{column} IS NULL" if value else f"{column} IS NOT NULL")
            continue
        if value is None:
            raise QueryError(
                f"{'.'.join(map(str, path))}.{op} cannot be null; use isNull to match "
                "missing values",
                field=[*path, op],
            )
        if op == "eq":
            parts.append(f"{column} = {bind(value, op)}")
        elif op == "neq":
            # Null differs from any value, so neq keeps records without one.
            p = bind(value, op)
            parts.append(f"({column} <> {p} OR {column} IS NULL)")
        elif op in ("gt", "gte", "lt", "lte"):
            sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            parts.append(f"{column} {sign} {bind(value, op)}")
        elif op == "in":
            items = [bind(v, op) for v in value]
            parts.append(f"{column} IN ({', '.join(items)})" if items else FALSE)
        elif op == "notIn":
            items = [bind(v, op) for v in value]
            parts.append(
                f"({column} NOT IN ({', '.join(items)}) OR {column} IS NULL)" if items else TRUE
            )
        elif op in ("like", "ilike"):
            # A lone backslash at the end escapes nothing: PostgreSQL refuses such a
            # pattern, SQLite ignores it. Refused here, so both backends answer alike.
            if (len(value) - len(value.rstrip("\\"))) % 2:
                raise QueryError(
                    f"{'.'.join(map(str, path))}.{op}: the pattern ends with a lone "
                    "backslash, which escapes nothing; write \\\\ for a backslash",
                    field=[*path, op],
                )
            if op == "like":
                parts.append(d.like(column, ctx.param(d.like_param(value))))
            else:
                parts.append(d.ilike(column, ctx.param(value)))
        elif op == "startsWith":
            parts.append(d.starts_with(column, ctx.param(d.prefix_param(value))))
        elif op == "contains":
            parts.append(d.contains(column, ctx.param(value)))
        elif op in ("containsAny", "containsAll"):
            distinct = list(dict.fromkeys(value))
            if not distinct:
                parts.append(FALSE if op == "containsAny" else TRUE)
                continue
            params = [ctx.param(v) for v in distinct]
            parts.append(
                d.picklist_any(column, params)
                if op == "containsAny"
                else d.picklist_all(column, params)
            )
    return " AND ".join(f"({p})" for p in parts) if parts else TRUE


def search_terms(ctx: Context, s: ObjectShape, alias: str, text: str) -> str:
    """Return the condition that every word of ``text`` occurs in a search field."""
    words = text.lower().split()[:10]
    if not words:
        return TRUE
    conds = []
    for word in words:
        p = ctx.param(word)
        conds.append(
            "("
            + " OR ".join(ctx.dialect.contains_folded(col(alias, f), p) for f in s.obj.search)
            + ")"
        )
    return " AND ".join(conds)
