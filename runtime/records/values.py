"""Turning expression results into column values, for actions that write fields.

Expressions give numbers as Decimal, dates, datetimes, text, booleans and ids; a field
wants its own type (an integer, a decimal of its scale, a currency amount with a code
column, a picklist value it allows). Anything that does not fit raises ActionError naming
the field, which fails the step (or, before the save, the write).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from metadata.expressions import Typed
from metadata.model import Field, Model
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.sql import naming


class ActionError(Exception):
    """An action that cannot be carried out; the message says which field and why."""


def coerce(obj: str, f: Field, value: Any) -> dict[str, Any]:
    """Return the columns that store ``value`` in field ``f`` of ``obj``."""
    where = f"{obj}.{f.name}"
    if value is None:
        if f.required:
            raise ActionError(f"{where} is required; the action gave it no value")
        out: dict[str, Any] = {f.name: None}
        if f.type == "currency":
            out[naming.currency_code_column(f.name)] = None
        return out
    kind = f.type
    if kind == "integer":
        return {f.name: int(Decimal(str(value)))}
    if kind in ("decimal", "percent", "currency"):
        amount = Decimal(str(value)).quantize(
            Decimal(1).scaleb(-int(f.option("scale") or 0)), rounding=ROUND_HALF_UP
        )
        if kind == "currency":
            return {
                f.name: amount,
                naming.currency_code_column(f.name): f.option("default_currency") or "CNY",
            }
        return {f.name: amount}
    if kind in ("picklist", "multi_picklist"):
        chosen = [value] if kind == "picklist" else list(value)
        allowed = [v.value for v in f.values if not v.inactive]
        for item in chosen:
            if item not in allowed:
                raise ActionError(f"{where}: {item!r} is not one of {', '.join(allowed)}")
        return {f.name: value if kind == "picklist" else chosen}
    if kind in ("lookup", "master_detail", "uuid"):
        try:
            return {f.name: uuid.UUID(str(value))}
        except ValueError:
            raise ActionError(f"{where}: {value!r} is not an id") from None
    if kind == "date" and isinstance(value, dt.datetime):
        return {f.name: value.date()}
    if kind == "boolean":
        return {f.name: bool(value)}
    if isinstance(value, str) and f.option("max_length") and len(value) > f.option("max_length"):
        raise ActionError(f"{where} takes at most {f.option('max_length')} characters")
    return {f.name: value}


def compile_values(shape: ApiShape, source: str, exprs: Mapping[str, str]) -> dict[str, Typed]:
    """Type each field's expression over records of ``source`` (metadata validation
    already checked them; the shape remembers their typed form)."""
    return {name: shape.typed(text, source) for name, text in exprs.items()}


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
