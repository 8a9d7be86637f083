"""GraphQL roots for automation: run history, dead letters, manual starts, approvals and
notifications. Present only in the schemas of tenants that have workflows or approvals.

They read and write the platform's own tables, so they are resolved here in Python and
shaped by graphql-core's executor over the returned values; they still run in the
request's transaction, so a mutation list that fails rolls them back with the rest.

Who may do what: run history and retries are for tenant admins; anyone who can edit a
record may start its manual workflows (limited by the trigger's roles) and submit it for
approval; approvers see and decide their own tasks; the submitter or an admin recalls;
everyone reads their own notifications.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLString,
)
from sqlalchemy import Connection, select, update

from runtime.graphql import conversions
from runtime.graphql.automation_types import ABSENCE, APPROVAL, NOTIFICATION, RUN, TASK, iso
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.locks import locked_records
from runtime.query.filters import col
from runtime.security.identity import MemberInfo
from runtime.storage.records import read_record
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import APPROVAL_TASKS, APPROVALS, NOTIFICATIONS, RUNS, STEPS
from runtime.workflows import absences, manual
from runtime.workflows import approvals as flow_approvals
from runtime.workflows.directory import Directory
from runtime.workflows.runs import create_run


@dataclass
class AutomationHooks:
    """What automation roots need from the server: the tenant's members and a way to
    start runs and wake the dispatcher once the transaction commits."""

    members: Callable[[str], list[MemberInfo]]
    after_commit: Callable[[str, int, list[uuid.UUID]], None] = lambda *_: None


def _nn(t: Any) -> Any:
    return GraphQLNonNull(t)


_ID = GraphQLArgument(_nn(GraphQLID))
_COMMENT = GraphQLArgument(GraphQLString)


def query_fields() -> dict[str, GraphQLField]:
    return {
        "workflowRuns": GraphQLField(
            _nn(GraphQLList(_nn(RUN))),
            {
                "workflow": GraphQLArgument(GraphQLString),
                "status": GraphQLArgument(GraphQLString, description="dead: the dead-letter list"),
                "recordId": GraphQLArgument(GraphQLID),
                "first": GraphQLArgument(GraphQLInt, default_value=50),
            },
            description="Workflow runs, newest first (tenant admins).",
        ),
        "workflowRun": GraphQLField(RUN, {"id": _ID}, description="One run (tenant admins)."),
        "approvalsInbox": GraphQLField(
            _nn(GraphQLList(_nn(TASK))),
            description="Pending approval tasks for you or your role, oldest first.",
        ),
        "approvals": GraphQLField(
            _nn(GraphQLList(_nn(APPROVAL))),
            {"objectName": GraphQLArgument(_nn(GraphQLString)), "recordId": _ID},
            description="A record's approvals, newest first (if you can read it).",
        ),
        "myAbsences": GraphQLField(
            _nn(GraphQLList(_nn(ABSENCE))), description="Your current and coming absences."
        ),
        "lockedRecords": GraphQLField(
            _nn(GraphQLList(_nn(GraphQLID))),
            {
                "objectName": GraphQLArgument(_nn(GraphQLString)),
                "ids": GraphQLArgument(_nn(GraphQLList(_nn(GraphQLID)))),
            },
            description="Of these records, the ones a pending approval locks.",
        ),
        "notifications": GraphQLField(
            _nn(GraphQLList(_nn(NOTIFICATION))),
            {
                "unreadOnly": GraphQLArgument(GraphQLBoolean, default_value=False),
                "first": GraphQLArgument(GraphQLInt, default_value=50),
            },
            description="Your in-app notifications, newest first.",
        ),
        **conversions.query_fields(),
    }


def mutation_fields() -> dict[str, GraphQLField]:
    return {
        "startWorkflow": GraphQLField(
            _nn(RUN),
            {"workflow": GraphQLArgument(_nn(GraphQLString)), "id": _ID},
            description="Start a manual workflow on a record you can edit (or read, when its "
            "trigger says access: read); its condition and limit are checked now "
            "(CONDITION_NOT_MET, LIMIT_REACHED) and again when it runs.",
        ),
        "retryWorkflowRun": GraphQLField(
            _nn(RUN), {"id": _ID}, description="Queue a dead or failed run again (admins)."
        ),
        "submitForApproval": GraphQLField(
            _nn(APPROVAL),
            {"process": GraphQLArgument(_nn(GraphQLString)), "id": _ID, "comment": _COMMENT},
        ),
        "approveTask": GraphQLField(_nn(APPROVAL), {"id": _ID, "comment": _COMMENT}),
        "rejectTask": GraphQLField(_nn(APPROVAL), {"id": _ID, "comment": _COMMENT}),
        "recallApproval": GraphQLField(_nn(APPROVAL), {"id": _ID, "comment": _COMMENT}),
        "setAway": GraphQLField(
            _nn(ABSENCE),
            {
                "from": GraphQLArgument(_nn(GraphQLString), description="ISO 8601, with a zone."),
                "until": GraphQLArgument(_nn(GraphQLString)),
                "delegate": GraphQLArgument(
                    GraphQLString, description="E-mail of the member deciding your approvals."
                ),
            },
            description="Be away for a period (replacing absences it overlaps).",
        ),
        "backFromAway": GraphQLField(
            _nn(GraphQLInt), description="End your current and coming absences."
        ),
        "markNotificationsRead": GraphQLField(
            _nn(GraphQLInt),
            {"ids": GraphQLArgument(_nn(GraphQLList(_nn(GraphQLID))))},
            description="Mark your notifications read; returns how many changed.",
        ),
        **conversions.mutation_fields(),
    }


QUERIES = frozenset(query_fields())
MUTATIONS = frozenset(mutation_fields())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Resolver:
    """Resolves automation roots for one request on one connection."""

    def __init__(
        self,
        ctx: Context,
        conn: Connection,
        schema: str | None,
        hooks: AutomationHooks | None,
        timezone: str = "UTC",
    ) -> None:
        self.ctx, self.conn, self.schema, self.hooks = ctx, conn, schema, hooks
        self.timezone = timezone
        self.principal = ctx.principal
        self.model = ctx.shape.complete
        self.started: list[uuid.UUID] = []
        """Runs created by this request, sent to Celery after the commit."""
        self.events = 0
        """Record writes made by this request (conversions), for the dispatcher."""

    def _t(self, name: str) -> Any:
        return system_table(self.schema, name)

    def _uuid(self, value: Any, arg: str) -> uuid.UUID:
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise QueryError(f"{value!r} is not a valid ID (a UUID)", field=[arg]) from None

    def _admin(self) -> None:
        if not self.principal.tenant_admin:
            raise QueryError("only tenant admins see and retry workflow runs", "FORBIDDEN")

    def _directory(self) -> Any:
        if self.hooks is None:
            raise QueryError("approvals are not available on this server", "INTERNAL_SERVER_ERROR")
        return Directory(self.hooks.members(self.principal.tenant))

    # -- reading -------------------------------------------------------------------------

    def run_json(self, row: Any) -> dict[str, Any]:
        steps = self._t(STEPS)
        rows = self.conn.execute(
            select(steps).where(steps.c.run_id == row.id).order_by(steps.c.position)
        )
        return {
            "id": str(row.id),
            "workflow": row.workflow,
            "cause": row.cause,
            "status": row.status,
            "attempts": row.attempts,
            "error": row.error,
            "objectName": row.object,
            "recordId": str(row.record_id) if row.record_id else None,
            "payload": json.loads(row.payload or "{}"),
            "createdAt": iso(row.created_at),
            "startedAt": iso(row.started_at),
            "finishedAt": iso(row.finished_at),
            "nextAttemptAt": iso(row.next_attempt_at),
            "steps": [
                {
                    "position": s.position,
                    "action": s.action,
                    "status": s.status,
                    "attempts": s.attempts,
                    "detail": json.loads(s.detail) if s.detail else None,
                    "error": s.error,
                    "finishedAt": iso(s.finished_at),
                }
                for s in rows
            ],
        }

    def approval_json(self, approval_id: Any, *, with_tasks: bool = True) -> dict[str, Any]:
        approvals, tasks = self._t(APPROVALS), self._t(APPROVAL_TASKS)
        a = self.conn.execute(select(approvals).where(approvals.c.id == approval_id)).one()
        process = self.model.automation.approvals.get(a.process)
        out: dict[str, Any] = {
            "id": str(a.id),
            "process": a.process,
            "label": process.label.to_json() if process else None,
            "objectName": a.object,
            "recordId": str(a.record_id),
            "status": a.status,
            "step": a.step,
            "stepName": process.steps[a.step].name
            if process and a.step < len(process.steps)
            else None,
            "submittedBy": str(a.submitted_by) if a.submitted_by else None,
            "comment": a.comment,
            "submittedAt": iso(a.submitted_at),
            "decidedAt": iso(a.decided_at),
            "changes": json.loads(a.changes) if a.changes else None,
            "tasks": [],
        }
        if with_tasks:
            rows = self.conn.execute(
                select(tasks)
                .where(tasks.c.approval_id == a.id)
                .order_by(tasks.c.step, tasks.c.created_at, tasks.c.id)
            )
            out["tasks"] = [self.task_json(t) for t in rows]
        return out

    @staticmethod
    def task_json(t: Any) -> dict[str, Any]:
        return {
            "id": str(t.id),
            "step": t.step,
            "userId": str(t.user_id) if t.user_id else None,
            "role": t.role,
            "status": t.status,
            "comment": t.comment,
            "decidedBy": str(t.decided_by) if t.decided_by else None,
            "decidedAt": iso(t.decided_at),
            "dueAt": iso(t.due_at),
            "delegatedFrom": str(t.delegated_from) if t.delegated_from else None,
            "escalatedFrom": str(t.escalated_from) if t.escalated_from else None,
        }

    @staticmethod
    def absence_json(a: Any) -> dict[str, Any]:
        return {
            "id": str(a.id),
            "from": iso(a.starts_at),
            "until": iso(a.ends_at),
            "delegateId": str(a.delegate_id) if a.delegate_id else None,
        }

    def _away(self, args: dict[str, Any]) -> dict[str, Any]:
        me = self.principal.user_id
        if me is None:
            raise QueryError("only a member can be away", "FORBIDDEN")
        moments = []
        for key in ("from", "until"):
            try:
                moment = dt.datetime.fromisoformat(str(args[key]).replace("Z", "+00:00"))
            except ValueError:
                raise QueryError(
                    f"{key}: {args[key]!r} is not a date and time (ISO 8601)", field=[key]
                ) from None
            if moment.tzinfo is None:
                raise QueryError(
                    f"{key}: {args[key]!r} has no time zone (add one: +08:00)", field=[key]
                )
            moments.append(moment)
        if moments[1] <= moments[0]:
            raise QueryError("until: it must be after from", field=["until"])
        delegate = None
        if args.get("delegate"):
            member = next(
                (
                    m
                    for m in self._directory().active()
                    if m.user.email == str(args["delegate"]).strip().lower()
                ),
                None,
            )
            if member is None or member.user.id == me:
                raise QueryError(
                    f"delegate: {args['delegate']!r} is not another active member of this tenant",
                    field=["delegate"],
                )
            delegate = member.user.id
        absence_id = absences.set_away(self.conn, self.schema, me, *moments, delegate)
        [row] = [
            a for a in absences.mine(self.conn, self.schema, me, moments[0]) if a.id == absence_id
        ]
        return self.absence_json(row)

    def _readable(self, obj: str, record_id: uuid.UUID, *, edit: bool = False) -> None:
        if obj not in self.ctx.shape.objects:
            raise QueryError(f"there is no object {obj!r}", "NOT_FOUND", field=["objectName"])
        d, saved = self.ctx.dialect, self.ctx.params
        self.ctx.params = {}
        try:
            alias = self.ctx.alias()
            predicates = [
                p for p in (self.ctx.rows(obj, alias), self.ctx.rows(obj, alias, write=edit)) if p
            ]
            where = " AND ".join(
                [
                    f"{col(alias, 'id')} = "
                    + self.ctx.param(d.bind(self.model.objects[obj].field("id"), record_id)),
                    f"{col(alias, 'deleted_at')} IS NULL",
                    *predicates,
                ]
            )
            found = self.conn.exec_driver_sql(
                f"SELECT 1 FROM {d.table(obj)} {alias} WHERE {where}", self.ctx.params
            ).first()
        finally:
            self.ctx.params = saved
        if found is None:
            raise QueryError(
                f"no {obj} you can {'edit' if edit else 'read'} has id {record_id}",
                "NOT_FOUND",
                field=["id"],
            )

    def query(self, name: str, args: dict[str, Any]) -> Any:
        me = self.principal.user_id
        if name in ("workflowRuns", "workflowRun"):
            self._admin()
            runs = self._t(RUNS)
            q = select(runs)
            if name == "workflowRun":
                row = self.conn.execute(q.where(runs.c.id == self._uuid(args["id"], "id"))).first()
                return self.run_json(row) if row else None
            if args.get("workflow"):
                q = q.where(runs.c.workflow == args["workflow"])
            if args.get("status"):
                q = q.where(runs.c.status == args["status"])
            if args.get("recordId"):
                q = q.where(runs.c.record_id == self._uuid(args["recordId"], "recordId"))
            first = max(1, min(int(args.get("first") or 50), self.ctx.limits.max_page_size))
            rows = self.conn.execute(q.order_by(runs.c.created_at.desc()).limit(first)).all()
            return [self.run_json(r) for r in rows]
        if name == "approvalsInbox":
            tasks = self._t(APPROVAL_TASKS)
            mine = [tasks.c.user_id == me] if me else []
            if self.principal.role:
                mine.append(tasks.c.role == self.principal.role)
            if not mine:
                return []
            from sqlalchemy import or_

            rows = self.conn.execute(
                select(tasks)
                .where(tasks.c.status == "pending", or_(*mine))
                .order_by(tasks.c.created_at, tasks.c.id)
            ).all()
            return [
                {**self.task_json(t), "approval": self.approval_json(t.approval_id)} for t in rows
            ]
        if name == "lockedRecords":
            return locked_records(self, args)
        if name in conversions.NAMES:
            return conversions.resolve(self, name, args)
        if name == "approvals":
            record_id = self._uuid(args["recordId"], "recordId")
            self._readable(args["objectName"], record_id)
            approvals = self._t(APPROVALS)
            rows = self.conn.execute(
                select(approvals.c.id)
                .where(approvals.c.object == args["objectName"], approvals.c.record_id == record_id)
                .order_by(approvals.c.submitted_at.desc())
            ).all()
            return [self.approval_json(r.id) for r in rows]
        if me is None:
            return []
        if name == "myAbsences":
            return [self.absence_json(a) for a in absences.mine(self.conn, self.schema, me, _now())]
        # notifications
        notes = self._t(NOTIFICATIONS)
        q = select(notes).where(notes.c.user_id == me)
        if args.get("unreadOnly"):
            q = q.where(notes.c.read_at.is_(None))
        first = max(1, min(int(args.get("first") or 50), self.ctx.limits.max_page_size))
        return [
            {
                "id": str(n.id),
                "message": json.loads(n.message),
                "objectName": n.object,
                "recordId": str(n.record_id) if n.record_id else None,
                "createdAt": iso(n.created_at),
                "readAt": iso(n.read_at),
            }
            for n in self.conn.execute(q.order_by(notes.c.created_at.desc()).limit(first))
        ]

    # -- writing -------------------------------------------------------------------------

    def mutate(self, name: str, args: dict[str, Any]) -> Any:
        p = self.principal
        try:
            if name in conversions.NAMES:
                return conversions.resolve(self, name, args)
            if name == "startWorkflow":
                return self._start(args)
            if name == "retryWorkflowRun":
                self._admin()
                run_id = self._uuid(args["id"], "id")
                runs = self._t(RUNS)
                done = self.conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id, runs.c.status.in_(("dead", "failed")))
                    .values(
                        status="queued",
                        attempts=0,
                        error=None,
                        finished_at=None,
                        next_attempt_at=None,
                        created_at=dt.datetime.now(dt.UTC),
                    )
                ).rowcount
                if not done:
                    raise QueryError(
                        f"no dead or failed run has id {run_id}", "NOT_FOUND", field=["id"]
                    )
                self.started.append(run_id)
                return self.run_json(
                    self.conn.execute(select(runs).where(runs.c.id == run_id)).one()
                )
            if name == "submitForApproval":
                process = self.model.automation.approvals.get(args["process"])
                if process is None:
                    raise QueryError(
                        f"there is no approval process {args['process']!r}",
                        "NOT_FOUND",
                        field=["process"],
                    )
                record_id = self._uuid(args["id"], "id")
                self._readable(process.object, record_id, edit=True)
                approval_id = flow_approvals.submit(
                    self.conn,
                    self.model,
                    self.schema,
                    self._directory(),
                    args["process"],
                    record_id,
                    p.user_id,
                    comment=args.get("comment"),
                    today=self.ctx.today or dt.date.today(),
                    timezone=self.timezone,
                )
                return self.approval_json(approval_id)
            if name in ("approveTask", "rejectTask"):
                approval_id, run_id = flow_approvals.decide(
                    self.conn,
                    self.model,
                    self.schema,
                    self._directory(),
                    self._uuid(args["id"], "id"),
                    p.user_id,
                    p.role,
                    "approved" if name == "approveTask" else "rejected",
                    args.get("comment"),
                    timezone=self.timezone,
                )
                if run_id:
                    self.started.append(run_id)
                return self.approval_json(approval_id)
            if name == "setAway":
                return self._away(args)
            if name == "backFromAway":
                if p.user_id is None:
                    return 0
                return absences.back(self.conn, self.schema, p.user_id, _now())
            if name == "recallApproval":
                approval_id = self._uuid(args["id"], "id")
                run_id = flow_approvals.recall(
                    self.conn,
                    self.model,
                    self.schema,
                    approval_id,
                    p.user_id,
                    p.tenant_admin,
                    args.get("comment"),
                )
                if run_id:
                    self.started.append(run_id)
                return self.approval_json(approval_id)
            # markNotificationsRead
            notes = self._t(NOTIFICATIONS)
            ids = [self._uuid(i, "ids") for i in args["ids"]]
            return self.conn.execute(
                update(notes)
                .where(notes.c.id.in_(ids), notes.c.user_id == p.user_id, notes.c.read_at.is_(None))
                .values(read_at=dt.datetime.now(dt.UTC))
            ).rowcount
        except flow_approvals.ApprovalError as exc:
            raise QueryError(str(exc), exc.code, field=[name]) from None

    def _start(self, args: dict[str, Any]) -> dict[str, Any]:
        p = self.principal
        w = self.model.automation.workflows.get(args["workflow"])
        if w is None or w.trigger.kind != "manual" or not w.active:
            raise QueryError(
                f"there is no active manual workflow {args['workflow']!r}",
                "NOT_FOUND",
                field=["workflow"],
            )
        if w.trigger.roles and not p.tenant_admin:
            allowed = set(w.trigger.roles)
            security = self.model.security
            # Listed roles and the roles above them (managers can do what reps can).
            if not p.role or not (
                p.role in allowed or any(p.role in security.ancestors(r) for r in allowed)
            ):
                raise QueryError(
                    f"your role may not start {w.name}; roles: {', '.join(w.trigger.roles)}",
                    "FORBIDDEN",
                )
        record_id = self._uuid(args["id"], "id")
        assert w.object is not None
        self._readable(w.object, record_id, edit=w.trigger.access == "edit")
        if w.trigger.condition or w.trigger.limit:
            shape = self.ctx.shape
            table = shape.table(w.object, self.schema, self.conn.dialect.name)
            record = read_record(self.conn, table, record_id, lock=True) or {}
            now = dt.datetime.now(dt.UTC)
            try:
                manual.judge(
                    self.conn,
                    shape,
                    self.schema,
                    p.tenant,
                    w,
                    record,
                    p.user_id,
                    lambda: p.role,
                    now,
                    self.ctx.today or now.date(),
                )
            except manual.Refused as exc:
                raise QueryError(
                    exc.messages["en"],
                    exc.code,
                    field=["id"],
                    zh=exc.messages.get("zh-CN"),
                    extra={"messages": exc.messages},
                ) from None
        run_id = create_run(
            self.conn,
            self.schema,
            workflow=w.name,
            cause="manual",
            dedupe=f"m:{uuid.uuid4()}",
            obj=w.object,
            record_id=record_id,
            actor=p.user_id,
        )
        assert run_id is not None
        self.started.append(run_id)
        runs = self._t(RUNS)
        return self.run_json(self.conn.execute(select(runs).where(runs.c.id == run_id)).one())
