"""Time: date and field timers, cron schedules, and the sweep that wakes workers

One part of ``Engine`` (``runtime/workflows/engine.py``), which composes them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, or_, select, tuple_, update

from metadata.automation import Workflow, duration_seconds
from metadata.cron import parse_cron
from metadata.expressions.checker import BOOLEAN
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import CURSORS, RUNS
from runtime.workflows.basis import EngineBasis
from runtime.workflows.runs import create_run

# One logger for the whole engine, whichever part writes (operators filter on it).
log = logging.getLogger("runtime.workflows.engine")

#: How far apart the clocks of servers (which stamp updated_at) and the beat may be;
#: records changed this long before the last timer scan are looked at again.
TIMER_CLOCK_SKEW = dt.timedelta(minutes=5)


class Timers(EngineBasis):
    """Time."""

    # -- time, schedules, sweeping -------------------------------------------------------

    def scan_timers(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create runs for records whose moment (date field + offset) has come.

        Each time workflow keeps a cursor: the moment up to which records have been
        scanned, and the wall-clock time of that scan. A scan reads, in pages ordered by
        (moment, id), the records that came due since the cursor, then the records changed
        since the last scan whose moment is already past (a date moved back, a condition
        that became true). So every due record is looked at once, however many there
        are, and records already handled are not read again: a fixed-size batch of the
        oldest due records, which fired and stayed due, once stalled the scan.
        """
        now = now or self._now()
        shape, timezone = self._shape(tenant)
        made = 0
        for w in shape.complete.automation.triggered_by("time"):
            made += self._scan_timer(tenant, shape, ZoneInfo(timezone), w, now)
        return made

    def _scan_timer(
        self, tenant: str, shape: ApiShape, tz: dt.tzinfo, w: Workflow, now: dt.datetime
    ) -> int:
        assert w.object is not None and w.trigger.field is not None
        model = shape.complete
        f = model.objects[w.object].fields[w.trigger.field]
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        key = f"timer:{w.name}:{f.name}:{w.trigger.offset}"
        due = now - dt.timedelta(seconds=duration_seconds(w.trigger.offset))
        oldest = due - dt.timedelta(seconds=self.settings.timer_horizon)

        def bound(moment: dt.datetime) -> Any:
            # A date's moment is the start of that day where the tenant is.
            return moment.astimezone(tz).date() if f.type == "date" else moment

        condition = (
            shape.typed(w.trigger.condition, w.object, expect=BOOLEAN)
            if w.trigger.condition
            else None
        )
        with self.backend.read_tenant(tenant) as conn:
            saved = conn.execute(select(cursors.c.value).where(cursors.c.key == key)).scalar()
        cursor = json.loads(saved) if saved else None
        # The wall clock, not the engine's: updated_at is written by servers on theirs.
        scanned_at = dt.datetime.now(dt.UTC)
        made = 0
        low = bound(max(oldest, dt.datetime.fromisoformat(cursor["due"]))) if cursor else None
        high = bound(due)
        if low is None or low < high:
            made += self._timer_pages(
                tenant, shape, w, f, condition, now, tz, bound(oldest), low, high
            )
        if cursor:
            # Records changed since the last scan whose moment had already passed then.
            since = dt.datetime.fromisoformat(cursor["scanned_at"]) - TIMER_CLOCK_SKEW
            made += self._timer_pages(
                tenant, shape, w, f, condition, now, tz, bound(oldest), None, low or high, since
            )
        value = json.dumps({"due": due.isoformat(), "scanned_at": scanned_at.isoformat()})
        with self.backend.begin_tenant(tenant) as conn:
            changed = conn.execute(
                update(cursors).where(cursors.c.key == key).values(value=value)
            ).rowcount
            if not changed:
                conn.execute(insert(cursors).values(key=key, value=value))
        return made

    def _timer_pages(
        self,
        tenant: str,
        shape: ApiShape,
        w: Workflow,
        f: Any,
        condition: Any,
        now: dt.datetime,
        tz: dt.tzinfo,
        oldest: Any,
        low: Any,
        high: Any,
        changed_since: dt.datetime | None = None,
    ) -> int:
        """Create runs for every record with ``oldest < moment``, ``low < moment <= high``
        (``low`` None: no lower bound beyond ``oldest``) and, if given, changed since
        ``changed_since``; one transaction per page of ``batch`` records."""
        schema = self._schema(tenant)
        made = 0
        after: tuple[Any, Any] | None = None
        today = now.astimezone(tz).date()
        while True:
            page: list[uuid.UUID] = []
            with self.backend.begin_tenant(tenant) as conn:
                table = shape.table(w.object, schema, conn.dialect.name)
                column = table.c[f.name]
                where = [table.c.deleted_at.is_(None), column > oldest, column <= high]
                if low is not None:
                    where.append(column > low)
                if changed_since is not None:
                    where.append(table.c.updated_at >= changed_since)
                if after is not None:
                    where.append(tuple_(column, table.c.id) > tuple_(*after))
                rows = conn.execute(
                    select(table)
                    .where(*where)
                    .order_by(column, table.c.id)
                    .limit(self.settings.batch)
                ).all()
                for row in rows:
                    record = dict(row._mapping)
                    moment = record[f.name]
                    if condition is not None:
                        scope = Scope(
                            record=record,
                            today=today,
                            load=lambda o, i, c=conn: read_record(
                                c, shape.table(o, schema, c.dialect.name), i
                            ),
                        )
                        if evaluate(condition, scope) is not True:
                            continue
                    run_id = create_run(
                        conn,
                        schema,
                        workflow=w.name,
                        cause="time",
                        dedupe=f"t:{w.name}:{record['id']}:{moment.isoformat()}",
                        obj=w.object,
                        record_id=record["id"],
                        payload={"field": f.name, "moment": moment.isoformat()},
                        now=now,
                    )
                    if run_id is not None:
                        page.append(run_id)
            # Each page's runs start as soon as it commits, while later pages are read.
            self._wake_for(tenant, len(page))
            made += len(page)
            if len(rows) < self.settings.batch:
                break
            last = rows[-1]._mapping
            after = (last[f.name], last["id"])
        return made

    def fire_schedules(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create a run for each cron workflow whose next time has come, reading the cron
        in the tenant's time zone (missed times while no worker ran are fired once, not
        once each)."""
        now = now or self._now()
        shape, timezone = self._shape(tenant)
        tz = ZoneInfo(timezone)
        model = shape.complete
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        made: list[uuid.UUID] = []
        for w in model.automation.triggered_by("schedule"):
            cron = parse_cron(w.trigger.cron or "")
            key = f"cron:{w.name}:{w.trigger.cron}"
            with self.backend.begin_tenant(tenant) as conn:
                query = select(cursors.c.value).where(cursors.c.key == key)
                last_text = conn.execute(query.with_for_update()).scalar()
                if last_text is None:
                    # A new schedule starts counting now: no firing for times before it.
                    conn.execute(insert(cursors).values(key=key, value=now.isoformat()))
                    continue
                fire = None
                moment = cron.next_after(dt.datetime.fromisoformat(last_text), tz)
                while moment <= now:
                    fire, moment = moment, cron.next_after(moment, tz)
                if fire is None:
                    continue
                conn.execute(
                    update(cursors).where(cursors.c.key == key).values(value=fire.isoformat())
                )
                run_id = create_run(
                    conn,
                    schema,
                    workflow=w.name,
                    cause="schedule",
                    dedupe=f"c:{w.name}:{fire.isoformat()}",
                    payload={"at": fire.isoformat(), "local": fire.astimezone(tz).isoformat()},
                    now=now,
                )
                if run_id is not None:
                    made.append(run_id)
        self._wake_for(tenant, len(made))
        return len(made)

    def sweep(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Wake a worker if any run is ready: its wake-up was lost, its worker died (the
        lease ran out) or its retry is due. Return 1 if it woke one, else 0."""
        now = now or self._now()
        schema = self._schema(tenant)
        runs = system_table(schema, RUNS)
        with self.backend.read_tenant(tenant) as conn:
            ready = conn.execute(
                select(runs.c.id).where(or_(*self._ready(schema, now))).limit(1)
            ).first()
        if ready is None:
            return 0
        self.wake(tenant, 0)
        return 1
