"""Compile a filter input (``{name: {startsWith: "A"}, or: [...]}``) into a WHERE clause.

Conditions on related records become EXISTS subqueries, so a filter never multiplies
rows and the whole query stays one statement.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metadata.expressions.rollups import Rollup
from metadata.model import Field
from runtime.expressions.sql import to_sql
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.dialects import BadValue, currency_code
from runtime.graphql.shape import ObjectShape, Relation

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
    ctx: Context, s: ObjectShape, alias: str, spec: dict[str, Any] | None, path: list[str | int]
) -> str:
    """Return SQL for ``spec`` on rows of ``s`` aliased ``alias`` (TRUE when empty)."""
    if not spec:
        return TRUE
    parts: list[str] = []
    for key, value in spec.items():
        here = [*path, key]
        if value is None:
            continue
        if key == "and":
            parts += [where(ctx, s, alias, item, [*here, i]) for i, item in enumerate(value)]
        elif key == "or":
            ors = [where(ctx, s, alias, item, [*here, i]) for i, item in enumerate(value)]
            parts.append("(" + " OR ".join(ors) + ")" if ors else FALSE)
        elif key == "not":
            parts.append(f"({where(ctx, s, alias, value, here)}) IS NOT TRUE")
        elif key in s.fields:
            f = s.fields[key]
            parts.append(_field(ctx, f, alias, field_sql(ctx, s, alias, f), value, here))
        elif key in s.id_fields:
            f = s.id_fields[key]
            parts.append(_field(ctx, f, alias, col(alias, f.name), value, here))
        elif key in s.relations:
            parts.append(_relation(ctx, s.relations[key], alias, value, here))
    return " AND ".join(f"({p})" for p in parts) if parts else TRUE


def _relation(
    ctx: Context, rel: Relation, alias: str, value: dict[str, Any], path: list[str | int]
) -> str:
    target = ctx.shape.objects[rel.target]
    inner = ctx.alias()
    table = ctx.dialect.table(rel.target)
    if rel.kind == "to_one":
        cond = where(ctx, target, inner, value, path)
        return (
            f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {col(inner, 'id')} = "
            f"{col(alias, rel.via)} AND {visible(ctx, rel.target, inner)} AND {cond})"
        )
    link = related_rows(ctx, rel, alias, inner)
    out = []
    for quantifier, spec in value.items():
        if spec is None:
            continue
        cond = where(ctx, target, inner, spec, [*path, quantifier])
        if quantifier == "some":
            out.append(f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {cond})")
        elif quantifier == "none":
            out.append(f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {cond})")
        else:  # every
            out.append(
                f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND ({cond}) IS NOT TRUE)"
            )
    return " AND ".join(out) if out else TRUE


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
    return _ops(ctx, f, column, ops, path)


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
        elif op == "like":
            parts.append(d.like(column, ctx.param(d.like_param(value))))
        elif op == "ilike":
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
