"""What a time trigger can count from: a field whose value is a moment.

A stored date or datetime, a system field (``created_at``, ``updated_at``), a formula
that gives a date or datetime, or a roll-up's minimum or maximum of one ("the latest
follow-up"). The engine computes the computed ones in SQL, like any read.
"""

from __future__ import annotations

from metadata.expressions.checker import DATE, DATETIME, FIELD_TYPES
from metadata.expressions.rollups import RollupProblem, check_rollup
from metadata.model import Model


def moment_type(model: Model, obj: str, name: str) -> str | None:
    """Return ``date`` or ``datetime`` for a field a time trigger can use, else None."""
    try:
        f = model.objects[obj].field(name)
    except KeyError:
        return None
    if f.type == "formula":
        kind = f.option("returns")
    elif f.type == "rollup":
        try:
            kind = check_rollup(model, obj, f).type
        except RollupProblem:
            return None
    else:
        kind = FIELD_TYPES.get(f.type)
    return kind if kind in (DATE, DATETIME) else None
