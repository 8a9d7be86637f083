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
from typing import Any

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
) -> uuid.UUID:
    """Start an approval of a record; return its id."""
    process = model.automation.approvals.get(process_name)
    if process is None:
        raise ApprovalError(f"there is no approval process {process_name!r}", "NOT_FOUND")
    record = _record(conn, model, schema, process.object, record_id)
    if record is None:
        raise ApprovalError(f"no {process.object} has id {record_id}", "NOT_FOUND")
    if process.entry:
        typed = check(process.entry, model, process.object, expect=BOOLEAN)
        if evaluate(typed, Scope(record=record, today=today)) is not True:
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
            submitted_at=_now(),
        )
    )
    _open_step(conn, model, schema, directory, process, approval_id, 0, record)
    return approval_id


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
) -> None:
    step = process.steps[index]
    tasks: list[dict[str, Any]] = []
    told: list[Any] = []
    for approver in step.approvers:
        if approver.user:
            member = directory.by_email(approver.user)
            tasks.append({"user_id": member.user.id})
            told.append(member.user.id)
        elif approver.role:
            tasks.append({"role": approver.role})
            told += [m.user.id for m in directory.in_role(approver.role)]
        else:
            manager = _manager_of(model, directory, step.name, process.object, record)
            tasks.append({"user_id": manager.user.id})
            told.append(manager.user.id)
    now = _now()
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
                "created_at": now,
            }
            for t in tasks
        ],
    )
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
) -> tuple[uuid.UUID, uuid.UUID | None]:
    """Approve or reject a task as ``user_id``; return the approval's id and the id of
    the outcome run if the approval is now settled."""
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
    now = _now()
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(status=decision, comment=comment, decided_by=user_id, decided_at=now)
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
    _cancel_pending(conn, schema, approval.id)
    if approval.step + 1 < len(process.steps):
        conn.execute(
            update(approvals).where(approvals.c.id == approval.id).values(step=approval.step + 1)
        )
        record = _record(conn, model, schema, process.object, approval.record_id)
        if record is None:
            raise ApprovalError(f"{process.object} {approval.record_id} was deleted", "CONFLICT")
        _open_step(conn, model, schema, directory, process, approval.id, approval.step + 1, record)
        return approval.id, None
    return approval.id, _settle(conn, schema, process, approval, "approved", user_id)


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
