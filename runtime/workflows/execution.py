"""Execution: claiming ready runs and carrying out their steps, with retries and dead letters

One part of ``Engine`` (``runtime/workflows/engine.py``), which composes them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, update

from metadata.automation import Action, Workflow
from metadata.model import Model
from runtime.observability import logs
from runtime.records.values import ActionError
from runtime.storage.ids import new_id
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import NOTIFICATIONS, RUNS
from runtime.workflows import actions as act
from runtime.workflows import manual, statements
from runtime.workflows.basis import EngineBasis
from runtime.workflows.delivery import DeliveryRefused, post_webhook, send_email

# One logger for the whole engine, whichever part writes (operators filter on it).
log = logging.getLogger("runtime.workflows.engine")

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


class Execution(EngineBasis):
    """Execution."""

    # -- execution -----------------------------------------------------------------------

    def _actions(self, model: Model, name: str) -> tuple[str | None, tuple[Action, ...]] | None:
        if name.startswith("approval:"):
            _, process, outcome = name.split(":", 2)
            p = model.automation.approvals.get(process)
            return (p.object, p.outcome_actions(outcome)) if p else None
        w = model.automation.workflows.get(name)
        return (w.object, w.actions) if w else None

    def _run_as(self, model: Model, name: str) -> str:
        w = model.automation.workflows.get(name)
        return w.run_as if w else "system"

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
        now = self._now()
        bound = {"now": now, "lease": now + dt.timedelta(seconds=self.settings.lease)}
        with self.backend.begin_tenant(tenant) as conn:
            for claim in statements.claims(schema):
                run = conn.execute(claim, bound).first()
                if run is not None:
                    found = conn.execute(statements.done_steps(schema), {"run": run.id})
                    return run, {r.position for r in found}
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
            principal_of=(lambda user: self.principal_of(tenant, user))
            if self.principal_of
            else None,
            run_as=self._run_as(shape.complete, run.workflow),
            batch=self.settings.batch,
        )
        todo = [p for p in range(len(actions)) if p not in done]
        if not todo:
            return self._finish(tenant, run, "succeeded", None), None
        w = shape.complete.automation.workflows.get(run.workflow)
        if (
            w is not None
            and run.cause == "manual"
            and (w.trigger.condition or w.trigger.limit)
            and all(a.kind in act.DATABASE_ACTIONS for a in actions)
        ):
            return self._execute_manual(rs, w, todo)
        for position in todo:
            action = actions[position]
            try:
                self._step(rs, position, action, obj, last=position == todo[-1])
            # Any failure fails the step: ActionError and DeliveryRefused are final, the
            # rest (DeliveryError, database errors, bugs) are retried with backoff.
            except Exception as exc:
                return self._failed(tenant, rs, position, action, exc)
        return "succeeded", None

    def _execute_manual(
        self, rs: act.RunScope, w: Workflow, todo: list[int]
    ) -> tuple[str, float | None]:
        """A manual run with a condition or limit: judged again for its starter under a
        lock on their runs of the workflow, and its record actions done, in one
        transaction (runtime/workflows/manual.py)."""
        run, obj = rs.run, w.object
        assert obj is not None
        try:
            with self.backend.begin_tenant(rs.tenant) as conn:
                if run.actor is not None:
                    manual.hold(conn, rs.schema, w, run.actor)
                record = rs.read(conn, obj, run.record_id, lock=True)
                if record is None:
                    raise manual.Refused(
                        "NOT_FOUND",
                        {"en": f"the {obj} is deleted", "zh-CN": "该记录已被删除"},
                    )
                member = rs.directory.by_id(run.actor) if run.actor is not None else None
                manual.judge(
                    conn,
                    rs.shape,
                    rs.schema,
                    rs.tenant,
                    w,
                    record,
                    run.actor,
                    lambda: member.role if member else None,
                    rs.now,
                    rs.today,
                )
                for position in todo:
                    action = w.actions[position]
                    detail = act.perform(conn, rs, position, action, obj, record)
                    self._record_step(conn, rs.schema, run.id, position, action, "done", detail)
                    record = rs.read(conn, obj, run.record_id) or record
                self._mark(conn, rs.schema, run.id, "succeeded", None)
            return "succeeded", None
        except manual.Refused as exc:
            # The person was told yes when they started it: tell them why it did not run.
            with self.backend.begin_tenant(rs.tenant) as conn:
                self._mark(conn, rs.schema, run.id, "refused", exc.messages["en"])
                if run.actor is not None:
                    label = w.label.to_json()
                    messages = {
                        "en": f"{label.get('en', w.name)} did not run: {exc.messages['en']}",
                        "zh-CN": f"「{label.get('zh-CN', w.name)}」未执行："
                        f"{exc.messages.get('zh-CN', exc.messages['en'])}",
                    }
                    conn.execute(
                        insert(system_table(rs.schema, NOTIFICATIONS)).values(
                            id=new_id(),
                            user_id=run.actor,
                            object=obj,
                            record_id=run.record_id,
                            message=json.dumps(messages, ensure_ascii=False),
                            run_id=run.id,
                            created_at=dt.datetime.now(dt.UTC),
                        )
                    )
            return "refused", None
        except Exception as exc:
            return self._failed(rs.tenant, rs, todo[0], w.actions[todo[0]], exc)

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
        conn.execute(statements.record_step(schema, conn.dialect.name), values)

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
        conn.execute(
            statements.mark(schema), {"run": run_id, "to": status, "why": error, "at": self._now()}
        )

    def _finish(self, tenant: str, run: Any, status: str, error: str | None) -> str:
        with self.backend.begin_tenant(tenant) as conn:
            self._mark(conn, self._schema(tenant), run.id, status, error)
        return status
