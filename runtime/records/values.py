"""Turning expression results into column values, for actions that write fields.

Expressions give numbers as Decimal, dates, datetimes, text, booleans and ids; a field
wants its own type (an integer, a decimal of its scale, a currency amount with a code
column, a picklist value it allows). Anything that does not fit raises ActionError naming
the field, which fails the step (or, before the save, the write).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from metadata.expressions import Typed
from metadata.kinds import ValueProblem, kind_of
from metadata.model import Field, Model
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape


class ActionError(Exception):
    """An action that cannot be carried out; the message says which field and why."""


def coerce(obj: str, f: Field, value: Any) -> dict[str, Any]:
    """Return the columns that store ``value`` in field ``f`` of ``obj``: read by the
    field's kind as an expression result (numbers rounded to the field's scale, as a
    formula's result would be shown), then checked as any input is."""
    where = f"{obj}.{f.name}"
    if value is None:
        if f.required:
            raise ActionError(f"{where} is required; the action gave it no value")
        return kind_of(f.type).to_columns(f, None)
    kind = kind_of(f.type)
    try:
        read = kind.from_json(f, value, rounding=True)
        kind.check(f, read, where)
    except ValueProblem as problem:
        message = problem.en if problem.en.startswith(where) else f"{where}: {problem.en}"
        raise ActionError(message) from None
    return kind.to_columns(f, read)


def compile_values(
    shape: ApiShape, source: str, exprs: Mapping[str, str], *, engine: bool = False
) -> dict[str, Typed]:
    """Type each field's expression over records of ``source`` (metadata validation
    already checked them; the shape remembers their typed form). ``engine``: workflow
    actions, which may use the functions only the engine evaluates."""
    return {name: shape.typed(text, source, engine=engine) for name, text in exprs.items()}


def compute(model: Model, target: str, typed: Mapping[str, Typed], scope: Scope) -> dict[str, Any]:
    """Return the columns ``typed`` (field → expression) give for ``scope``'s record."""
    obj = model.objects[target]
    out: dict[str, Any] = {}
    for name, expr in typed.items():
        out.update(coerce(target, obj.fields[name], evaluate(expr, scope)))
    return out


def add_score(obj: str, f: Field, current: Any, amount: Any) -> dict[str, Any]:
    """Return the columns after adding ``amount`` to a number field."""
    base = Decimal(str(current)) if current is not None else Decimal(0)
    return coerce(obj, f, base + Decimal(str(amount or 0)))


def change_tags(
    obj: str, f: Field, current: Any, add: list[str], remove: list[str]
) -> dict[str, Any]:
    """Return the columns of a multi_picklist field with values added and removed."""
    values = json.loads(current) if isinstance(current, str) else list(current or [])
    values = [v for v in values if v not in remove]
    values += [v for v in add if v not in values]
    return coerce(obj, f, values)
