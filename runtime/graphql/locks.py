"""Which records a pending approval locks: ``lockedRecords(objectName, ids)``.

A list or kanban shows locked records as locked without asking about each one: one
statement returns, of the ids given, those a pending approval of a locking process
holds and the caller can read (a record they cannot read is never said to be locked).
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime.query.filters import col
from runtime.query.scope import QueryError
from runtime.storage.workflow_tables import APPROVALS


def locked_records(resolver: Any, args: dict[str, Any]) -> list[str]:
    """Return the ids of ``args["ids"]`` locked by a pending approval (at most a page)."""
    ctx, model = resolver.ctx, resolver.model
    obj = args["objectName"]
    if obj not in ctx.shape.objects:
        raise QueryError(f"there is no object {obj!r}", "NOT_FOUND", field=["objectName"])
    ids = list(dict.fromkeys(args["ids"]))
    if len(ids) > ctx.limits.max_page_size:
        raise QueryError(
            f"ask about at most {ctx.limits.max_page_size} ids at once",
            "LIMIT_EXCEEDED",
            field=["ids"],
        )
    parsed = []
    for i, value in enumerate(ids):
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            raise QueryError(f"{value!r} is not an id", field=["ids", i]) from None
    locking = [p.name for p in model.automation.approvals.values() if p.object == obj and p.lock]
    if not parsed or not locking:
        return []
    d, saved = ctx.dialect, ctx.params
    ctx.params = {}
    try:
        alias = ctx.alias()
        id_field = model.objects[obj].field("id")
        approvals = d.table(APPROVALS)
        rows = ctx.rows(obj, alias)
        where = [
            f"{col(alias, 'id')} IN ({', '.join(ctx.param(d.bind(id_field, i)) for i in parsed)})",
            f"{col(alias, 'deleted_at')} IS NULL",
            f'EXISTS (SELECT 1 FROM {approvals} a WHERE a."object" = {ctx.param(obj)} '
            f'AND a."record_id" = {col(alias, "id")} AND a."status" = \'pending\' '
            f'AND a."process" IN ({", ".join(ctx.param(p) for p in locking)}))',
            *([rows] if rows else []),
        ]
        found = resolver.conn.exec_driver_sql(
            f"SELECT {col(alias, 'id')} FROM {d.table(obj)} {alias} WHERE {' AND '.join(where)}",
            ctx.params,
        ).all()
    finally:
        ctx.params = saved
    return [str(uuid.UUID(str(row[0]))) for row in found]
