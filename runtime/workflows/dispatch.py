"""Dispatch: turning outbox events into runs of the workflows they match

One part of ``Engine`` (``runtime/workflows/engine.py``), which composes them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select, update

from metadata.automation import Workflow
from metadata.expressions.checker import BOOLEAN, DATE, DATETIME, ID, NUMBER
from metadata.kinds import kind_of
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.sql import naming
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS
from runtime.workflows.basis import EngineBasis
from runtime.workflows.runs import MAX_DEPTH, create_run

# One logger for the whole engine, whichever part writes (operators filter on it).
log = logging.getLogger("runtime.workflows.engine")


def _typed_value(field: Any, value: Any) -> Any:
    """Return an outbox change value (its JSON text form) as the value an expression sees
    for the field (numbers as Decimal, dates, moments and ids parsed)."""
    if value is None or field is None:
        return value
    meaning = kind_of(field.type).expression
    try:
        if meaning == NUMBER:
            return Decimal(str(value))
        if meaning == DATE:
            return dt.date.fromisoformat(str(value)[:10])
        if meaning == DATETIME:
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if meaning == ID:
            return uuid.UUID(str(value))
    except (ValueError, ArithmeticError):
        return value
    return value


class Dispatch(EngineBasis):
    """Dispatch."""

    # -- dispatch ------------------------------------------------------------------------

    def dispatch(self, tenant: str) -> int:
        """Turn the tenant's pending outbox events into runs; return how many runs."""
        shape, timezone = self._shape(tenant)
        today = self.today(timezone)
        model = shape.complete
        schema = self._schema(tenant)
        outbox = system_table(schema, naming.OUTBOX_TABLE)
        made: list[uuid.UUID] = []
        record_flows = [
            w for w in model.automation.triggered_by("record") if not w.trigger.before_save
        ]
        with self.backend.begin_tenant(tenant) as conn:
            query = (
                select(outbox)
                .where(outbox.c.dispatched_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.settings.batch)
            )
            # Concurrent dispatchers skip each other's rows (PostgreSQL; on SQLite the
            # write transaction holds the file, and SQLAlchemy writes no FOR UPDATE).
            events = conn.execute(query.with_for_update(skip_locked=True)).all()
            if not events:
                return 0
            origins = self._origins(conn, schema, {e.run_id for e in events if e.run_id})
            current = self._records(conn, shape, schema, events, record_flows)
            for event in events:
                for w in record_flows:
                    if w.object != event.object or event.kind not in w.trigger.events:
                        continue
                    if event.run_id is not None and origins.get(event.run_id) == w.name:
                        continue  # a workflow's own write never triggers it again
                    if event.depth >= MAX_DEPTH:
                        log.warning(
                            "workflow chain too deep at event %s; %s not run", event.id, w.name
                        )
                        continue
                    record = current.get((event.object, event.record_id))
                    if not self._matches(conn, shape, schema, w, event, record, today):
                        continue
                    run_id = create_run(
                        conn,
                        schema,
                        workflow=w.name,
                        cause="record",
                        dedupe=f"e:{event.id}:{w.name}",
                        obj=event.object,
                        record_id=event.record_id,
                        actor=event.actor,
                        payload={"event": event.kind, "changes": json.loads(event.changes)},
                        depth=event.depth,
                        event_id=event.id,
                        now=self._now(),
                        request_id=getattr(event, "request_id", None),
                    )
                    if run_id is not None:
                        made.append(run_id)
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([e.id for e in events]))
                .values(dispatched_at=self._now())
            )
        self._wake_for(tenant, len(made))
        return len(made)

    def _origins(self, conn: Connection, schema: str | None, run_ids: set[Any]) -> dict[Any, str]:
        if not run_ids:
            return {}
        runs = system_table(schema, RUNS)
        rows = conn.execute(select(runs.c.id, runs.c.workflow).where(runs.c.id.in_(run_ids)))
        return {r.id: r.workflow for r in rows}

    def _records(
        self,
        conn: Connection,
        shape: ApiShape,
        schema: str | None,
        events: list[Any],
        flows: list[Workflow],
    ) -> dict[tuple[str, Any], dict[str, Any]]:
        """Read, one query per object, the records whose events a conditional workflow
        must judge."""
        judged = {w.object for w in flows if w.trigger.condition}
        wanted: dict[str, set[Any]] = {}
        for e in events:
            if e.object in judged:
                wanted.setdefault(e.object, set()).add(e.record_id)
        out: dict[tuple[str, Any], dict[str, Any]] = {}
        for obj, ids in wanted.items():
            table = shape.table(obj, schema, conn.dialect.name)
            for row in conn.execute(select(table).where(table.c.id.in_(ids))):
                out[(obj, row.id)] = dict(row._mapping)
        return out

    def _matches(
        self,
        conn: Connection,
        shape: ApiShape,
        schema: str | None,
        w: Workflow,
        event: Any,
        current: dict[str, Any] | None,
        today: dt.date,
    ) -> bool:
        """Whether ``event`` meets ``w``'s condition, judged on the record as the event
        left it (its new values) against the values before it (ISCHANGED, PRIORVALUE)."""
        if not w.trigger.condition:
            return True
        if current is None:
            return False
        obj = shape.complete.objects[event.object]
        changes = json.loads(event.changes)
        after = dict(current)
        before = dict(current)
        for name, (old, new) in changes.items():
            f = obj.fields.get(name) or (obj.field(name) if name == "owner" else None)
            after[name] = _typed_value(f, new)
            before[name] = _typed_value(f, old)
        typed = shape.typed(w.trigger.condition, event.object, expect=BOOLEAN, prior=True)
        scope = Scope(
            record=after,
            today=today,
            load=lambda o, i: read_record(conn, shape.table(o, schema, conn.dialect.name), i),
            prior=None if event.kind == "created" else before,
        )
        return evaluate(typed, scope) is True
