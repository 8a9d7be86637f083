"""Actions on records related to the run's record: the parent a lookup points to, and
the children that point to it.

Both write through the record service's Writer, as the workflow's declared run-as
(runtime/workflows/run_scope.py), so validation rules, state machines, field history,
locks and the outbox apply to the related record exactly as to a person's edit: a
follow-up that sets its lead's ``last_activity`` is a change of the lead, and the lead's
own workflows see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from metadata.expressions.checker import BOOLEAN
from metadata.kinds.references import PolymorphicLookupKind
from runtime.expressions.evaluate import Scope, evaluate
from runtime.records.values import ActionError, compile_values, compute
from runtime.workflows.run_scope import RunScope


def update_parent(
    conn: Connection,
    rs: RunScope,
    o: Mapping[str, Any],
    obj: str,
    record: dict[str, Any],
    scope: Scope,
    path: list[str | int],
) -> dict[str, Any]:
    """Update the record ``o['on']`` points to with values computed over ``record``."""
    link = rs.model.objects[obj].fields[o["on"]]
    target = record.get(PolymorphicLookupKind.object_column(link.name)) or link.target
    linked = record.get(link.name)
    if target is None or linked is None:
        return {"skipped": f"{o['on']} is empty"}
    fields = rs.model.objects[target].fields
    if not set(o["values"]) <= set(fields):
        return {
            "skipped": f"{o['on']} refers to a {target}, which has no " + ", ".join(o["values"])
        }
    # Locked, like the run's own record: concurrent runs changing one parent queue.
    parent = rs.read(conn, target, linked, lock=True)
    if parent is None:
        return {"skipped": f"the {target} {o['on']} refers to is deleted"}
    values = compute(
        rs.model, target, compile_values(rs.shape, obj, o["values"], engine=True), scope
    )
    rs.check(target, "update", list(o["values"]))
    rs.writer(conn, target).update(parent["id"], values, None, path, known=parent)
    return {"updated": str(parent["id"]), "object": target, "set": sorted(values)}


def update_children(
    conn: Connection,
    rs: RunScope,
    o: Mapping[str, Any],
    obj: str,
    record: dict[str, Any],
    path: list[str | int],
) -> dict[str, Any]:
    """Update every live child of ``record`` (through ``o['via']``) meeting ``o['where']``;
    values are computed over each child. At most ``batch`` children, in id order: a
    step is one transaction, and a run that would touch more is refused rather than
    half done."""
    child = o["object"]
    table = rs.shape.table(child, rs.schema, rs.dialect)
    limit = rs.batch
    rows = conn.execute(
        select(table)
        .where(table.c[o["via"]] == record["id"], table.c.deleted_at.is_(None))
        .order_by(table.c.id)
        .limit(limit + 1)
        .with_for_update()
    ).all()
    if len(rows) > limit:
        raise ActionError(
            f"{obj} {record['id']} has more than {limit} {child} records; update_children "
            f"changes at most {limit} in one step"
        )
    where = rs.typed(o["where"], child, expect=BOOLEAN) if o.get("where") else None
    typed = compile_values(rs.shape, child, o["values"], engine=True)
    rs.check(child, "update", list(o["values"]))
    writer = rs.writer(conn, child)
    changed = []
    for row in rows:
        current = dict(row._mapping)
        scope = rs.scope(conn, current)
        if where is not None and evaluate(where, scope) is not True:
            continue
        values = compute(rs.model, child, typed, scope)
        writer.update(current["id"], values, None, path, known=current)
        changed.append(str(current["id"]))
    return {"updated": changed, "object": child}
