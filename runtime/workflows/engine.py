"""The workflow engine: from causes to runs, and runs to effects.

The database is the queue. A run is a row; a Celery message only wakes a worker to
drain a tenant's ready runs, so a lost or duplicated message can delay a run but never
lose it or run it twice, and a backlog waits in the database, not in the broker.

- ``dispatch`` reads a tenant's outbox in id order, creates a run per matching workflow
  (the run's unique dedupe key makes this safe to repeat) and marks the events, in one
  transaction; then it wakes workers.
- ``work`` claims ready runs one at a time (an atomic update of one row: ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL, the single writer on SQLite) and runs each one's steps in
  order. A database step's effect, its "done" mark and (for the last step) the run's end
  commit together; a step that sends something records it after sending, with a
  delivery key that stays the same across retries. A failed step fails the run: it is
  retried with exponential backoff (a wake-up scheduled for then), or goes to the
  dead-letter list once attempts run out or the failure is one retrying cannot fix.
- ``scan_timers``, ``fire_schedules`` and ``sweep`` run on each beat tick. The sweep
  wakes a worker whenever runs are ready: a wake-up that got lost, a worker killed with
  -9 (its lease runs out and the run is ready again) or a retry that is due.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, func, insert, or_, select, tuple_, update

from metadata.automation import Action, Workflow, duration_seconds
from metadata.cron import parse_cron
from metadata.expressions.checker import BOOLEAN, DATE, DATETIME, ID, NUMBER
from metadata.kinds import kind_of
from metadata.model import Model
from runtime.clock import Clock, SystemClock
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.active import ActiveModels
from runtime.model.shape import ApiShape
from runtime.observability import heartbeats, logs
from runtime.outbound import OutboundPolicy
from runtime.records.values import ActionError
from runtime.security.identity import Identity
from runtime.settings import WorkflowSettings
from runtime.sql import naming
from runtime.storage.conflicts import conflict_insert
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import CURSORS, RUNS, STEPS
from runtime.tenants import TenantService
from runtime.workflows import actions as act
from runtime.workflows.delivery import DeliveryRefused, post_webhook, send_email
from runtime.workflows.runs import MAX_DEPTH, create_run

log = logging.getLogger(__name__)


#: One wake-up drains at most this many runs or seconds, then hands on to a fresh
#: wake-up, so the tenants sharing a worker take turns.
DRAIN_RUNS = 200
DRAIN_SECONDS = 10.0

#: How far apart the clocks of servers (which stamp updated_at) and the beat may be;
#: records changed this long before the last timer scan are looked at again.
TIMER_CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass
class Drained:
    """What one ``work`` call did."""

    runs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    retry_in: float | None = None
    """Seconds until the earliest retry it scheduled."""


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


class Engine:
    """Runs one deployment's workflows; safe to share between threads."""

    def __init__(
        self,
        service: TenantService,
        models: ActiveModels,
        identity: Identity,
        settings: WorkflowSettings,
        wake: Callable[[str, float], None],
        clock: Clock | None = None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.service, self.models, self.identity = service, models, identity
        self.backend = service.backend
        self.settings = settings
        self.wake = wake
        """Asks Celery for a worker to drain a tenant's ready runs: (tenant, in seconds)."""
        self.clock: Clock = clock or SystemClock()
        """Every moment the engine judges by (due dates, schedules, leases, retries)."""
        self.outbound = outbound or OutboundPolicy()
        """What webhooks may reach (internal addresses are refused unless allowed)."""

    def _now(self) -> dt.datetime:
        return self.clock.now()

    def today(self, timezone: str) -> dt.date:
        """Return the date in ``timezone`` by the engine's clock."""
        return self._now().astimezone(ZoneInfo(timezone)).date()

    # -- helpers -------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        return [t.name for t in self.service.list_tenants()]

    def _shape(self, tenant: str) -> tuple[ApiShape, str]:
        """The tenant's compiled model (never a GraphQL schema) and its time zone."""
        return self.models.shape(tenant)

    def model(self, tenant: str) -> Model:
        return self._shape(tenant)[0].complete

    def _schema(self, tenant: str) -> str | None:
        return self.backend.schema(tenant)

    def _wake_for(self, tenant: str, runs: int) -> None:
        """Wake workers for ``runs`` new runs: one each, up to ``fan_out``, so a burst is
        drained by that many worker threads at once."""
        for _ in range(min(runs, self.settings.fan_out)):
            self.wake(tenant, 0)

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

    # -- execution -----------------------------------------------------------------------

    def _actions(self, model: Model, name: str) -> tuple[str | None, tuple[Action, ...]] | None:
        if name.startswith("approval:"):
            _, process, outcome = name.split(":", 2)
            p = model.automation.approvals.get(process)
            return (p.object, p.outcome_actions(outcome)) if p else None
        w = model.automation.workflows.get(name)
        return (w.object, w.actions) if w else None

    def work(self, tenant: str) -> Drained:
        """Claim and run ``tenant``'s ready runs one after another until none is ready or
        this wake-up's share is used up (then wake another to go on); schedule a wake-up
        for the earliest retry."""
        began = time.monotonic()
        out = Drained()
        while True:
            claimed = self._claim(tenant)
            if claimed is None:
                break
            status, retry_in = self._execute(tenant, *claimed)
            out.runs += 1
            out.statuses[status] += 1
            if retry_in is not None:
                out.retry_in = min(retry_in, out.retry_in or retry_in)
            if out.runs >= DRAIN_RUNS or time.monotonic() - began >= DRAIN_SECONDS:
                self.wake(tenant, 0)
                break
        if out.retry_in is not None:
            self.wake(tenant, out.retry_in)
        return out

    def _ready(self, schema: str | None, now: dt.datetime) -> tuple[Any, Any]:
        """The two kinds of ready run: due again (a retry whose time has come, or a run
        whose worker's lease ran out) and queued."""
        runs = system_table(schema, RUNS)
        due = or_(
            and_(runs.c.status == "failed", runs.c.next_attempt_at <= now),
            and_(runs.c.status == "running", runs.c.lease_until < now),
        )
        return due, runs.c.status == "queued"

    def _claim(self, tenant: str) -> tuple[Any, set[int]] | None:
        """Take the oldest ready run (due ones first); return it with the positions of
        the steps already done, or None if no run is ready. One transaction."""
        schema = self._schema(tenant)
        runs, steps = system_table(schema, RUNS), system_table(schema, STEPS)
        now = self._now()
        with self.backend.begin_tenant(tenant) as conn:
            for ready in self._ready(schema, now):
                # Never correlated to the UPDATE's own table: the subquery picks a row of
                # its own (auto-correlation, seen under load, left it with no FROM).
                pick = (
                    select(runs.c.id)
                    .where(ready)
                    .order_by(runs.c.created_at)
                    .limit(1)
                    .correlate(None)
                )
                # Concurrent workers each skip the rows the others are claiming
                # (PostgreSQL; SQLAlchemy writes no FOR UPDATE on SQLite).
                pick = pick.with_for_update(skip_locked=True)
                run = conn.execute(
                    update(runs)
                    .where(runs.c.id == pick.scalar_subquery(), ready)
                    .values(
                        status="running",
                        attempts=runs.c.attempts + 1,
                        started_at=func.coalesce(runs.c.started_at, now),
                        lease_until=now + dt.timedelta(seconds=self.settings.lease),
                        next_attempt_at=None,
                    )
                    .returning(*runs.c)
                ).first()
                if run is not None:
                    done = {
                        r.position
                        for r in conn.execute(
                            select(steps.c.position).where(
                                steps.c.run_id == run.id,
                                steps.c.status.in_(("done", "skipped")),
                            )
                        )
                    }
                    return run, done
        return None

    def _execute(self, tenant: str, run: Any, done: set[int]) -> tuple[str, float | None]:
        """Run a claimed run, logging under the id of the request that caused it."""
        request_id = getattr(run, "request_id", None)
        with logs.bound(request_id=request_id, tenant=tenant, run=str(run.id)):
            started = time.perf_counter()
            status, retry_in = self._execute_steps(tenant, run, done)
            log.info(
                "run %s of %s %s in %.1f ms (attempt %d)",
                run.id,
                run.workflow,
                status,
                (time.perf_counter() - started) * 1000,
                run.attempts,
                extra={"workflow": run.workflow, "status": status, "cause": run.cause},
            )
            return status, retry_in

    def _execute_steps(self, tenant: str, run: Any, done: set[int]) -> tuple[str, float | None]:
        """Run a claimed run's remaining steps; return its status and, if it failed and
        will be retried, the seconds until then.

        A run of one database action takes two short transactions: the claim, and the
        step, which commits its effect, its step row and the run's end together. Members
        are read only if an action needs them.
        """
        schema = self._schema(tenant)
        shape, timezone = self._shape(tenant)
        definition = self._actions(shape.complete, run.workflow)
        if definition is None:
            error = f"workflow {run.workflow} no longer exists"
            return self._finish(tenant, run, "dead", error), None
        obj, actions = definition
        rs = act.RunScope(
            tenant=tenant,
            shape=shape,
            schema=schema,
            dialect=self.backend.dialect,
            timezone=timezone,
            run=run,
            members=lambda: self.identity.members(tenant),
            payload=json.loads(run.payload or "{}"),
            now=self._now(),
        )
        todo = [p for p in range(len(actions)) if p not in done]
        if not todo:
            return self._finish(tenant, run, "succeeded", None), None
        for position in todo:
            action = actions[position]
            try:
                self._step(rs, position, action, obj, last=position == todo[-1])
            # Any failure fails the step: ActionError and DeliveryRefused are final, the
            # rest (DeliveryError, database errors, bugs) are retried with backoff.
            except Exception as exc:
                return self._failed(tenant, rs, position, action, exc)
        return "succeeded", None

    def _after_step(self, conn: Connection, schema: str | None, run_id: Any, last: bool) -> None:
        """Finish the run with its last step, or renew its lease for the next one."""
        if last:
            self._mark(conn, schema, run_id, "succeeded", None)
            return
        runs = system_table(schema, RUNS)
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(lease_until=self._now() + dt.timedelta(seconds=self.settings.lease))
        )

    def _step(
        self, rs: act.RunScope, position: int, action: Action, obj: str | None, *, last: bool
    ) -> None:
        tenant, schema = rs.tenant, rs.schema
        record_id = rs.run.record_id
        if action.kind in act.DATABASE_ACTIONS:
            with self.backend.begin_tenant(tenant) as conn:
                # Locked (FOR UPDATE on PostgreSQL; SQLite's writer lock already holds
                # the file): score, tags and updates read the record and write a value
                # computed from it, and concurrent runs on one record must queue, not
                # overwrite each other.
                record = rs.read(conn, obj, record_id, lock=True) if obj and record_id else None
                if record is None and record_id is not None and obj:
                    status, detail = "skipped", {"reason": "the record is deleted"}
                else:
                    status = "done"
                    detail = act.perform(conn, rs, position, action, obj, record)
                self._record_step(conn, schema, rs.run.id, position, action, status, detail)
                self._after_step(conn, schema, rs.run.id, last)
            return
        # Sending: read what to send, send it outside any transaction, then record it.
        with self.backend.read_tenant(tenant) as conn:
            record = rs.read(conn, obj, record_id) if obj and record_id else None
            scope = rs.scope(conn, record or {})
            o = action.options
            key = f"{rs.run.id}:{position}"
            if action.kind == "email":
                to = act.email_addresses(rs, o["to"], record)
                subject = act.render(o["subject"], rs.shape, obj, scope if record else None)
                body = act.render(o["body"], rs.shape, obj, scope if record else None)
            else:
                payload = {
                    "delivery": key,
                    "tenant": tenant,
                    "workflow": rs.run.workflow,
                    "run": str(rs.run.id),
                    "object": obj,
                    "record": act.jsonable(record),
                    "trigger": rs.payload,
                }
                secret = act.webhook_secret(o)
        if action.kind == "email":
            if not to:
                detail = {"sent": False, "reason": "no recipient address"}
            else:
                where = send_email(
                    self.settings.email_url,
                    self.settings.email_from,
                    to,
                    subject.get("en"),
                    body.get("en"),
                    key,
                )
                detail = {"to": to, "via": where}
        else:
            status_code = post_webhook(o["url"], payload, secret, key, policy=self.outbound)
            detail = {"url": o["url"], "status": status_code, "delivery": key}
        with self.backend.begin_tenant(tenant) as conn:
            self._record_step(conn, schema, rs.run.id, position, action, "done", detail)
            self._after_step(conn, schema, rs.run.id, last)

    def _record_step(
        self,
        conn: Connection,
        schema: str | None,
        run_id: Any,
        position: int,
        action: Action,
        status: str,
        detail: dict[str, Any] | None,
        error: str | None = None,
    ) -> None:
        """Write a step's state (one upsert: a retried step counts its attempts)."""
        steps = system_table(schema, STEPS)
        values = {
            "run_id": run_id,
            "position": position,
            "action": action.kind,
            "status": status,
            "attempts": 1,
            "detail": json.dumps(detail, default=str, ensure_ascii=False) if detail else None,
            "error": error,
            "finished_at": self._now(),
        }
        statement = conflict_insert(conn, steps).values(values)
        conn.execute(
            statement.on_conflict_do_update(
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
        )

    def _failed(
        self, tenant: str, rs: act.RunScope, position: int, action: Action, exc: Exception
    ) -> tuple[str, float | None]:
        """Record a failed step; retry later, or send the run to the dead-letter list."""
        readable = isinstance(exc, ActionError | DeliveryRefused)
        message = str(exc) if readable else f"{type(exc).__name__}: {exc}"
        log.warning("run %s (%s) step %d failed: %s", rs.run.id, rs.run.workflow, position, message)
        schema = rs.schema
        error = f"step {position} ({action.kind}): {message}"
        permanent = isinstance(exc, ActionError | DeliveryRefused)
        runs = system_table(schema, RUNS)
        with self.backend.begin_tenant(tenant) as conn:
            self._record_step(conn, schema, rs.run.id, position, action, "failed", None, message)
            if permanent or rs.run.attempts >= self.settings.max_attempts:
                self._mark(conn, schema, rs.run.id, "dead", error)
                return "dead", None
            countdown = self.settings.retry_base * 2 ** (rs.run.attempts - 1)
            conn.execute(
                update(runs)
                .where(runs.c.id == rs.run.id)
                .values(
                    status="failed",
                    error=error,
                    lease_until=None,
                    next_attempt_at=self._now() + dt.timedelta(seconds=countdown),
                )
            )
        return "failed", countdown

    def _mark(
        self, conn: Connection, schema: str | None, run_id: Any, status: str, error: str | None
    ) -> None:
        runs = system_table(schema, RUNS)
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(status=status, error=error, finished_at=self._now(), lease_until=None)
        )

    def _finish(self, tenant: str, run: Any, status: str, error: str | None) -> str:
        with self.backend.begin_tenant(tenant) as conn:
            self._mark(conn, self._schema(tenant), run.id, status, error)
        return status

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

    def tick(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One beat: for every tenant, dispatch, schedules, timers and the sweep."""
        now = now or self._now()
        heartbeats.beat(self.backend, "tick", clock=now.isoformat())
        out = {"runs": 0, "woken": 0}
        for tenant in self.tenants():
            try:
                out["runs"] += self.dispatch(tenant)
                out["runs"] += self.fire_schedules(tenant, now)
                out["runs"] += self.scan_timers(tenant, now)
                out["woken"] += self.sweep(tenant, now)
            except Exception:  # one tenant's trouble must not stop the others
                log.exception("workflow tick failed for tenant %s", tenant)
        return out
