"""Expressions the web app evaluates too: layout rules (when a field shows, when it is
read-only) run in the browser as a person edits, and in the record service when the
change is saved, with one meaning.

They read the record's own fields (no lookups: the form holds only the record) and use
the functions below, which ``runtime/server/static/app/rules.js`` implements; ``tree``
turns a checked expression into the JSON that script walks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN, Typed
from metadata.expressions.syntax import Binary, Call, FieldRef, Literal, Unary
from metadata.model import Model

#: Functions rules.js evaluates (besides the operators).
FUNCTIONS = frozenset(
    {
        "AND",
        "OR",
        "IF",
        "ISBLANK",
        "BLANKVALUE",
        "ROLE",
        "ISMEMBER",
        "TODAY",
        "CONTAINS",
        "BEGINS",
        "LEN",
        "TRIM",
    }
)


def check_rule(text: str, model: Model, obj: str) -> Typed:
    """Return ``text`` checked as a layout rule of ``obj``, or raise ExpressionError."""
    typed = check(text, model, obj, expect=BOOLEAN, engine=True)
    _walk(typed, text)
    return typed


def _walk(t: Typed, text: str) -> None:
    node = t.node
    if isinstance(node, FieldRef):
        if len(node.path) > 1:
            raise ExpressionError(
                "a layout rule reads the record's own fields, not through a lookup",
                node.position,
                text,
            )
        return  # a formula's own expression is computed by the server, not walked
    if isinstance(node, Call) and node.name not in FUNCTIONS:
        raise ExpressionError(
            f"{node.name} is not evaluated in the browser; layout rules may use "
            + ", ".join(sorted(FUNCTIONS)),
            node.position,
            text,
        )
    for arg in t.args:
        _walk(arg, text)


def fields_of(t: Typed) -> set[str]:
    """Return the fields a rule reads."""
    if isinstance(t.node, FieldRef):
        return {t.node.path[0]}
    out: set[str] = set()
    for arg in t.args:
        out |= fields_of(arg)
    return out


def tree(t: Typed) -> dict[str, Any]:
    """Return the checked rule as JSON for rules.js."""
    node = t.node
    if isinstance(node, Literal):
        value = node.value
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        return {"lit": value}
    if isinstance(node, FieldRef):
        return {"field": node.path[0], "type": t.type}
    args = [tree(a) for a in t.args]
    if isinstance(node, Unary):
        return {"op": node.op, "args": args}
    if isinstance(node, Binary):
        return {"op": node.op, "args": args, "type": t.args[0].type}
    assert isinstance(node, Call)
    return {"fn": node.name, "args": args}
