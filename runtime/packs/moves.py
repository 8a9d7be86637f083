"""Moving data on upgrade: values of fields a pack version removes, carried into a field
it keeps (``moves`` in ``pack.yaml``; docs/packs.md).

A removed field's values are archived before its column goes (``runtime.storage``), in
the same transaction as the upgrade; the move reads them back from that archive into the
new field, where it is still empty, so the first source with a value wins. Nothing is
lost: the archive stays, as for any removed field. A lookup moved into a polymorphic
lookup keeps the object it referred to. Moves are the platform's own: they write no
field history and no outbox events, as a column added with a default would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from metadata.kinds import kind_of
from metadata.kinds.references import PolymorphicLookupKind
from metadata.model import Field, Model
from metadata.packs.manifest import Move
from runtime.sql import naming

_REFERENCES = ("lookup", "master_detail")


@dataclass(frozen=True)
class PlannedMove:
    """One removed field's values into one kept field."""

    object: str
    source: Field
    """The removed field, as the installed version defined it."""
    to: Field
    """The field that receives them, as the new version defines it."""

    def describe(self) -> str:
        return (
            f"{self.object}.{self.source.name}: its values move into {self.object}."
            f"{self.to.name} where that is empty"
        )


def plan_moves(
    moves: tuple[Move, ...], operations: list[Any], model: Model
) -> tuple[list[PlannedMove], list[str]]:
    """Return the moves this upgrade makes (sources it really removes) and problems."""
    dropped = {
        (op.object, op.field.name): op.field  # type: ignore[attr-defined]
        for op in operations
        if op.kind == "drop_field"
    }
    planned: list[PlannedMove] = []
    problems: list[str] = []
    for move in moves:
        obj = model.objects.get(move.object)
        to = obj.fields.get(move.to) if obj is not None else None
        if to is None:
            problems.append(f"move into {move.object}.{move.to}: the tenant has no such field")
            continue
        for name in move.sources:
            source = dropped.get((move.object, name))
            if source is None:
                continue  # kept (a tenant's customization) or never there: nothing to move
            problem = _incompatible(source, to)
            if problem:
                problems.append(f"cannot move {move.object}.{name} into {move.to}: {problem}")
            else:
                planned.append(PlannedMove(move.object, source, to))
    return planned, problems


def _incompatible(source: Field, to: Field) -> str | None:
    if to.type == "polymorphic_lookup":
        if source.type not in _REFERENCES or source.target not in to.targets:
            return (
                f"it refers to {source.target or 'no object'}, not one of {', '.join(to.targets)}"
            )
        return None
    if to.type in _REFERENCES:
        if source.type not in _REFERENCES or source.target != to.target:
            return f"it is not a lookup to {to.target}"
        return None
    if source.type != to.type or len(kind_of(to.type).columns(to)) != 1:
        return f"a {source.type} field cannot fill a {to.type} field"
    return None


def run_moves(
    conn: Connection, schema: str | None, version: int, moves: list[PlannedMove]
) -> dict[str, int]:
    """Carry the archived values of metadata version ``version`` into their new fields;
    return the records filled per move."""
    quote = conn.dialect.identifier_preparer.quote

    def table(name: str) -> str:
        return f"{quote(schema)}.{quote(name)}" if schema else quote(name)

    filled: dict[str, int] = {}
    for move in moves:
        source, to = move.source.name, move.to.name
        target = table(move.object)
        archive = table(naming.archive_name(version, move.object, source))
        value = f"(SELECT a.{quote(source)} FROM {archive} a WHERE a.id = {target}.id)"
        sets = [f"{quote(to)} = {value}"]
        params: dict[str, Any] = {}
        if move.to.type == "polymorphic_lookup":
            sets.append(f"{quote(PolymorphicLookupKind.object_column(to))} = :object")
            params["object"] = move.source.target
        result = conn.execute(
            text(
                f"UPDATE {target} SET {', '.join(sets)} WHERE {quote(to)} IS NULL AND id IN "
                f"(SELECT a.id FROM {archive} a WHERE a.{quote(source)} IS NOT NULL)"
            ),
            params,
        )
        filled[f"{move.object}.{source} → {to}"] = result.rowcount
    return filled
