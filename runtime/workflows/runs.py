"""Creating runs: one row per cause, made idempotent by its unique ``dedupe`` key."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import Connection, select

from runtime.storage.conflicts import conflict_insert
from runtime.storage.ids import new_id
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS

#: Longest chain of workflows triggering workflows (through their own writes).
MAX_DEPTH = 5


def create_run(
    conn: Connection,
    schema: str | None,
    *,
    workflow: str,
    cause: str,
    dedupe: str,
    obj: str | None = None,
    record_id: Any = None,
    actor: Any = None,
    payload: dict[str, Any] | None = None,
    depth: int = 0,
    event_id: int | None = None,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> uuid.UUID | None:
    """Insert a queued run; return its id, or None if this cause already made one."""
    runs = system_table(schema, RUNS)
    run_id = new_id()
    values = {
        "id": run_id,
        "workflow": workflow,
        "cause": cause,
        "dedupe": dedupe[:200],
        "object": obj,
        "record_id": record_id,
        "event_id": event_id,
        "actor": actor,
        "payload": json.dumps(payload or {}, default=str, ensure_ascii=False),
        "depth": depth,
        "status": "queued",
        "attempts": 0,
        "created_at": now or dt.datetime.now(dt.UTC),
        "request_id": request_id,
    }
    # RETURNING tells whether the row went in: an INSERT's rowcount is not reliable
    # (psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING through SQLAlchemy).
    statement = (
        conflict_insert(conn, runs).values(values).on_conflict_do_nothing().returning(runs.c.id)
    )
    return run_id if conn.execute(statement).first() is not None else None


def create_runs(
    conn: Connection, schema: str | None, runs: list[dict[str, Any]], now: dt.datetime
) -> list[uuid.UUID]:
    """Insert many queued runs in one statement (a page of due records); return the ids
    of those made (a cause that already made its run makes none). Each item holds
    ``workflow``, ``cause``, ``dedupe`` and optionally ``obj``, ``record_id`` and
    ``payload``."""
    if not runs:
        return []
    table = system_table(schema, RUNS)
    rows = [
        {
            "id": new_id(),
            "workflow": r["workflow"],
            "cause": r["cause"],
            "dedupe": r["dedupe"][:200],
            "object": r.get("obj"),
            "record_id": r.get("record_id"),
            "event_id": None,
            "actor": None,
            "payload": json.dumps(r.get("payload") or {}, default=str, ensure_ascii=False),
            "depth": 0,
            "status": "queued",
            "attempts": 0,
            "created_at": now,
            "request_id": None,
        }
        for r in runs
    ]
    # Executed with the rows as parameters: SQLAlchemy batches them into multi-row
    # INSERTs with RETURNING ("insertmanyvalues") without compiling a statement that holds
    # every value, which took most of a 100,000-record scan's time.
    statement = conflict_insert(conn, table).on_conflict_do_nothing().returning(table.c.id)
    return [row.id for row in conn.execute(statement, rows)]


def made_already(conn: Connection, schema: str | None, dedupes: list[str]) -> set[str]:
    """Which of these causes already made their run (one indexed lookup): a timer's
    second look at records changed since its last scan finds mostly runs it made, and
    an INSERT per such record, each refused by the unique key, cost more than asking."""
    if not dedupes:
        return set()
    runs = system_table(schema, RUNS)
    found = conn.execute(select(runs.c.dedupe).where(runs.c.dedupe.in_(dedupes)))
    return {row.dedupe for row in found}
