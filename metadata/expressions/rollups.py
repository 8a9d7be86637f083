"""Roll-up fields: a count, sum, minimum or maximum over child records.

``account.open_pipeline: {type: rollup, from: opportunity.account, function: sum,
field: amount, where: 'stage != "closed_lost"'}`` sums the amounts of the account's
opportunities that match ``where``. ``check_rollup`` resolves and types one against a
model; the runtime compiles it into a correlated subquery.
"""

from __future__ import annotations

from dataclasses import dataclass

from metadata.expressions.checker import BOOLEAN, DATE, DATETIME, FIELD_TYPES, NUMBER, Typed, check
from metadata.expressions.syntax import ExpressionError
from metadata.model import Field, Model, ObjectDef


class RollupProblem(ValueError):
    """A roll-up that does not make sense; ``option`` names the option at fault."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Rollup:
    child: ObjectDef
    via: Field
    """The child's lookup to the record the roll-up is on."""
    function: str
    field: Field | None
    """The child field summed or compared; None for count."""
    where: Typed | None
    type: str
    """The result's expression type: number, or date for the min/max of dates."""


def check_rollup(model: Model, obj: str, f: Field) -> Rollup:
    """Resolve and type roll-up field ``f`` of ``obj``; raise RollupProblem if it is wrong."""
    child_name, _, via_name = str(f.option("from")).partition(".")
    child = model.objects.get(child_name)
    if child is None:
        raise RollupProblem("from", f"there is no object {child_name!r}")
    via = child.fields.get(via_name)
    if via is None or not via.is_relation or via.target != obj:
        raise RollupProblem(
            "from", f"{child_name}.{via_name} must be a lookup from {child_name} to {obj}"
        )
    function = f.option("function")
    name = f.option("field")
    target: Field | None = None
    if function == "count":
        if name is not None:
            raise RollupProblem("field", "count counts records; it takes no field")
        kind = NUMBER
    else:
        if name is None:
            raise RollupProblem("field", f"{function} needs the child field to {function}")
        target = child.fields.get(name)
        if target is None:
            raise RollupProblem("field", f"{child_name} has no field {name!r}")
        kind = FIELD_TYPES.get(target.type, "")
        allowed = (NUMBER,) if function == "sum" else (NUMBER, DATE, DATETIME)
        if kind not in allowed or target.computed:
            what = "numbers" if function == "sum" else "numbers, dates or datetimes"
            raise RollupProblem(
                "field", f"{function} takes stored {what}; {child_name}.{name} is {target.type}"
            )
    where = None
    if f.option("where") is not None:
        try:
            where = check(f.option("where"), model, child_name, expect=BOOLEAN)
        except ExpressionError as exc:
            raise RollupProblem("where", f"{exc} in: {f.option('where')}") from None
    return Rollup(child, via, function, target, where, kind)
