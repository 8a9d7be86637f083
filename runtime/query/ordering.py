"""Sort keys, keyset cursors and the predicates that resume after (or before) a cursor.

Every ordering ends with the record id, so it is total and a cursor names one position.
A cursor is the JSON array of the sort values of its row, as the response formats them;
it is opaque to clients and checked when it comes back.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from metadata.model import SYSTEM_FIELDS, Field
from runtime.model.shape import UNSORTABLE_TYPES, ObjectShape
from runtime.query.filters import FALSE, col, field_named, field_sql, visible
from runtime.query.ir import Sort
from runtime.query.scope import QueryError, ReadScope
from runtime.sql.dialect import BadValue


@dataclass(frozen=True)
class OrderKey:
    """One sort key: an SQL expression over the row, its field and direction."""

    sql: str
    field: Field
    descending: bool = False
    nulls_last: bool = True

    def clause(self, sql: str | None = None) -> str:
        """Return the ORDER BY term, for ``sql`` (a column carrying this key) if given."""
        return (
            f"{sql or self.sql} {'DESC' if self.descending else 'ASC'} "
            f"NULLS {'LAST' if self.nulls_last else 'FIRST'}"
        )

    def reversed(self) -> OrderKey:
        return replace(self, descending=not self.descending, nulls_last=not self.nulls_last)


def order_keys(
    scope: ReadScope, s: ObjectShape, alias: str, order: tuple[Sort, ...]
) -> list[OrderKey]:
    """Return the sort keys for ``order``, ending with the id."""
    keys = [_key(scope, s, alias, sort, sort.path) for sort in order]
    keys.append(OrderKey(col(alias, "id"), SYSTEM_FIELDS["id"]))
    return keys


def _key(
    scope: ReadScope, s: ObjectShape, alias: str, sort: Sort, path: tuple[str, ...]
) -> OrderKey:
    name, rest = path[0], path[1:]
    if rest:
        rel = s.relations.get(name)
        if rel is None or rel.kind != "to_one":
            raise QueryError(f"cannot sort {s.type_name} through {name!r}: not a to-one relation")
        target = scope.shape.objects[rel.target]
        inner = scope.alias()
        nested = _key(scope, target, inner, sort, rest)
        sql = (
            f"(SELECT {nested.sql} FROM {scope.dialect.table(rel.target)} {inner} WHERE "
            f"{col(inner, 'id')} = {col(alias, rel.via)} AND "
            f"{visible(scope, rel.target, inner)})"
        )
        return replace(nested, sql=sql)
    f = field_named(s, name)
    if f.type in UNSORTABLE_TYPES and name not in s.id_fields:
        raise QueryError(f"cannot sort by {name!r}: a {f.type} field has no order")
    sql = col(alias, f.name) if name not in s.fields else field_sql(scope, s, alias, f)
    return OrderKey(sql, f, sort.descending, sort.nulls_last)


def cursor_sql(scope: ReadScope, keys: list[OrderKey]) -> str:
    """Return SQL building the cursor text of a row."""
    values = [scope.dialect.output(k.field, k.sql) for k in keys]
    return scope.dialect.json_array_text(values)


_INTEGERS = ("integer", "duration")
_TEXTS = ("text", "email", "phone", "url", "picklist", "auto_number", "uuid", "lookup")
_INT64 = 2**63


def _parse(field: Field, value: Any) -> Any:
    """Return a cursor's value for ``field`` as the compiler binds it; raise ValueError
    for anything the list itself could not have written (a cursor is client input)."""
    if value is None:
        return None
    kind = field.type
    if kind == "formula":
        kind = {"number": "decimal", "text": "text"}.get(
            field.option("returns"), field.option("returns")
        )
    if kind in ("decimal", "currency", "percent"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(value)
        return Decimal(str(value))
    if kind in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= _INT64:
            raise ValueError(value)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    if kind in (*_TEXTS, "master_detail", "datetime", "date", "time"):
        if not isinstance(value, str):
            raise ValueError(value)
    elif not isinstance(value, str | int | float | bool):
        raise ValueError(value)  # a formula or roll-up's value: a scalar, never a structure
    if kind == "datetime":
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    return value


def resume_after(scope: ReadScope, keys: list[OrderKey], cursor: str, path: list[str | int]) -> str:
    """Return the condition that a row comes strictly after ``cursor`` in ``keys`` order."""
    try:
        raw = json.loads(cursor)
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError
        values = [
            scope.dialect.bind(k.field, _parse(k.field, v)) for k, v in zip(keys, raw, strict=True)
        ]
    except (ValueError, TypeError, InvalidOperation, BadValue, OverflowError):
        raise QueryError(
            f"{path[-1]} is not a cursor of this list and ordering; use a cursor from the "
            "same query's edges or pageInfo",
            "INVALID_CURSOR",
            field=path,
        ) from None
    params = [scope.param(v) if v is not None else None for v in values]
    branches = []
    for i, key in enumerate(keys):
        conds = [_equal(keys[j], params[j]) for j in range(i)]
        later = _later(key, params[i])
        if later == FALSE:
            continue
        branches.append(" AND ".join([*conds, later]))
    return "(" + " OR ".join(f"({b})" for b in branches) + ")" if branches else FALSE


def _equal(key: OrderKey, param: str | None) -> str:
    return f"{key.sql} IS NULL" if param is None else f"{key.sql} = {param}"


def _later(key: OrderKey, param: str | None) -> str:
    if param is None:
        return FALSE if key.nulls_last else f"{key.sql} IS NOT NULL"
    compare = f"{key.sql} {'<' if key.descending else '>'} {param}"
    return f"({compare} OR {key.sql} IS NULL)" if key.nulls_last else compare
