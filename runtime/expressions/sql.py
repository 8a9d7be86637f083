"""Compile a checked expression to SQL for PostgreSQL or SQLite.

Formula fields are computed in the database so they can be filtered, sorted and
aggregated like stored fields. Every constant becomes a bound parameter; every name
comes from validated metadata. The rules for nulls are the evaluator's
(``evaluate.py``), and the test suite runs both on both backends to keep them equal:

- arithmetic and comparisons with a null give null; dividing by zero gives null;
- ``&`` treats a null text as empty;
- AND, OR and NOT follow SQL's three-valued logic; IF treats a null condition as false.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, Protocol

from metadata.expressions.checker import BOOLEAN, DATE, DATETIME, ID, NUMBER, TEXT, Typed
from metadata.expressions.syntax import Binary, Call, ExpressionError, FieldRef, Literal, Unary
from runtime.sql.dialect import SqlDialect


class Binder(Protocol):
    dialect: SqlDialect

    def param(self, value: Any) -> str: ...


def to_sql(
    typed: Typed,
    alias: str,
    binder: Binder,
    *,
    today: dt.date,
    now: dt.datetime | None = None,
) -> str:
    """Return SQL computing ``typed`` for the row ``alias`` (an alias of its object's table).

    ``today`` is the tenant's date and ``now`` the moment NOW() gives (default: the wall
    clock; the workflow engine passes its own), bound as parameters so both backends
    agree on them. Functions only the engine evaluates raise ExpressionError.
    """
    return _Compiler(binder, today, now).sql(typed, alias)


_COMPARE = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _Compiler:
    def __init__(self, binder: Binder, today: dt.date, now: dt.datetime | None = None) -> None:
        self.b = binder
        self.d = binder.dialect
        self.today = today
        self.now = now or dt.datetime.now(dt.UTC)
        self._aliases = itertools.count(1)

    def value(self, value: Any, kind: str) -> str:
        if value is None:
            return "NULL"
        if kind == NUMBER:
            return self.b.param(self.d.bind_decimal(Decimal(value)))
        if kind == BOOLEAN:
            return self.b.param(self.d.bind_bool(value))
        if kind == DATE:
            return self.b.param(self.d.bind_date(value))
        return self.b.param(value)

    def sql(self, t: Typed, alias: str) -> str:
        node = t.node
        if isinstance(node, Literal):
            return self.value(node.value, t.type)
        if isinstance(node, FieldRef):
            return self.field(t, alias)
        args = [self.sql(a, alias) for a in t.args]
        if isinstance(node, Unary):
            return f"(- {args[0]})" if node.op == "-" else f"(NOT {args[0]})"
        if isinstance(node, Binary):
            return self.binary(node.op, t, args)
        assert isinstance(node, Call)
        return self.call(node.name, t, args)

    def field(self, t: Typed, alias: str) -> str:
        """The first hop reads ``alias``; each further hop is a scalar subquery on the
        lookup's target, which yields null for a missing or soft-deleted record. A
        formula is its expression, computed on the row that holds it."""
        formula = t.hops[-1][1].type == "formula"
        (_, first), *rest = t.hops
        if not rest:
            return self.sql(t.args[0], alias) if formula else f'{alias}."{first.name}"'
        current = f'{alias}."{first.name}"'
        rows = getattr(self.b, "rows", None)
        for i, (obj, f) in enumerate(rest):
            inner = f"x{next(self._aliases)}"
            last = i == len(rest) - 1
            value = self.sql(t.args[0], inner) if last and formula else f'{inner}."{f.name}"'
            # A reader's row predicate applies along the path too: a formula never shows
            # a value of a record the reader cannot see.
            visible = rows(obj.name, inner) if rows is not None else None
            current = (
                f"(SELECT {value} FROM {self.d.table(obj.name)} {inner} "
                f'WHERE {inner}."id" = {current} AND {inner}."deleted_at" IS NULL'
                + (f" AND {visible})" if visible else ")")
            )
        return current

    def binary(self, op: str, t: Typed, args: list[str]) -> str:
        left, right = args
        if op in ("AND", "OR"):
            return f"({left} {op} {right})"
        if op == "&":
            return f"(COALESCE({left}, '') || COALESCE({right}, ''))"
        if op == "/":
            return self.d.divide(left, right)
        if op in "+-*":
            return f"({left} {op} {right})"
        # Text is ordered by code point on both backends (PostgreSQL's "C" collation),
        # as the evaluator orders Python strings.
        if op not in ("=", "!=") and t.args[0].type == TEXT:
            left, right = self.d.ordered_text(left), self.d.ordered_text(right)
        return f"({left} {_COMPARE[op]} {right})"

    def call(self, name: str, t: Typed, a: list[str]) -> str:
        d = self.d
        kind = t.args[0].type if t.args else None
        if name == "IF":
            return f"(CASE WHEN {a[0]} THEN {a[1]} ELSE {a[2]} END)"
        if name in ("AND", "OR"):
            return "(" + f" {name} ".join(a) + ")"
        if name == "ISBLANK":
            return f"({a[0]} IS NULL OR {a[0]} = '')" if kind == TEXT else f"({a[0]} IS NULL)"
        if name == "BLANKVALUE":
            first = f"NULLIF({a[0]}, '')" if kind == TEXT else a[0]
            return f"COALESCE({first}, {a[1]})"
        if name == "LEN":
            return d.text_length(a[0])
        if name == "TRIM":
            return d.trim_spaces(a[0])
        if name in ("LEFT", "RIGHT"):
            taken = d.take(a[0], a[1], right=name == "RIGHT")
            return f"(CASE WHEN {a[1]} IS NULL OR {a[0]} IS NULL THEN NULL ELSE {taken} END)"
        if name == "CONTAINS":
            return d.contains_text(a[0], a[1])
        if name == "BEGINS":
            return d.begins_with(a[0], a[1])
        if name == "TEXT":
            if kind == DATE:
                return d.text_of_date(a[0])
            if kind == ID:
                return d.text_of_id(a[0])
            return a[0]
        if name == "ABS":
            return f"abs({a[0]})"
        if name == "ROUND":
            # The checker allows only a written whole number 0-10 here: SQL text.
            digits = t.args[1].node
            assert isinstance(digits, Literal)
            return d.round_to(a[0], int(digits.value))
        if name == "TODAY":
            return self.value(self.today, DATE)
        if name == "NOW":
            return self.b.param(self.d.bind_datetime(self.now))
        if name == "DATEVALUE":
            literal = t.args[0].node
            assert isinstance(literal, Literal)
            return self.value(dt.date.fromisoformat(literal.value), DATE)
        if name == "ADDDAYS":
            if kind == DATETIME:
                return d.add_seconds(a[0], f"(CAST({a[1]} AS INTEGER) * 86400)")
            return d.add_days(a[0], a[1])
        if name == "ADDHOURS":
            return d.add_seconds(a[0], f"({a[1]} * 3600)")
        if name == "DATEDIFF":
            return d.days_between(a[0], a[1])
        if name in ("YEAR", "MONTH", "DAY"):
            return d.date_part(a[0], name)
        raise ExpressionError(
            f"{name} looks at the previous values of a record being written, so it cannot "
            "be computed in a query",
            t.node.position,
            "",
        )
