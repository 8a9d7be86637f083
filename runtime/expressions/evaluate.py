"""Evaluate a checked expression on one record, in Python, with the SQL compiler's meaning.

Validation rules and workflow conditions run on the record being written, before it is
stored, and may compare it with what it was (ISCHANGED, PRIORVALUE); that cannot be a
query. The null rules are those of ``sql.py``; tests run both on both backends.

A record is a mapping of field name to value: Decimal for numbers (a currency's amount),
str, bool, ``datetime.date``, or UUID for ids and lookups. Values reached through lookups
are read with ``load(object, id)``, which returns the target's field values, or None when
there is no such live record.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from metadata.calendar import DEFAULT_CALENDAR, Calendar
from metadata.expressions.checker import DATE, DATETIME, ID, TEXT, Typed
from metadata.expressions.syntax import Binary, Call, FieldRef, Literal, Unary

Record = Mapping[str, Any]
Loader = Callable[[str, Any], Record | None]


@dataclass(frozen=True)
class Scope:
    """What an evaluation sees."""

    record: Record
    today: dt.date
    load: Loader = field(default=lambda _obj, _id: None)
    """Reads a lookup's target; by default there are none to read."""
    prior: Record | None = None
    """The record before the write; None when it is being created."""
    now: dt.datetime | None = None
    """The moment NOW() gives; None: the clock's."""
    calendar: Calendar = DEFAULT_CALENDAR
    """The tenant's working days (ADDWORKDAYS, WORKDAYS)."""
    caller: Caller | None = None
    """The person acting (USERID, ROLE, ISMEMBER, COUNT); None: the system."""


@dataclass(frozen=True)
class Caller:
    """The person an expression is evaluated for, as the engine knows them."""

    user_id: Any = None
    facts: Callable[[], tuple[str | None, frozenset[str]]] = field(
        default=lambda: (None, frozenset())
    )
    """Reads their role and the roles ISMEMBER is true for (theirs and those below it):
    only when an expression asks, since it costs a read of the tenant's members."""
    count: Callable[[str, Typed], int] = field(default=lambda _obj, _condition: 0)
    """Counts the live records of an object they own that meet a condition."""

    @functools.cached_property
    def _facts(self) -> tuple[str | None, frozenset[str]]:
        return self.facts()

    @property
    def role(self) -> str | None:
        return self._facts[0]

    @property
    def roles(self) -> frozenset[str]:
        return self._facts[1]


def evaluate(typed: Typed, scope: Scope) -> Any:
    """Return the value of ``typed`` for ``scope.record`` (None for null)."""
    return _Evaluator(scope).eval(typed)


def _number(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _and(values: list[Any]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: list[Any]) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _moment(value: Any) -> dt.datetime:
    """A datetime to compare: stored ones are UTC, so one without a zone is UTC too."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


class _Evaluator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def eval(self, t: Typed) -> Any:
        node = t.node
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, FieldRef):
            if t.hops[-1][1].type == "formula":
                return self.formula(t)
            return self.field(t, self.scope.record)
        if isinstance(node, Call) and node.name == "ISNEW":
            return self.scope.prior is None
        if isinstance(node, Call) and node.name in ("ISCHANGED", "PRIORVALUE"):
            return self.prior(node.name, t)
        if isinstance(node, Call) and node.name == "COUNT":
            # The condition is over the counted object's records, counted in SQL.
            caller, obj = self.scope.caller, t.args[0].node.value  # type: ignore[attr-defined]
            return Decimal(caller.count(obj, t.args[1]) if caller else 0)
        if isinstance(node, Call) and node.name == "IF":
            # Only the branch taken is evaluated, as in SQL's CASE.
            condition = self.eval(t.args[0])
            return self.eval(t.args[1] if condition is True else t.args[2])
        args = [self.eval(a) for a in t.args]
        if isinstance(node, Unary):
            if args[0] is None:
                return None
            return -_number(args[0]) if node.op == "-" else not args[0]  # type: ignore[operator]
        if isinstance(node, Binary):
            return self.binary(node.op, t, args)
        assert isinstance(node, Call)
        return self.call(node.name, t, args)

    def field(self, t: Typed, record: Record | None) -> Any:
        value: Any = None
        for i, (_, f) in enumerate(t.hops):
            if record is None:
                return None
            value = record.get(f.name)
            if i < len(t.hops) - 1:
                record = self.scope.load(f.target, value) if value is not None else None  # type: ignore[arg-type]
        return value

    def formula(self, t: Typed) -> Any:
        """A formula field: its expression, evaluated on the record that holds it."""
        record: Record | None = self.scope.record
        for _, f in t.hops[:-1]:
            value = record.get(f.name) if record is not None else None
            record = self.scope.load(f.target, value) if value is not None else None  # type: ignore[arg-type]
        if record is None:
            return None
        return _Evaluator(replace(self.scope, record=record, prior=None)).eval(t.args[0])

    def prior(self, name: str, t: Typed) -> Any:
        now = self.field(t.args[0], self.scope.record)
        if self.scope.prior is None:  # a new record: nothing changed, the prior is itself
            return False if name == "ISCHANGED" else now
        before = self.field(t.args[0], self.scope.prior)
        return before != now if name == "ISCHANGED" else before

    def binary(self, op: str, t: Typed, args: list[Any]) -> Any:
        left, right = args
        if op == "AND":
            return _and(args)
        if op == "OR":
            return _or(args)
        if op == "&":
            return (left or "") + (right or "")
        if left is None or right is None:
            return None
        if op in "+-*/":
            a, b = _number(left), _number(right)
            assert a is not None and b is not None
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            return None if b == 0 else a / b
        if t.args[0].type == "number":
            left, right = _number(left), _number(right)
        elif t.args[0].type == DATETIME or t.args[1].type == DATETIME:
            left, right = _moment(left), _moment(right)
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]

    def call(self, name: str, t: Typed, a: list[Any]) -> Any:
        kind = t.args[0].type if t.args else None
        if name == "AND":
            return _and(a)
        if name == "OR":
            return _or(a)
        if name == "ISBLANK":
            return a[0] is None or (kind == TEXT and a[0] == "")
        if name == "BLANKVALUE":
            blank = a[0] is None or (kind == TEXT and a[0] == "")
            return a[1] if blank else a[0]
        if name == "TODAY":
            return self.scope.today
        if name == "NOW":
            return self.scope.now or dt.datetime.now(dt.UTC)
        if name == "DATEVALUE":
            return dt.date.fromisoformat(a[0])
        caller = self.scope.caller
        if name == "USERID":
            return caller.user_id if caller else None
        if name == "ROLE":
            return (caller.role or "") if caller else ""
        if name == "ISMEMBER":
            return caller is not None and a[0] in caller.roles

        if any(v is None for v in a):
            return None
        if name == "LEN":
            return Decimal(len(a[0]))
        if name == "TRIM":
            return a[0].strip(" ")
        if name == "LEFT":
            return a[0][: max(int(a[1]), 0)]
        if name == "RIGHT":
            n = int(a[1])
            return a[0][-n:] if n > 0 else ""
        if name == "CONTAINS":
            return a[1] in a[0]
        if name == "BEGINS":
            return a[0].startswith(a[1])
        if name == "TEXT":
            if kind == DATE:
                return a[0].isoformat()
            if kind == ID:
                return str(uuid.UUID(str(a[0])))
            return a[0]
        if name == "ABS":
            return abs(_number(a[0]))  # type: ignore[arg-type]
        if name == "ROUND":
            try:
                return _number(a[0]).quantize(  # type: ignore[union-attr]
                    Decimal(1).scaleb(-int(a[1])), rounding=ROUND_HALF_UP
                )
            except InvalidOperation:
                return None
        if name == "ADDDAYS":
            return a[0] + dt.timedelta(days=int(a[1]))
        if name == "ADDHOURS":
            return _moment(a[0]) + dt.timedelta(hours=float(a[1]))
        if name == "ADDWORKDAYS":
            return self.scope.calendar.add_workdays(a[0], int(a[1]))
        if name == "WORKDAYS":
            return Decimal(self.scope.calendar.workdays_between(a[0], a[1]))
        if name == "DATEDIFF":
            return Decimal((a[1] - a[0]).days)
        if name == "YEAR":
            return Decimal(a[0].year)
        if name == "MONTH":
            return Decimal(a[0].month)
        if name == "DAY":
            return Decimal(a[0].day)
        raise AssertionError(f"no evaluation for {name}")
