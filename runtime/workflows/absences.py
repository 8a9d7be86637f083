"""Members away for a period: round-robin and least-loaded assignment skip them, and
approval tasks meant for them go to the delegate they named (a task made while nobody
covers for them waits, and its step's timeout, if any, escalates it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from runtime.storage.ids import new_id
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import ABSENCES


def away(conn: Connection, schema: str | None, now: dt.datetime) -> dict[str, Any]:
    """Members away at ``now``: user id (as text) → their delegate's id, or None."""
    absences = system_table(schema, ABSENCES)
    rows = conn.execute(
        select(absences.c.user_id, absences.c.delegate_id).where(
            absences.c.starts_at <= now, absences.c.ends_at > now
        )
    )
    return {str(r.user_id): r.delegate_id for r in rows}


def set_away(
    conn: Connection,
    schema: str | None,
    user_id: Any,
    starts: dt.datetime,
    ends: dt.datetime,
    delegate: Any,
) -> Any:
    """Record an absence (replacing the member's absences that overlap it); return its id."""
    absences = system_table(schema, ABSENCES)
    conn.execute(
        delete(absences).where(
            absences.c.user_id == user_id, absences.c.starts_at < ends, absences.c.ends_at > starts
        )
    )
    absence_id = new_id()
    conn.execute(
        insert(absences).values(
            id=absence_id,
            user_id=user_id,
            starts_at=starts,
            ends_at=ends,
            delegate_id=delegate,
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    return absence_id


def back(conn: Connection, schema: str | None, user_id: Any, now: dt.datetime) -> int:
    """End the member's current and future absences; return how many."""
    absences = system_table(schema, ABSENCES)
    return conn.execute(
        delete(absences).where(absences.c.user_id == user_id, absences.c.ends_at > now)
    ).rowcount


def mine(conn: Connection, schema: str | None, user_id: Any, now: dt.datetime) -> list[Any]:
    """The member's current and future absences, soonest first."""
    absences = system_table(schema, ABSENCES)
    return conn.execute(
        select(absences)
        .where(absences.c.user_id == user_id, absences.c.ends_at > now)
        .order_by(absences.c.starts_at)
    ).all()
