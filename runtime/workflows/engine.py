"""The workflow engine: from causes to runs, and runs to effects.

- ``dispatch`` reads a tenant's outbox in id order, creates a run per matching workflow
  (the run's unique dedupe key makes this safe to repeat) and marks the events, in one
  transaction; then it hands the new runs to Celery.
- ``execute`` claims a run (an atomic update, so two deliveries of one message cannot
  both run it), then runs its steps in order. A database step's effect and its "done"
  mark commit together; a step that sends something records it after sending, with a
  delivery key that stays the same across retries. A failed step fails the run: it is
  retried with exponential backoff, or goes to the dead-letter list once attempts run
  out or the failure is one retrying cannot fix.
- ``scan_timers``, ``fire_schedules`` and ``sweep`` run on each beat tick. The sweep
  re-sends runs whose message was lost (queued too long), whose worker died (lease ran
  out) or whose retry is due, so a broker that drops a message or a worker killed with
  -9 delays a run but never loses it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from metadata.automation import Action, Workflow, duration_seconds
from metadata.cron import parse_cron
from metadata.expressions import check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from runtime.expressions.evaluate import Scope, evaluate
from runtime.graphql.cache import ActiveApis
from runtime.security.identity import Identity
from runtime.settings import WorkflowSettings
from runtime.storage import naming
from runtime.storage.tables import build_table
from runtime.tenants import TenantService
from runtime.workflows import actions as act
from runtime.workflows.delivery import post_webhook, send_email
from runtime.workflows.runs import MAX_DEPTH, create_run, system_table
from runtime.workflows.tables import CURSORS, RUNS, STEPS
from runtime.workflows.values import ActionError

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The run failed and will be retried after ``countdown`` seconds."""

    def __init__(self, countdown: float) -> None:
        super().__init__(countdown)
        self.countdown = countdown


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _typed_value(field: Any, value: Any) -> Any:
    """Return an outbox change value (JSON text form) as its field's Python value."""
    if value is None or field is None:
        return value
    kind = field.type
    try:
        if kind in ("integer", "decimal", "currency", "percent"):
            return Decimal(str(value))
        if kind == "date":
            return dt.date.fromisoformat(str(value)[:10])
        if kind == "datetime":
            return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if kind in ("lookup", "master_detail", "uuid"):
            return uuid.UUID(str(value))
    except ValueError:
        return value
    return value


class Engine:
    """Runs one deployment's workflows; safe to share between threads."""

    def __init__(
        self,
        service: TenantService,
        apis: ActiveApis,
        identity: Identity,
        settings: WorkflowSettings,
        send: Callable[[str, uuid.UUID, float], None],
    ) -> None:
        self.service, self.apis, self.identity = service, apis, identity
        self.backend = service.backend
        self.settings = settings
        self.send = send
        """Hands a run to Celery: (tenant, run id, countdown seconds)."""

    # -- helpers -------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        return [t.name for t in self.service.list_tenants()]

    def _api(self, tenant: str) -> tuple[Any, str]:
        return self.apis.get(tenant)

    def model(self, tenant: str) -> Model:
        return self._api(tenant)[0].shape.complete

    def _schema(self, tenant: str) -> str | None:
        return self.backend.schema(tenant)

    def _send_all(self, tenant: str, run_ids: list[uuid.UUID]) -> None:
        for run_id in run_ids:
            self.send(tenant, run_id, 0)

    # -- dispatch ------------------------------------------------------------------------

    def dispatch(self, tenant: str) -> int:
        """Turn the tenant's pending outbox events into runs; return how many runs."""
        model = self.model(tenant)
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
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            events = conn.execute(query).all()
            if not events:
                return 0
            origins = self._origins(conn, schema, {e.run_id for e in events if e.run_id})
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
                    if not self._matches(conn, model, schema, tenant, w, event):
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
                    )
                    if run_id is not None:
                        made.append(run_id)
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([e.id for e in events]))
                .values(dispatched_at=_now())
            )
        self._send_all(tenant, made)
        return len(made)

    def _origins(self, conn: Connection, schema: str | None, run_ids: set[Any]) -> dict[Any, str]:
        if not run_ids:
            return {}
        runs = system_table(schema, RUNS)
        rows = conn.execute(select(runs.c.id, runs.c.workflow).where(runs.c.id.in_(run_ids)))
        return {r.id: r.workflow for r in rows}

    def _matches(
        self,
        conn: Connection,
        model: Model,
        schema: str | None,
        tenant: str,
        w: Workflow,
        event: Any,
    ) -> bool:
        """Whether ``event`` meets ``w``'s condition, judged on the record as the event
        left it (its new values) against the values before it (ISCHANGED, PRIORVALUE)."""
        if not w.trigger.condition:
            return True
        table = build_table(model, event.object, schema=schema, dialect=conn.dialect.name)
        row = conn.execute(select(table).where(table.c.id == event.record_id)).first()
        if row is None:
            return False
        current = dict(row._mapping)
        obj = model.objects[event.object]
        changes = json.loads(event.changes)
        after = dict(current)
        before = dict(current)
        for name, (old, new) in changes.items():
            f = obj.fields.get(name) or (obj.field(name) if name == "owner" else None)
            after[name] = _typed_value(f, new)
            before[name] = _typed_value(f, old)
        typed = check(w.trigger.condition, model, event.object, expect=BOOLEAN, prior=True)
        scope = Scope(
            record=after,
            today=dt.date.today(),
            load=lambda o, i: _load(conn, model, schema, o, i),
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

    def execute(self, tenant: str, run_id: Any) -> str:
        """Run (or continue) one run; return its final status, or ``skipped`` when
        another worker holds it or it is finished. Raise RetryLater on a retryable
        failure."""
        schema = self._schema(tenant)
        runs = system_table(schema, RUNS)
        now = _now()
        with self.backend.begin_tenant(tenant) as conn:
            claimed = conn.execute(
                update(runs)
                .where(
                    runs.c.id == run_id,
                    or_(
                        runs.c.status.in_(("queued", "failed")),
                        and_(runs.c.status == "running", runs.c.lease_until < now),
                    ),
                )
                .values(
                    status="running",
                    attempts=runs.c.attempts + 1,
                    started_at=func.coalesce(runs.c.started_at, now),
                    lease_until=now + dt.timedelta(seconds=self.settings.lease),
                    next_attempt_at=None,
                )
            ).rowcount
            if claimed != 1:
                return "skipped"
            run = conn.execute(select(runs).where(runs.c.id == run_id)).one()
        api, timezone = self._api(tenant)
        definition = self._actions(api.shape.complete, run.workflow)
        if definition is None:
            return self._finish(tenant, run, "dead", f"workflow {run.workflow} no longer exists")
        obj, actions = definition
        rs = act.RunScope(
            tenant=tenant,
            api=api,
            schema=schema,
            dialect=self.backend.dialect,
            timezone=timezone,
            run=run,
            directory=act.Directory(self.identity.members(tenant)),
            payload=json.loads(run.payload or "{}"),
        )
        steps = system_table(schema, STEPS)
        with self.backend.read_tenant(tenant) as conn:
            done = {
                r.position
                for r in conn.execute(
                    select(steps.c.position).where(
                        steps.c.run_id == run.id, steps.c.status.in_(("done", "skipped"))
                    )
                )
            }
        for position, action in enumerate(actions):
            if position in done:
                continue
            try:
                self._step(rs, position, action, obj)
            # Any failure fails the step: ActionError is final, the rest (DeliveryError,
            # database errors, bugs) are retried with backoff.
            except Exception as exc:
                return self._failed(tenant, rs, position, action, exc)
        return self._finish(tenant, run, "succeeded", None)

    def _renew(self, conn: Connection, schema: str | None, run_id: Any) -> None:
        runs = system_table(schema, RUNS)
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(lease_until=_now() + dt.timedelta(seconds=self.settings.lease))
        )

    def _step(self, rs: act.RunScope, position: int, action: Action, obj: str | None) -> None:
        tenant, schema = rs.tenant, rs.schema
        record_id = rs.run.record_id
        if action.kind in act.DATABASE_ACTIONS:
            with self.backend.begin_tenant(tenant) as conn:
                record = rs.read(conn, obj, record_id) if obj and record_id else None
                if record is None and record_id is not None and obj:
                    self._record_step(
                        conn,
                        schema,
                        rs.run.id,
                        position,
                        action,
                        "skipped",
                        {"reason": "the record is deleted"},
                    )
                    return
                detail = act.perform(conn, rs, position, action, obj, record)
                self._record_step(conn, schema, rs.run.id, position, action, "done", detail)
                self._renew(conn, schema, rs.run.id)
            return
        # Sending: read what to send, send it outside any transaction, then record it.
        with self.backend.read_tenant(tenant) as conn:
            record = rs.read(conn, obj, record_id) if obj and record_id else None
            scope = rs.scope(conn, record or {})
            o = action.options
            key = f"{rs.run.id}:{position}"
            if action.kind == "email":
                to = act.email_addresses(rs, o["to"], record)
                subject = act.render(o["subject"], rs.model, obj, scope if record else None)
                body = act.render(o["body"], rs.model, obj, scope if record else None)
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
                detail: dict[str, Any] = {"sent": False, "reason": "no recipient address"}
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
            status = post_webhook(o["url"], payload, secret, key)
            detail = {"url": o["url"], "status": status, "delivery": key}
        with self.backend.begin_tenant(tenant) as conn:
            self._record_step(conn, schema, rs.run.id, position, action, "done", detail)
            self._renew(conn, schema, rs.run.id)

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
        steps = system_table(schema, STEPS)
        previous = conn.execute(
            select(steps.c.attempts).where(steps.c.run_id == run_id, steps.c.position == position)
        ).scalar()
        conn.execute(delete(steps).where(steps.c.run_id == run_id, steps.c.position == position))
        conn.execute(
            insert(steps).values(
                run_id=run_id,
                position=position,
                action=action.kind,
                status=status,
                attempts=(previous or 0) + 1,
                detail=json.dumps(detail, default=str, ensure_ascii=False) if detail else None,
                error=error,
                finished_at=_now(),
            )
        )

    def _failed(
        self, tenant: str, rs: act.RunScope, position: int, action: Action, exc: Exception
    ) -> str:
        """Record a failed step; retry later, or send the run to the dead-letter list."""
        message = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ActionError) else str(exc)
        log.warning("run %s (%s) step %d failed: %s", rs.run.id, rs.run.workflow, position, message)
        schema = rs.schema
        permanent = isinstance(exc, ActionError)
        with self.backend.begin_tenant(tenant) as conn:
            self._record_step(conn, schema, rs.run.id, position, action, "failed", None, message)
        if permanent or rs.run.attempts >= self.settings.max_attempts:
            self._finish(tenant, rs.run, "dead", f"step {position} ({action.kind}): {message}")
            return "dead"
        countdown = self.settings.retry_base * 2 ** (rs.run.attempts - 1)
        runs = system_table(schema, RUNS)
        with self.backend.begin_tenant(tenant) as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == rs.run.id)
                .values(
                    status="failed",
                    error=f"step {position} ({action.kind}): {message}",
                    lease_until=None,
                    next_attempt_at=_now() + dt.timedelta(seconds=countdown),
                )
            )
        raise RetryLater(countdown)

    def _finish(self, tenant: str, run: Any, status: str, error: str | None) -> str:
        runs = system_table(self._schema(tenant), RUNS)
        with self.backend.begin_tenant(tenant) as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run.id)
                .values(status=status, error=error, finished_at=_now(), lease_until=None)
            )
        return status

    def retry(self, conn: Connection, schema: str | None, run_id: Any) -> bool:
        """Put a dead (or failed) run back in the queue with fresh attempts; the caller
        sends it after committing. Steps already done are not repeated."""
        runs = system_table(schema, RUNS)
        return (
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status.in_(("dead", "failed")))
                .values(
                    status="queued",
                    attempts=0,
                    error=None,
                    finished_at=None,
                    next_attempt_at=None,
                    created_at=_now(),
                )
            ).rowcount
            == 1
        )

    # -- time, schedules, sweeping -------------------------------------------------------

    def scan_timers(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create runs for records whose moment (date field + offset) has come."""
        now = now or _now()
        model = self.model(tenant)
        schema = self._schema(tenant)
        made: list[uuid.UUID] = []
        for w in model.automation.triggered_by("time"):
            assert w.object is not None and w.trigger.field is not None
            f = model.objects[w.object].fields[w.trigger.field]
            due = now - dt.timedelta(seconds=duration_seconds(w.trigger.offset))
            oldest = due - dt.timedelta(seconds=self.settings.timer_horizon)
            condition = (
                check(w.trigger.condition, model, w.object, expect=BOOLEAN)
                if w.trigger.condition
                else None
            )
            with self.backend.begin_tenant(tenant) as conn:
                table = build_table(model, w.object, schema=schema, dialect=conn.dialect.name)
                column = table.c[f.name]
                if f.type == "date":
                    bounds = (column <= due.date(), column > oldest.date())
                else:
                    bounds = (column <= due, column > oldest)
                rows = conn.execute(
                    select(table)
                    .where(table.c.deleted_at.is_(None), *bounds)
                    .limit(self.settings.batch)
                ).all()
                for row in rows:
                    record = dict(row._mapping)
                    moment = record[f.name]
                    dedupe = f"t:{w.name}:{record['id']}:{moment.isoformat()}"
                    if condition is not None:
                        scope = Scope(
                            record=record,
                            today=now.date(),
                            load=lambda o, i, c=conn: _load(c, model, schema, o, i),
                        )
                        if evaluate(condition, scope) is not True:
                            continue
                    run_id = create_run(
                        conn,
                        schema,
                        workflow=w.name,
                        cause="time",
                        dedupe=dedupe,
                        obj=w.object,
                        record_id=record["id"],
                        payload={"field": f.name, "moment": moment.isoformat()},
                    )
                    if run_id is not None:
                        made.append(run_id)
        self._send_all(tenant, made)
        return len(made)

    def fire_schedules(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Create a run for each cron workflow whose next time has come (missed times
        while no worker ran are fired once, not once each)."""
        now = now or _now()
        model = self.model(tenant)
        schema = self._schema(tenant)
        cursors = system_table(schema, CURSORS)
        made: list[uuid.UUID] = []
        for w in model.automation.triggered_by("schedule"):
            cron = parse_cron(w.trigger.cron or "")
            key = f"cron:{w.name}:{w.trigger.cron}"
            with self.backend.begin_tenant(tenant) as conn:
                last_text = conn.execute(
                    select(cursors.c.value).where(cursors.c.key == key)
                ).scalar()
                if last_text is None:
                    # A new schedule starts counting now: no firing for times before it.
                    conn.execute(insert(cursors).values(key=key, value=now.isoformat()))
                    continue
                fire = None
                moment = cron.next_after(dt.datetime.fromisoformat(last_text))
                while moment <= now:
                    fire, moment = moment, cron.next_after(moment)
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
                    payload={"at": fire.isoformat()},
                )
                if run_id is not None:
                    made.append(run_id)
        self._send_all(tenant, made)
        return len(made)

    def sweep(self, tenant: str, now: dt.datetime | None = None) -> int:
        """Send again runs that were lost, abandoned by a dead worker or due a retry."""
        now = now or _now()
        runs = system_table(self._schema(tenant), RUNS)
        lost = now - dt.timedelta(seconds=self.settings.lost_after)
        with self.backend.begin_tenant(tenant) as conn:
            rows = conn.execute(
                select(runs.c.id)
                .where(
                    or_(
                        and_(
                            runs.c.status == "queued",
                            func.coalesce(runs.c.next_attempt_at, runs.c.created_at) < lost,
                        ),
                        and_(runs.c.status == "running", runs.c.lease_until < now),
                        and_(runs.c.status == "failed", runs.c.next_attempt_at < lost),
                    )
                )
                .limit(self.settings.batch)
            ).all()
            ids = [r.id for r in rows]
            if ids:
                # Not again before the next lost_after has passed.
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(ids), runs.c.status == "queued")
                    .values(next_attempt_at=now)
                )
        for run_id in ids:
            self.send(tenant, run_id, 0)
        return len(ids)

    def tick(self) -> dict[str, int]:
        """One beat: for every tenant, dispatch, schedules, timers and the sweep."""
        out = {"runs": 0, "resent": 0}
        for tenant in self.tenants():
            try:
                out["runs"] += self.dispatch(tenant)
                out["runs"] += self.fire_schedules(tenant)
                out["runs"] += self.scan_timers(tenant)
                out["resent"] += self.sweep(tenant)
            except Exception:  # one tenant's trouble must not stop the others
                log.exception("workflow tick failed for tenant %s", tenant)
        return out


def _load(conn: Connection, model: Model, schema: str | None, obj: str, record_id: Any) -> Any:
    table = build_table(model, obj, schema=schema, dialect=conn.dialect.name)
    row = conn.execute(
        select(table).where(table.c.id == record_id, table.c.deleted_at.is_(None))
    ).first()
    return dict(row._mapping) if row is not None else None
