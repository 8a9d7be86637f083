"""The engine's hottest statements, built once per tenant schema with bound parameters.

A worker built a claim's ``UPDATE … RETURNING``, a step's upsert and a run's mark with
SQLAlchemy on every call, and SQLAlchemy then computed each one's cache key: a third of
a worker process's CPU went there (issue 17's profile of ``worker_scaling.py``). Built
once, a statement keeps its cache key, and a call only binds its values. Kept for the
most recently used schemas (a worker serves its tenants in turns).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from runtime.sql.dialect import dialect_for
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS, STEPS

_KEPT = 256


@functools.lru_cache(maxsize=_KEPT)
def claims(schema: str | None) -> tuple[Any, Any]:
    """Claim the oldest due run, or the oldest queued one (binds ``now`` and ``lease``)."""
    runs = system_table(schema, RUNS)
    now = bindparam("now", type_=runs.c.created_at.type)
    due = or_(
        and_(runs.c.status == "failed", runs.c.next_attempt_at <= now),
        and_(runs.c.status == "running", runs.c.lease_until < now),
    )
    out = []
    for ready in (due, runs.c.status == "queued"):
        # Never correlated to the UPDATE's own table: the subquery picks a row of its own
        # (auto-correlation, seen under load, left it with no FROM). Concurrent workers
        # each skip the rows the others are claiming (PostgreSQL; SQLAlchemy writes no
        # FOR UPDATE on SQLite, whose writer lock serialises claims anyway).
        pick = (
            select(runs.c.id)
            .where(ready)
            .order_by(runs.c.created_at)
            .limit(1)
            .correlate(None)
            .with_for_update(skip_locked=True)
        )
        out.append(
            update(runs)
            .where(runs.c.id == pick.scalar_subquery(), ready)
            .values(
                status="running",
                attempts=runs.c.attempts + 1,
                started_at=func.coalesce(runs.c.started_at, now),
                lease_until=bindparam("lease", type_=runs.c.lease_until.type),
                next_attempt_at=None,
            )
            .returning(*runs.c)
        )
    return out[0], out[1]


@functools.lru_cache(maxsize=_KEPT)
def done_steps(schema: str | None) -> Any:
    """The positions of a run's finished steps (binds ``run``)."""
    steps = system_table(schema, STEPS)
    return select(steps.c.position).where(
        steps.c.run_id == bindparam("run", type_=steps.c.run_id.type),
        steps.c.status.in_(("done", "skipped")),
    )


@functools.lru_cache(maxsize=_KEPT)
def record_step(schema: str | None, dialect: str) -> Any:
    """Write a step's state, counting a retried step's attempts (one upsert; executed
    with the step's columns as parameters)."""
    steps = system_table(schema, STEPS)
    statement = dialect_for(dialect, schema).upsert(steps)
    return statement.on_conflict_do_update(
        index_elements=[steps.c.run_id, steps.c.position],
        set_={
            "action": statement.excluded.action,
            "status": statement.excluded.status,
            "attempts": steps.c.attempts + 1,
            "detail": statement.excluded.detail,
            "error": statement.excluded.error,
            "finished_at": statement.excluded.finished_at,
        },
    )


@functools.lru_cache(maxsize=_KEPT)
def mark(schema: str | None) -> Any:
    """End a run (binds ``run``, ``to``, ``why`` and ``at``)."""
    runs = system_table(schema, RUNS)
    return (
        update(runs)
        .where(runs.c.id == bindparam("run", type_=runs.c.id.type))
        .values(
            status=bindparam("to", type_=runs.c.status.type),
            error=bindparam("why", type_=runs.c.error.type),
            finished_at=bindparam("at", type_=runs.c.finished_at.type),
            lease_until=None,
        )
    )
