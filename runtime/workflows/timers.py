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

from sqlalchemy import delete, insert, or_, select, update

from metadata.automation import Workflow, duration_seconds
from metadata.cron import parse_cron
from metadata.expressions.checker import BOOLEAN
from metadata.expressions.moments import moment_type
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.records.values import ActionError
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import CURSORS, RUNS
from runtime.workflows.approval_timeouts import overdue_approvals, time_out
from runtime.workflows.approvals import ApprovalError, At
from runtime.workflows.basis import EngineBasis
from runtime.workflows.directory import Directory
from runtime.workflows.moments import (
    TimerClock,
    TimerScan,
    in_sql,
    moments_page,
    read_records,
)
from runtime.workflows.runs import create_run, create_runs, made_already

# One logger for the whole engine, whichever part writes (operators filter on it).
log = logging.getLogger("runtime.workflows.engine")

#: How far apart the clocks of servers (which stamp updated_at) and the beat may be;
#: records changed this long before the last timer scan are looked at again.
TIMER_CLOCK_SKEW = dt.timedelta(minutes=5)


class Timers(EngineBasis):
    """Time."""

    # -- time, schedules, sweeping -------------------------------------------------------

    def scan_timers(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create runs for records whose moment (a moment field + offset, and for a
        repeating trigger every ``repeat.every`` after it) has come.

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
        t = w.trigger
        clock = TimerClock(
            field=shape.complete.objects[w.object].field(t.field),
            kind=moment_type(shape.complete, w.object, t.field) or "datetime",
            tz=tz,
            offset=dt.timedelta(seconds=duration_seconds(t.offset)),
            every=dt.timedelta(seconds=t.repeat_seconds),
            times=t.repeat_times if t.repeat_every else 1,
        )
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        key = f"timer:{w.name}:{t.field}:{t.offset}"
        if t.repeat_every:
            key += f":{t.repeat_every}x{t.repeat_times}"
        due = now - clock.offset
        with self.backend.read_tenant(tenant) as conn:
            saved = conn.execute(select(cursors.c.value).where(cursors.c.key == key)).scalar()
        cursor = json.loads(saved) if saved else None
        # The wall clock, not the engine's: updated_at is written by servers on theirs.
        scanned_at = dt.datetime.now(dt.UTC)
        made = 0
        if cursor is None and t.catch_up == "skip":
            # Starting now: what was due before is left alone, for good.
            floor: dt.datetime | None = due
        else:
            floor = (
                dt.datetime.fromisoformat(cursor["floor"])
                if cursor and cursor.get("floor")
                else None
            )
            low = dt.datetime.fromisoformat(cursor["due"]) if cursor else None
            scan = TimerScan(w, clock, now, floor, low)
            if low is None or low < due:
                # Moments that came due since the last scan (a repeat's later firings
                # too: their first moment lies up to a span further back).
                made += self._timer_pages(tenant, shape, scan, low and low - clock.span, due)
            if cursor:
                since = dt.datetime.fromisoformat(cursor["scanned_at"]) - TIMER_CLOCK_SKEW
                made += self._timer_pages(tenant, shape, scan, None, low or due, since)
        value = json.dumps(
            {
                "due": due.isoformat(),
                "scanned_at": scanned_at.isoformat(),
                "floor": floor.isoformat() if floor else None,
            }
        )
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
        scan: TimerScan,
        low: dt.datetime | None,
        high: dt.datetime,
        changed_since: dt.datetime | None = None,
    ) -> int:
        """Create runs for every record whose moment is in (``low``, ``high``] (``low``
        None: no lower bound) and, if given, that changed since ``changed_since``; one
        transaction per page of ``batch`` records."""
        w, clock = scan.workflow, scan.clock
        assert w.object is not None
        schema = self._schema(tenant)
        made = 0
        after: tuple[Any, Any] | None = None
        condition = (
            shape.typed(w.trigger.condition, w.object, expect=BOOLEAN, engine=True)
            if w.trigger.condition
            else None
        )
        judged_in_sql = in_sql(condition, shape, schema, self.backend.dialect)
        while True:
            page: list[uuid.UUID] = []
            with self.backend.begin_tenant(tenant) as conn:
                found = moments_page(
                    conn,
                    shape,
                    schema,
                    tenant,
                    w.object,
                    clock,
                    low,
                    high,
                    changed_since,
                    after,
                    self.settings.batch,
                    scan.now.astimezone(clock.tz).date(),
                    condition if judged_in_sql else None,
                    scan.now,
                )
                judge = self._judge(conn, shape, schema, scan.now, clock.tz)
                # Records are read only when the condition needs the engine; otherwise
                # the page query judged it.
                records = (
                    read_records(
                        conn,
                        shape.table(w.object, schema, conn.dialect.name),
                        [i for i, _, _ in found],
                    )
                    if condition is not None and not judged_in_sql
                    else None
                )
                wanted: list[dict[str, Any]] = []
                for record_id, _raw, moment in found:
                    fire = scan.occurrence(moment, fresh=changed_since is None)
                    if fire is None:
                        continue
                    if records is not None:
                        record = records.get(str(record_id))
                        if record is None or evaluate(condition, judge(record)) is not True:
                            continue
                    k, at = fire
                    dedupe = f"t:{w.name}:{record_id}:{moment.isoformat()}"
                    wanted.append(
                        {
                            "workflow": w.name,
                            "cause": "time",
                            "dedupe": dedupe + (f":{k}" if clock.times > 1 else ""),
                            "obj": w.object,
                            "record_id": record_id,
                            "payload": {
                                "field": clock.field.name,
                                "moment": moment.isoformat(),
                                "at": at.isoformat(),
                                "occurrence": k + 1,
                            },
                        }
                    )
                # One statement per page (one INSERT per run made a 100,000-record scan
                # take minutes).
                if changed_since is not None:
                    known = made_already(conn, schema, [r["dedupe"] for r in wanted])
                    wanted = [r for r in wanted if r["dedupe"] not in known]
                page = create_runs(conn, schema, wanted, scan.now)
            # Each page's runs start as soon as it commits, while later pages are read.
            self._wake_for(tenant, len(page))
            made += len(page)
            if len(found) < self.settings.batch:
                break
            after = (found[-1][1], found[-1][0])
        return made

    def fire_schedules(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create a run for each cron workflow whose next time has come, reading the cron
        in the tenant's time zone (missed times while no worker ran are fired once, not
        once each). A workflow with an object runs once per record meeting its condition:
        see ``_fire_each``."""
        now = now or self._now()
        shape, timezone = self._shape(tenant)
        tz = ZoneInfo(timezone)
        model = shape.complete
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        made: list[uuid.UUID] = []
        each = 0
        for w in model.automation.triggered_by("schedule"):
            # A firing over records left half done (the beat stopped mid-way) is finished
            # before the next one is considered.
            each += self._fire_each(tenant, shape, w, now)
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
                if w.object is not None:
                    # The firing is recorded with the cursor, in one transaction: its
                    # records are then taken page by page, each page with its runs.
                    progress = {"at": fire.isoformat(), "after": None}
                    conn.execute(
                        insert(cursors).values(key=f"each:{w.name}", value=json.dumps(progress))
                    )
                else:
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
            if w.object is not None:
                each += self._fire_each(tenant, shape, w, now)
        self._wake_for(tenant, len(made))
        return len(made) + each

    def _fire_each(self, tenant: str, shape: ApiShape, w: Workflow, now: dt.datetime) -> int:
        """Go on with a firing over records: one transaction per page of records, which
        creates their runs and moves the firing's progress past them. A beat that stops
        mid-way leaves the progress where the last page committed, and the next tick
        goes on from there; each run's dedupe key (firing, record) makes a page that is
        done again create nothing twice."""
        if w.object is None:
            return 0
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        key = f"each:{w.name}"
        condition = (
            shape.typed(w.trigger.condition, w.object, expect=BOOLEAN, engine=True)
            if w.trigger.condition
            else None
        )
        tz = ZoneInfo(self._shape(tenant)[1])
        made = 0
        while True:
            page: list[uuid.UUID] = []
            with self.backend.begin_tenant(tenant) as conn:
                query = select(cursors.c.value).where(cursors.c.key == key)
                saved = conn.execute(query.with_for_update()).scalar()
                if saved is None:
                    return made
                progress = json.loads(saved)
                at = dt.datetime.fromisoformat(progress["at"])
                table = shape.table(w.object, schema, conn.dialect.name)
                where = [table.c.deleted_at.is_(None)]
                if progress["after"]:
                    where.append(table.c.id > uuid.UUID(progress["after"]))
                rows = conn.execute(
                    select(table).where(*where).order_by(table.c.id).limit(self.settings.batch)
                ).all()
                scope_of = self._judge(conn, shape, schema, now, tz)
                wanted = []
                for row in rows:
                    record = dict(row._mapping)
                    if condition is not None and evaluate(condition, scope_of(record)) is not True:
                        continue
                    wanted.append(
                        {
                            "workflow": w.name,
                            "cause": "schedule",
                            "dedupe": f"c:{w.name}:{at.isoformat()}:{record['id']}",
                            "obj": w.object,
                            "record_id": record["id"],
                            "payload": {
                                "at": at.isoformat(),
                                "local": at.astimezone(tz).isoformat(),
                            },
                        }
                    )
                page = create_runs(conn, schema, wanted, now)
                if len(rows) < self.settings.batch:
                    conn.execute(delete(cursors).where(cursors.c.key == key))
                else:
                    progress["after"] = str(rows[-1].id)
                    conn.execute(
                        update(cursors)
                        .where(cursors.c.key == key)
                        .values(value=json.dumps(progress))
                    )
            self._wake_for(tenant, len(page))
            made += len(page)

    def _judge(
        self, conn: Any, shape: ApiShape, schema: str | None, now: dt.datetime, tz: dt.tzinfo
    ) -> Any:
        """Return record → the scope a trigger condition is judged in."""
        calendar = shape.complete.automation.calendar
        today = now.astimezone(tz).date()

        def scope_of(record: dict[str, Any]) -> Scope:
            return Scope(
                record=record,
                today=today,
                now=now,
                calendar=calendar,
                load=lambda o, i: read_record(conn, shape.table(o, schema, conn.dialect.name), i),
            )

        return scope_of

    def approval_timeouts(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Apply step timeouts to approvals whose tasks waited past their due moment;
        return how many approvals moved."""
        now = now or self._now()
        shape, timezone = self._shape(tenant)
        model = shape.complete
        if not any(s.timeout for p in model.automation.approvals.values() for s in p.steps):
            return 0
        schema = self._schema(tenant)
        tz = ZoneInfo(timezone)
        when = At(now, tz, now.astimezone(tz).date())
        with self.backend.read_tenant(tenant) as conn:
            overdue = overdue_approvals(conn, schema, now, self.settings.batch)
        if not overdue:
            return 0
        directory = Directory(self.identity.members(tenant))
        moved, runs = 0, 0
        for approval_id in overdue:
            try:
                with self.backend.begin_tenant(tenant) as conn:
                    what, run = time_out(conn, model, schema, directory, approval_id, when)
            except (ApprovalError, ActionError) as exc:
                # Nobody to escalate to: the task keeps waiting, and the log says why.
                log.warning("approval %s timed out but cannot move: %s", approval_id, exc)
                continue
            moved += what != "nothing"
            runs += run is not None
        self._wake_for(tenant, runs)
        return moved

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
