"""Compile IR conditions (``runtime.query.ir``) into WHERE clauses.

Every value is a bound parameter, bound as the field's kind reads it. Conditions on
related records become EXISTS subqueries, so a filter never multiplies
rows and the whole query stays one statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from metadata.expressions.rollups import Rollup
from metadata.kinds import kind_of
from metadata.kinds.base import ValueProblem
from metadata.kinds.files import AttachmentKind
from metadata.kinds.places import ADDRESS_PARTS, AddressKind, GeolocationKind
from metadata.kinds.references import PolymorphicLookupKind
from metadata.model import Field
from runtime.expressions.sql import to_sql
from runtime.model.shape import ObjectShape, Relation
from runtime.query.ir import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Matches,
    Not,
    Path,
    RefersTo,
    Related,
    Within,
)
from runtime.query.periods import bounds
from runtime.query.scope import QueryError, ReadScope, dotted
from runtime.sql.dialect import BadValue, currency_code

TRUE, FALSE = "1 = 1", "1 = 0"


def col(alias: str, name: str) -> str:
    return f'{alias}."{name}"'


def field_sql(scope: ReadScope, s: ObjectShape, alias: str, f: Field) -> str:
    """Return SQL for field ``f`` of row ``alias``: its column, a formula's expression, or
    a roll-up's subquery over the children the reader can see."""
    computed = s.computed.get(f.name)
    today = scope.today or dt.date.today()
    if computed is None:
        return col(alias, f.name)
    if not isinstance(computed, Rollup):
        return to_sql(computed, alias, scope, today=today)
    child = computed.child.name
    inner = scope.alias()
    condition = f"{col(inner, computed.via.name)} = {col(alias, 'id')} AND " + visible(
        scope, child, inner
    )
    if computed.where is not None:
        condition += f" AND {to_sql(computed.where, inner, scope, today=today)}"
    if computed.field is None:
        aggregate = "count(*)"
    else:
        aggregate = f"{computed.function}({col(inner, computed.field.name)})"
        if computed.function == "sum":
            aggregate = f"coalesce({aggregate}, 0)"  # no children: nothing summed is 0
    return f"(SELECT {aggregate} FROM {scope.dialect.table(child)} {inner} WHERE {condition})"


def live(alias: str) -> str:
    return f'{alias}."deleted_at" IS NULL'


def visible(scope: ReadScope, obj: str, alias: str) -> str:
    """Return the condition that row ``alias`` of ``obj`` is live and readable."""
    rows = scope.rows(obj, alias)
    return f"{live(alias)} AND {rows}" if rows else live(alias)


def where(scope: ReadScope, s: ObjectShape, alias: str, cond: Condition) -> str:
    """Return SQL for ``cond`` on rows of ``s`` aliased ``alias`` (TRUE when empty)."""
    if isinstance(cond, AllOf):
        parts = [where(scope, s, alias, c) for c in cond.items]
        return joined(parts, "AND") if parts else TRUE
    if isinstance(cond, AnyOf):
        parts = [where(scope, s, alias, c) for c in cond.items]
        return joined(parts, "OR") if parts else FALSE
    if isinstance(cond, Not):
        return f"({where(scope, s, alias, cond.item)}) IS NOT TRUE"
    if isinstance(cond, Related):
        return _relation(scope, s, alias, cond)
    if isinstance(cond, RefersTo):
        return _refers_to(scope, s, alias, cond)
    if isinstance(cond, Matches):
        return to_sql(cond.expression, alias, scope, today=scope.today or dt.date.today())
    f = field_named(s, cond.field, cond.at)
    if isinstance(cond, Within):
        return _within(scope, f, alias, cond)
    if cond.field in s.id_fields and cond.field not in s.fields:
        return _op(scope, f, col(alias, f.name), cond)
    if f.type == "polymorphic_lookup":
        return _polymorphic(scope, f, alias, cond)
    if cond.part is not None:
        return _part(scope, f, alias, cond)
    return _op(scope, f, field_sql(scope, s, alias, f), cond)


def field_named(s: ObjectShape, name: str, at: Path = ()) -> Field:
    """Return ``s``'s field (or reference id) ``name``; a name the reader's shape lacks
    (absent, or hidden from this reader) is refused, naming where it was asked for."""
    f = s.fields.get(name) or s.id_fields.get(name)
    if f is None:
        raise QueryError(
            f"{dotted(at) + ': ' if at else ''}{s.type_name} has no field {name!r}",
            field=list(at) or None,
        )
    return f


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


def _relation(scope: ReadScope, s: ObjectShape, alias: str, cond: Related) -> str:
    rel = s.relations.get(cond.relation)
    if rel is None:
        raise QueryError(f"{s.type_name} has no relation {cond.relation!r}")
    target = scope.shape.objects[rel.target]
    inner = scope.alias()
    table = scope.dialect.table(rel.target)
    if rel.kind == "to_one":
        inside = where(scope, target, inner, cond.where)
        return (
            f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {col(inner, 'id')} = "
            f"{col(alias, rel.via)} AND {visible(scope, rel.target, inner)} AND {inside})"
        )
    link = related_rows(scope, rel, alias, inner)
    inside = where(scope, target, inner, cond.where)
    if cond.quantifier == "none":
        return f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {inside})"
    if cond.quantifier == "every":
        return f"NOT EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND ({inside}) IS NOT TRUE)"
    return f"EXISTS (SELECT 1 FROM {table} {inner} WHERE {link} AND {inside})"


def _refers_to(scope: ReadScope, s: ObjectShape, alias: str, cond: RefersTo) -> str:
    """A polymorphic lookup refers to a readable, live record of one object that meets
    the condition (an EXISTS, as for a to-one relation)."""
    d = scope.dialect
    f = field_named(s, cond.field)
    target = scope.shape.objects.get(cond.object)
    if f.type != "polymorphic_lookup" or target is None or cond.object not in f.targets:
        raise QueryError(f"{cond.field!r} cannot refer to {cond.object!r}")
    objects = PolymorphicLookupKind.object_column(f.name)
    inner = scope.alias()
    inside = where(scope, target, inner, cond.where)
    return (
        f"{col(alias, objects)} = {d.literal(target.name)} AND EXISTS (SELECT 1 FROM "
        f"{d.table(target.name)} {inner} WHERE {col(inner, 'id')} = {col(alias, f.name)} "
        f"AND {visible(scope, target.name, inner)} AND {inside})"
    )


def _polymorphic(scope: ReadScope, f: Field, alias: str, cond: Compare) -> str:
    """Which object a polymorphic lookup refers to (as text), or which id."""
    if cond.part is None:
        return _op(scope, f, col(alias, f.name), cond)
    if cond.part == "id":
        ids = Field(name=f.name, type="uuid", label=f.label)
        return _op(scope, ids, col(alias, f.name), cond)
    objects = PolymorphicLookupKind.object_column(f.name)
    text = Field(name=objects, type="text", label=f.label, options={"max_length": 63})
    return _op(scope, text, col(alias, objects), cond)


#: The column of each part a composite field is filtered by.
_PART_COLUMNS: dict[str, Callable[[str, str], str]] = {
    "address": lambda name, part: (
        name if part == "line" else AddressKind.part_column(name, _ADDRESS_PARTS[part])
    ),
    "attachment": lambda name, part: AttachmentKind.part_column(
        name, {"name": "file_name", "contentType": "content_type"}[part]
    ),
}
_ADDRESS_PARTS = {api: part for part, api, _ in ADDRESS_PARTS}


def _part(scope: ReadScope, f: Field, alias: str, cond: Compare) -> str:
    """A part of a composite field: a currency's code, an address part (or its whole
    line), an attachment's file name or type, each compared as text."""
    if f.type == "currency" and cond.part == "currencyCode":
        code = Field(name=f.name, type="text", label=f.label)
        return _op(scope, code, currency_code(alias, f), cond)
    if f.type == "currency" and cond.part == "amount":
        return _op(scope, f, col(alias, f.name), cond)
    columns = _PART_COLUMNS.get(f.type)
    try:
        name = columns(f.name, cond.part) if columns and cond.part else None
    except KeyError:
        name = None
    if name is None:
        raise QueryError(
            f"{dotted(cond.at)}: a {f.type} field has no part {cond.part!r}", field=list(cond.at)
        )
    text = Field(name=name, type="text", label=f.label, options={"max_length": 1000})
    return _op(scope, text, col(alias, name), cond)


def _within(scope: ReadScope, f: Field, alias: str, cond: Within) -> str:
    """A point within a great-circle distance of another (haversine, on a sphere of the
    Earth's mean radius: within 0.5% of the ellipsoid's distances)."""
    lat, lng, km = cond.latitude, cond.longitude, cond.km
    if f.type != "geolocation" or not (
        -90 <= lat <= 90 and -180 <= lng <= 180 and 0 <= km <= 20_100
    ):
        raise QueryError(
            "within needs latitude -90-90, longitude -180-180 and km 0-20100",
            field=list(cond.at),
        )
    longitude = col(alias, GeolocationKind.longitude_column(f.name))
    return scope.dialect.within_km(
        col(alias, f.name), longitude, scope.param(lat), scope.param(lng), scope.param(km), km
    )


def related_rows(scope: ReadScope, rel: Relation, alias: str, inner: str) -> str:
    """Return the condition that row ``inner`` of the target is related to ``alias``."""
    if rel.kind == "to_many":
        return f"{col(inner, rel.via)} = {col(alias, 'id')} AND {visible(scope, rel.target, inner)}"
    assert rel.junction and rel.far
    j = scope.alias()
    return (
        f"{visible(scope, rel.target, inner)} AND {col(inner, 'id')} IN (SELECT "
        f"{col(j, rel.far)} FROM {scope.dialect.table(rel.junction)} {j} WHERE "
        f"{col(j, rel.via)} = {col(alias, 'id')} AND {visible(scope, rel.junction, j)})"
    )


def _relative(
    scope: ReadScope,
    f: Field,
    column: str,
    value: dict[str, Any],
    path: list[str | int],
    bind: Callable[[Any], str],
) -> str:
    """A relative period on a date or datetime: from the start of the first period to
    the start of the one after the last, in the tenant's calendar and time zone."""
    try:
        start, end = bounds(
            scope.today or dt.date.today(), value["unit"], value["from"], value["to"]
        )
    except ValueError as exc:
        raise QueryError(f"{dotted(path)}.relative: {exc}", field=[*path, "relative"]) from None
    if f.type == "date" or (f.type == "formula" and f.option("returns") == "date"):
        low, high = start.isoformat(), end.isoformat()
    else:
        zone = ZoneInfo(scope.timezone or "UTC")
        low, high = (dt.datetime.combine(day, dt.time(), zone).isoformat() for day in (start, end))
    return f"({column} >= {bind(low)} AND {column} < {bind(high)})"


def _op(scope: ReadScope, f: Field, column: str, cond: Compare) -> str:
    """One operator on ``column``, the SQL of field ``f`` (or of one of its parts)."""
    d = scope.dialect
    op, value, path = cond.op, cond.value, list(cond.at)

    def bind(item: Any) -> str:
        try:
            return scope.param(d.bind(f, _read(f, item)))
        except (BadValue, ValueProblem) as exc:
            raise QueryError(f"{dotted(path)}.{op}: {exc}", field=[*path, op]) from None

    if op == "isNull":
        return f"{column} IS NULL" if value else f"{column} IS NOT NULL"
    if op == "relative" and value is not None:
        return _relative(scope, f, column, value, path, bind)
    if value is None:
        raise QueryError(
            f"{dotted(path)}.{op} cannot be null; use isNull to match missing values",
            field=[*path, op],
        )
    if op == "eq":
        return f"{column} = {bind(value)}"
    if op == "neq":
        # Null differs from any value, so neq keeps records without one.
        return f"({column} <> {bind(value)} OR {column} IS NULL)"
    if op in _SIGNS:
        return f"{column} {_SIGNS[op]} {bind(value)}"
    if op == "in":
        items = [bind(v) for v in value]
        return f"{column} IN ({', '.join(items)})" if items else FALSE
    if op == "notIn":
        items = [bind(v) for v in value]
        return f"({column} NOT IN ({', '.join(items)}) OR {column} IS NULL)" if items else TRUE
    if op in ("like", "ilike"):
        # A lone backslash at the end escapes nothing: PostgreSQL refuses such a
        # pattern, SQLite ignores it. Refused here, so both backends answer alike.
        if (len(value) - len(value.rstrip("\\"))) % 2:
            raise QueryError(
                f"{dotted(path)}.{op}: the pattern ends with a lone backslash, which "
                "escapes nothing; write \\\\ for a backslash",
                field=[*path, op],
            )
        if op == "like":
            return d.like(column, scope.param(d.like_param(value)))
        return d.ilike(column, scope.param(value))
    if op == "startsWith":
        return d.starts_with(column, scope.param(d.prefix_param(value)))
    if op == "contains":
        return d.contains(column, scope.param(value))
    if op in ("containsAny", "containsAll"):
        distinct = list(dict.fromkeys(value))
        if not distinct:
            return FALSE if op == "containsAny" else TRUE
        params = [scope.param(v) for v in distinct]
        if op == "containsAny":
            return d.picklist_any(column, params)
        return d.picklist_all(column, params)
    raise QueryError(f"{dotted(path)}: unknown operator {op!r}", field=[*path, op])


_TEMPORAL = ("date", "datetime", "time")
_WHOLE = ("integer", "duration")
_DECIMAL = ("decimal", "currency", "percent")


def _read(f: Field, item: Any) -> Any:
    """Check a compared value against the field's kind. GraphQL's scalars have already
    read request values; a query built from JSON (a saved view, a report) or by hand
    holds them as JSON, so dates come as text and anything may be of the wrong type."""
    if f.type in _TEMPORAL and isinstance(item, str):
        return kind_of(f.type).from_json(f, item)
    if f.type in _WHOLE and (isinstance(item, bool) or not isinstance(item, int)):
        raise BadValue(f"{item!r} is not a whole number")
    if f.type == "boolean" and not isinstance(item, bool):
        raise BadValue(f"{item!r} is not true or false")
    if f.type in _DECIMAL:
        if isinstance(item, bool) or not isinstance(item, int | float | str | Decimal):
            raise BadValue(f"{item!r} is not a number")
        try:
            Decimal(str(item))
        except InvalidOperation:
            raise BadValue(f"{item!r} is not a number") from None
    return item


_SIGNS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def search_terms(scope: ReadScope, s: ObjectShape, alias: str, text: str) -> str:
    """Return the condition that every word of ``text`` occurs in a search field."""
    words = text.lower().split()[:10]
    if not words:
        return TRUE
    conds = []
    for word in words:
        p = scope.param(word)
        conds.append(
            "("
            + " OR ".join(scope.dialect.contains_folded(col(alias, f), p) for f in s.obj.search)
            + ")"
        )
    return " AND ".join(conds)
