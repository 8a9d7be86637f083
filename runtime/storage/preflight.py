"""Data checks that run before a step which could fail on existing rows.

Making a field required when some records have no value, or unique when two share one,
would fail halfway through the DDL with a raw database error. These checks count the
offending rows first and say, in words, what to do about them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Numeric, column, func, literal, select, table

from metadata.diff import operations as ops
from metadata.diff.conversions import integer_digits
from metadata.errors import Issue

#: Maps (object, field) names at this point of the plan to the names the database has
#: now, or None for something the plan creates (and which so has no rows to check).
Resolver = Callable[[str, str | None], tuple[str, str | None] | None]


def identity(obj: str, field: str | None) -> tuple[str, str | None]:
    """Resolve names unchanged: during an apply the database is at the step's state."""
    return obj, field


def _where(schema: str | None, name: str, *columns: str) -> Any:
    return table(name, *(column(c) for c in (*columns, "deleted_at")), schema=schema)


def _sample(values: list[Any]) -> str:
    return ", ".join(repr(v[0] if len(v) == 1 else tuple(v)) for v in values[:3])


def check_step(
    conn: Connection, op: Any, *, schema: str | None, resolve: Resolver = identity
) -> list[Issue]:
    """Return the data problems that would make ``op`` fail (empty when it can run)."""
    if isinstance(op, ops.AddField):
        return _add_field(conn, op, schema, resolve)
    if isinstance(op, ops.AlterField):
        return _alter_field(conn, op, schema, resolve)
    if isinstance(op, ops.AddUniqueConstraint):
        return _duplicates(conn, op, schema, resolve, (op.field,))
    if isinstance(op, ops.AddIndex) and op.index.unique:
        return _duplicates(conn, op, schema, resolve, op.index.fields)
    return []


def _issue(op: Any, message: str) -> Issue:
    return Issue(pointer=op.target_pointer, message=message, code="data_conflict")


def _add_field(
    conn: Connection, op: ops.AddField, schema: str | None, resolve: Resolver
) -> list[Issue]:
    where = resolve(op.object, None)
    f = op.field
    if where is None or not (
        (f.required and f.default is None) or (f.unique and f.default is not None)
    ):
        return []
    rows = conn.execute(select(func.count()).select_from(_where(schema, where[0]))).scalar_one()
    if f.required and f.default is None and rows:
        return [
            _issue(
                op,
                f"{op.object} already has {rows} record(s), and a new required "
                f"field {f.name!r} has no default for them; give it a default, or "
                "add it optional, fill it in, then make it required",
            )
        ]
    if f.unique and f.default is not None and rows > 1:
        return [
            _issue(
                op,
                f"all {rows} existing {op.object} records would get the default "
                f"{f.default!r}, but {f.name!r} is unique; add it without a "
                "default",
            )
        ]
    return []


def _alter_field(
    conn: Connection, op: ops.AlterField, schema: str | None, resolve: Resolver
) -> list[Issue]:
    where = resolve(op.object, op.old.name)
    if where is None or where[1] is None:
        return []
    name, col = where[0], where[1]
    t = _where(schema, name, col)
    issues = []
    if op.new.required and not op.old.required and op.new.default is None:
        missing = conn.execute(
            select(func.count()).select_from(t).where(t.c[col].is_(None))
        ).scalar_one()
        if missing:
            issues.append(
                _issue(
                    op,
                    f"{missing} {op.object} record(s) have no "
                    f"{op.new.name}, so it cannot become required; fill "
                    "them in first, or give the field a default to fill "
                    "them with",
                )
            )
    numeric = {"integer", "decimal", "currency", "percent"}
    if op.conversion.kind == "checked" and op.old.type in numeric and op.new.type in numeric:
        # Bound as a wide numeric: 10**19 does not fit the bigint it would default to.
        limit = literal(Decimal(10 ** integer_digits(op.new)), Numeric(38, 0))
        too_big = conn.execute(
            select(func.count()).select_from(t).where(func.abs(t.c[col]) >= limit)
        ).scalar_one()
        if too_big:
            issues.append(
                _issue(
                    op,
                    f"{too_big} {op.object} record(s) hold values of "
                    f"{integer_digits(op.new) + 1} or more digits before "
                    "the point, which the new precision cannot store",
                )
            )
    return issues


def _duplicates(
    conn: Connection, op: Any, schema: str | None, resolve: Resolver, fields: tuple[str, ...]
) -> list[Issue]:
    resolved = [resolve(op.object, f) for f in fields]
    if any(r is None or r[1] is None for r in resolved):
        return []  # a field this plan adds holds no values yet
    columns = [r[1] for r in resolved]
    t = _where(schema, resolved[0][0], *columns)
    cols = [t.c[c] for c in columns]
    query = (
        select(*cols, func.count().label("n"))
        .where(t.c.deleted_at.is_(None), *(c.is_not(None) for c in cols))
        .group_by(*cols)
        .having(func.count() > 1)
        .order_by(func.count().desc())
        .limit(20)
    )
    rows = conn.execute(query).all()
    if not rows:
        return []
    shown = _sample([list(r[:-1]) for r in rows])
    label = ", ".join(fields)
    more = "at least " if len(rows) == 20 else ""
    return [
        _issue(
            op,
            f"{more}{len(rows)} value(s) of ({label}) occur in more than one live "
            f"{op.object} record (e.g. {shown}); make them distinct first",
        )
    ]
