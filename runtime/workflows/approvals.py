"""Approval processes: submit, decide (approve or reject), recall.

An approval moves through its process's steps one after another. Each step makes one task
per approver: a named user, a role (any member decides that task) or the owner's manager
(each member of the role the owner's role reports to). In an ``any`` step the first
decision settles the step; in an ``all`` step (parallel approval) every task must be
approved. A rejection ends the approval. The outcome's actions run as a workflow run
created in the deciding transaction, so they happen exactly when the decision commits.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update

from metadata.automation import ApprovalProcess
from metadata.expressions import check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from runtime.expressions.evaluate import Scope, evaluate
from runtime.storage.ids import new_id
from runtime.storage.records import read_record
from runtime.storage.tables import build_table, system_table
from runtime.storage.workflow_tables import APPROVAL_TASKS, APPROVALS, NOTIFICATIONS
from runtime.workflows.absences import away
from runtime.workflows.directory import Directory
from runtime.workflows.runs import create_run


class ApprovalError(Exception):
    """A submission or decision that is refused; ``code`` is the GraphQL error code."""

    def __init__(self, message: str, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.code = code


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _record(conn: Connection, model: Model, schema: str | None, obj: str, record_id: Any) -> Any:
    table = build_table(model, obj, schema=schema, dialect=conn.dialect.name)
    return read_record(conn, table, record_id)


def submit(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    process_name: str,
    record_id: Any,
    submitter: Any,
    *,
    comment: str | None,
    today: dt.date,
    now: dt.datetime | None = None,
    timezone: str = "UTC",
) -> uuid.UUID:
    """Start an approval of a record; return its id. A record rejected (or recalled)
    before may be submitted again: the approvers see what changed since."""
    when = At(now or _now(), ZoneInfo(timezone), today)
    process = model.automation.approvals.get(process_name)
    if process is None:
        raise ApprovalError(f"there is no approval process {process_name!r}", "NOT_FOUND")
    record = _record(conn, model, schema, process.object, record_id)
    if record is None:
        raise ApprovalError(f"no {process.object} has id {record_id}", "NOT_FOUND")
    if process.entry:
        typed = check(process.entry, model, process.object, expect=BOOLEAN, engine=True)
        if evaluate(typed, when.scope(model, record)) is not True:
            raise ApprovalError(
                f"{process.object} {record_id} does not meet the entry condition of "
                f"{process_name}: {process.entry}",
                "APPROVAL_NOT_NEEDED",
            )
    approvals = system_table(schema, APPROVALS)
    pending = conn.execute(
        select(approvals.c.id).where(
            approvals.c.object == process.object,
            approvals.c.record_id == record_id,
            approvals.c.status == "pending",
        )
    ).first()
    if pending is not None:
        raise ApprovalError(
            f"{process.object} {record_id} already has a pending approval ({pending.id})",
            "APPROVAL_PENDING",
        )
    snapshot = snapshot_of(model, process.object, record)
    previous = conn.execute(
        select(approvals.c.snapshot)
        .where(
            approvals.c.process == process_name,
            approvals.c.object == process.object,
            approvals.c.record_id == record_id,
            approvals.c.status.in_(("rejected", "recalled")),
        )
        .order_by(approvals.c.submitted_at.desc())
        .limit(1)
    ).scalar()
    changes = changes_between(json.loads(previous), snapshot) if previous else None
    approval_id = new_id()
    conn.execute(
        insert(approvals).values(
            id=approval_id,
            process=process_name,
            object=process.object,
            record_id=record_id,
            status="pending",
            step=0,
            submitted_by=submitter,
            comment=comment,
            submitted_at=when.now,
            snapshot=json.dumps(snapshot, ensure_ascii=False),
            changes=json.dumps(changes, ensure_ascii=False) if changes is not None else None,
        )
    )
    if not open_next(conn, model, schema, directory, process, approval_id, 0, record, when):
        # No step applies to this record: approved as submitted.
        row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).one()
        _settle(conn, schema, process, row, "approved", submitter)
    return approval_id


@dataclass(frozen=True)
class At:
    """When an approval moves, where the tenant is: for step conditions, timeouts and
    absences."""

    now: dt.datetime
    tz: dt.tzinfo
    today: dt.date

    def scope(self, model: Model, record: dict[str, Any]) -> Scope:
        return Scope(
            record=record, today=self.today, now=self.now, calendar=model.automation.calendar
        )


def snapshot_of(model: Model, obj: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record's own fields as JSON values (what the approver is asked about)."""
    out = {}
    for name, f in model.objects[obj].fields.items():
        if f.computed or name not in record:
            continue
        value = record[name]
        if isinstance(value, Decimal):
            value = format(value.normalize(), "f")
        elif isinstance(value, uuid.UUID | dt.date | dt.datetime):
            value = str(value) if isinstance(value, uuid.UUID) else value.isoformat()
        out[name] = value
    return out


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """[{field, before, after}] for each field whose value differs."""
    return [
        {"field": name, "before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def open_next(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    process: ApprovalProcess,
    approval_id: Any,
    index: int,
    record: dict[str, Any],
    when: At,
) -> bool:
    """Open the first step from ``index`` whose condition the record meets (moving the
    approval to it); return False if none is left."""
    for i in range(index, len(process.steps)):
        step = process.steps[i]
        if step.when:
            typed = check(step.when, model, process.object, expect=BOOLEAN, engine=True)
            if evaluate(typed, when.scope(model, record)) is not True:
                continue
        approvals = system_table(schema, APPROVALS)
        conn.execute(update(approvals).where(approvals.c.id == approval_id).values(step=i))
        _open_step(conn, model, schema, directory, process, approval_id, i, record, when)
        return True
    return False


def _manager_of(
    model: Model, directory: Directory, step: str, obj: str, record: dict[str, Any]
) -> Any:
    """Return the record owner's own manager: the member they report to, or else the
    one member of the role above theirs. Several members in that role (two teams under
    one manager role) is refused rather than guessed: each would see every rep's
    approvals."""
    owner = directory.by_id(record.get("owner"))
    where = f"step {step} goes to the owner's manager, but the owner of {obj} {record['id']}"
    if owner is None:
        raise ApprovalError(f"{where} is not a member", "NO_APPROVER")
    if owner.manager_id is not None:
        boss = directory.by_id(owner.manager_id)
        if boss is None or not boss.user.active:
            raise ApprovalError(
                f"{where} ({owner.user.email}) reports to someone who is no longer an active "
                "member",
                "NO_APPROVER",
            )
        return boss
    role = model.security.roles.get(owner.role) if owner.role else None
    managers = directory.in_role(role.reports_to) if role and role.reports_to else []
    if len(managers) == 1:
        return managers[0]
    if not managers:
        raise ApprovalError(f"{where} ({owner.user.email}) has none", "NO_APPROVER")
    names = ", ".join(m.user.email for m in managers)
    raise ApprovalError(
        f"{where} ({owner.user.email}) has no manager set, and role "
        f"{role.reports_to if role else ''} has {len(managers)} members ({names}); set who "
        f"they report to: tessera user grant TENANT {owner.user.email} --manager EMAIL",
        "NO_APPROVER",
    )


def _open_step(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    process: ApprovalProcess,
    approval_id: uuid.UUID,
    index: int,
    record: dict[str, Any],
    when: At,
) -> None:
    step = process.steps[index]
    tasks: list[dict[str, Any]] = []
    for approver in step.approvers:
        if approver.user:
            tasks.append({"user_id": directory.by_email(approver.user).user.id})
        elif approver.role:
            tasks.append({"role": approver.role})
        else:
            manager = _manager_of(model, directory, step.name, process.object, record)
            tasks.append({"user_id": manager.user.id})
    due = step.timeout.due(when.now, model.automation.calendar, when.tz) if step.timeout else None
    add_tasks(conn, schema, directory, process, approval_id, index, record["id"], tasks, when, due)


def add_tasks(
    conn: Connection,
    schema: str | None,
    directory: Directory,
    process: ApprovalProcess,
    approval_id: Any,
    index: int,
    record_id: Any,
    tasks: list[dict[str, Any]],
    when: At,
    due: dt.datetime | None,
) -> None:
    """Insert a step's tasks (a user's goes to their delegate while they are away) and
    tell the approvers."""
    covering = away(conn, schema, when.now)
    told: list[Any] = []
    for t in tasks:
        user = t.get("user_id")
        if user is not None and covering.get(str(user)) is not None:
            t["delegated_from"], t["user_id"] = user, covering[str(user)]
        if t.get("user_id") is not None:
            told.append(t["user_id"])
        else:
            told += [m.user.id for m in directory.in_role(t["role"])]
    conn.execute(
        insert(system_table(schema, APPROVAL_TASKS)),
        [
            {
                "id": new_id(),
                "approval_id": approval_id,
                "step": index,
                "user_id": t.get("user_id"),
                "role": t.get("role"),
                "status": "pending",
                "created_at": when.now,
                "due_at": due,
                "delegated_from": t.get("delegated_from"),
                "escalated_from": t.get("escalated_from"),
            }
            for t in tasks
        ],
    )
    step = process.steps[index]
    record = {"id": record_id}
    label = process.label.to_json()
    message = {
        lang: f"{text}: {step.label.get(lang)} — {process.object} {record['id']}"
        for lang, text in {
            "en": f"Approval needed ({label.get('en', process.name)})",
            "zh-CN": f"待审批（{label.get('zh-CN', label.get('en', process.name))}）",
        }.items()
    }
    _notify(conn, schema, sorted(set(told), key=str), process.object, record["id"], message)


def _notify(
    conn: Connection,
    schema: str | None,
    users: list[Any],
    obj: str,
    record_id: Any,
    message: dict[str, str],
) -> None:
    if users:
        conn.execute(
            insert(system_table(schema, NOTIFICATIONS)),
            [
                {
                    "id": new_id(),
                    "user_id": u,
                    "object": obj,
                    "record_id": record_id,
                    "message": json.dumps(message, ensure_ascii=False),
                    "created_at": _now(),
                }
                for u in users
            ],
        )


def decide(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    task_id: Any,
    user_id: Any,
    role: str | None,
    decision: str,
    comment: str | None,
    now: dt.datetime | None = None,
    timezone: str = "UTC",
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Approve or reject a task as ``user_id``; return the approval's id and the id of
    the outcome run if the approval is now settled."""
    moment = now or _now()
    when = At(moment, ZoneInfo(timezone), moment.astimezone(ZoneInfo(timezone)).date())
    tasks = system_table(schema, APPROVAL_TASKS)
    approvals = system_table(schema, APPROVALS)
    # Lock the approval first, then the task (the order recall uses too): two approvers
    # of an "all" step deciding at once must not each see the other still pending and
    # leave the approval stuck.
    approval_id = conn.execute(select(tasks.c.approval_id).where(tasks.c.id == task_id)).scalar()
    if approval_id is not None:
        conn.execute(select(approvals.c.id).where(approvals.c.id == approval_id).with_for_update())
    task = conn.execute(select(tasks).where(tasks.c.id == task_id).with_for_update()).first()
    if task is None or not (
        (task.user_id is not None and str(task.user_id) == str(user_id))
        or (task.role is not None and task.role == role)
    ):
        raise ApprovalError(f"you have no approval task {task_id}", "NOT_FOUND")
    if task.status != "pending":
        raise ApprovalError(f"approval task {task_id} is already {task.status}", "CONFLICT")
    approval = conn.execute(select(approvals).where(approvals.c.id == task.approval_id)).first()
    assert approval is not None
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(status=decision, comment=comment, decided_by=user_id, decided_at=moment)
    )
    process = model.automation.approvals.get(approval.process)
    if process is None:
        raise ApprovalError(f"approval process {approval.process} no longer exists", "CONFLICT")
    step = process.steps[approval.step]
    siblings = conn.execute(
        select(tasks.c.status).where(
            tasks.c.approval_id == approval.id, tasks.c.step == approval.step
        )
    ).all()
    if decision == "rejected":
        return approval.id, _settle(conn, schema, process, approval, "rejected", user_id)
    if step.mode == "all" and any(s.status == "pending" for s in siblings):
        return approval.id, None
    return approval.id, step_done(conn, model, schema, directory, process, approval, user_id, when)


def step_done(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    process: ApprovalProcess,
    approval: Any,
    user_id: Any,
    when: At,
) -> uuid.UUID | None:
    """The current step is approved: open the next step that applies, or settle the
    approval as approved; return the outcome run, if any."""
    _cancel_pending(conn, schema, approval.id)
    record = _record(conn, model, schema, process.object, approval.record_id)
    if record is None:
        raise ApprovalError(f"{process.object} {approval.record_id} was deleted", "CONFLICT")
    if open_next(
        conn, model, schema, directory, process, approval.id, approval.step + 1, record, when
    ):
        return None
    return _settle(conn, schema, process, approval, "approved", user_id)


def recall(
    conn: Connection,
    model: Model,
    schema: str | None,
    approval_id: Any,
    user_id: Any,
    admin: bool,
    comment: str | None,
) -> uuid.UUID | None:
    """Withdraw a pending approval (its submitter or a tenant admin); return the run of
    the recall actions, if any."""
    approvals = system_table(schema, APPROVALS)
    approval = conn.execute(
        select(approvals).where(approvals.c.id == approval_id).with_for_update()
    ).first()
    if approval is None:
        raise ApprovalError(f"there is no approval {approval_id}", "NOT_FOUND")
    if not admin and str(approval.submitted_by) != str(user_id):
        raise ApprovalError("only the submitter or a tenant admin can recall", "FORBIDDEN")
    if approval.status != "pending":
        raise ApprovalError(f"approval {approval_id} is already {approval.status}", "CONFLICT")
    process = model.automation.approvals.get(approval.process)
    if comment:
        conn.execute(update(approvals).where(approvals.c.id == approval.id).values(comment=comment))
    if process is None:
        _cancel_pending(conn, schema, approval.id)
        conn.execute(
            update(approvals).where(approvals.c.id == approval.id).values(status="recalled")
        )
        return None
    return _settle(conn, schema, process, approval, "recalled", user_id)


def _cancel_pending(conn: Connection, schema: str | None, approval_id: Any) -> None:
    tasks = system_table(schema, APPROVAL_TASKS)
    conn.execute(
        update(tasks)
        .where(tasks.c.approval_id == approval_id, tasks.c.status == "pending")
        .values(status="cancelled", decided_at=_now())
    )


def _settle(
    conn: Connection,
    schema: str | None,
    process: ApprovalProcess,
    approval: Any,
    outcome: str,
    user_id: Any,
) -> uuid.UUID | None:
    approvals = system_table(schema, APPROVALS)
    _cancel_pending(conn, schema, approval.id)
    conn.execute(
        update(approvals)
        .where(approvals.c.id == approval.id)
        .values(status=outcome, decided_at=_now())
    )
    words = {"approved": "批准", "rejected": "驳回", "recalled": "撤回"}
    if approval.submitted_by is not None and str(approval.submitted_by) != str(user_id):
        _notify(
            conn,
            schema,
            [approval.submitted_by],
            process.object,
            approval.record_id,
            {
                "en": f"{process.label.get('en')}: {outcome} — {process.object} "
                f"{approval.record_id}",
                "zh-CN": f"{process.label.get('zh-CN')}：已{words[outcome]} — "
                f"{process.object} {approval.record_id}",
            },
        )
    if not process.outcome_actions(outcome):
        return None
    return create_run(
        conn,
        schema,
        workflow=f"approval:{process.name}:{outcome}",
        cause="approval",
        dedupe=f"a:{approval.id}:{outcome}",
        obj=process.object,
        record_id=approval.record_id,
        actor=user_id,
        payload={"approval": str(approval.id), "outcome": outcome},
    )
