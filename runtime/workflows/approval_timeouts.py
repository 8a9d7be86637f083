"""Approval steps that waited too long: escalated, approved or rejected by the clock.

A step with a ``timeout`` gives its tasks a ``due_at`` when it opens (a duration, or
working days by the tenant's calendar, so a task opened before a holiday waits over
it). Each beat tick looks for pending tasks past it. ``escalate`` marks them escalated
and gives the step to the approvers' managers (a role task to the role above it) or to
the named approver; ``approve`` and ``reject`` decide for them. Each approval moves in
one transaction, with its row locked as a decision locks it, so an approver deciding at
the same moment either wins or finds the task already escalated.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, select, update

from metadata.automation import ApprovalProcess
from metadata.model import Model
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import APPROVAL_TASKS, APPROVALS
from runtime.workflows.approvals import (
    ApprovalError,
    At,
    _manager_of,
    _record,
    _settle,
    add_tasks,
    step_done,
)
from runtime.workflows.directory import Directory


def overdue_approvals(
    conn: Connection, schema: str | None, now: dt.datetime, limit: int
) -> list[Any]:
    """Ids of approvals with a pending task past its due moment, oldest first."""
    tasks = system_table(schema, APPROVAL_TASKS)
    rows = conn.execute(
        select(tasks.c.approval_id, tasks.c.due_at)
        .where(tasks.c.status == "pending", tasks.c.due_at <= now)
        .order_by(tasks.c.due_at)
        .limit(limit)
    ).all()
    return list(dict.fromkeys(r.approval_id for r in rows))


def time_out(
    conn: Connection,
    model: Model,
    schema: str | None,
    directory: Directory,
    approval_id: Any,
    when: At,
) -> tuple[str, Any]:
    """Apply the current step's timeout to ``approval_id``'s overdue tasks; return what
    happened (escalated, approved, rejected or nothing) and the outcome run, if any."""
    approvals, tasks = system_table(schema, APPROVALS), system_table(schema, APPROVAL_TASKS)
    approval = conn.execute(
        select(approvals).where(approvals.c.id == approval_id).with_for_update()
    ).first()
    if approval is None or approval.status != "pending":
        return "nothing", None
    process = model.automation.approvals.get(approval.process)
    if process is None or approval.step >= len(process.steps):
        return "nothing", None
    step = process.steps[approval.step]
    overdue = conn.execute(
        select(tasks).where(
            tasks.c.approval_id == approval.id,
            tasks.c.step == approval.step,
            tasks.c.status == "pending",
            tasks.c.due_at <= when.now,
        )
    ).all()
    if not overdue or step.timeout is None:
        return "nothing", None
    then = step.timeout.then
    ids = [t.id for t in overdue]
    note = f"timed out after {_length(step.timeout)}"
    if then == "reject":
        _mark(conn, tasks, ids, "rejected", note, when.now)
        return "rejected", _settle(conn, schema, process, approval, "rejected", None)
    if then == "approve":
        _mark(conn, tasks, ids, "approved", note, when.now)
        left = conn.execute(
            select(tasks.c.id).where(
                tasks.c.approval_id == approval.id,
                tasks.c.step == approval.step,
                tasks.c.status == "pending",
            )
        ).first()
        if step.mode == "all" and left is not None:
            return "approved", None
        run = step_done(conn, model, schema, directory, process, approval, None, when)
        return "approved", run
    _mark(conn, tasks, ids, "escalated", note, when.now)
    record = _record(conn, model, schema, process.object, approval.record_id)
    if record is None:
        return "nothing", None
    successors = [_successor(model, directory, process, step.name, t, record) for t in overdue]
    add_tasks(
        conn,
        schema,
        directory,
        process,
        approval.id,
        approval.step,
        record["id"],
        successors,
        when,
        None,
    )
    return "escalated", None


def _length(timeout: Any) -> str:
    return f"{timeout.workdays} working days" if timeout.workdays is not None else timeout.after


def _mark(
    conn: Connection, tasks: Any, ids: list[Any], status: str, note: str, now: dt.datetime
) -> None:
    conn.execute(
        update(tasks).where(tasks.c.id.in_(ids)).values(status=status, comment=note, decided_at=now)
    )


def _successor(
    model: Model,
    directory: Directory,
    process: ApprovalProcess,
    step: str,
    task: Any,
    record: dict[str, Any],
) -> dict[str, Any]:
    """Who takes over an escalated task: the named approver, or the approver's manager
    (for a role's task, the role it reports to)."""
    timeout = process.steps[[s.name for s in process.steps].index(step)].timeout
    assert timeout is not None
    base = {"escalated_from": task.user_id}
    to = timeout.to
    if to is not None and to.user:
        return {**base, "user_id": directory.by_email(to.user).user.id}
    if to is not None and to.role:
        return {**base, "role": to.role}
    if task.user_id is None:
        role = model.security.roles.get(task.role or "")
        if role is None or not role.reports_to:
            raise ApprovalError(
                f"role {task.role} reports to no role to escalate to", "NO_APPROVER"
            )
        return {**base, "role": role.reports_to}
    # The approver's own manager: the one they report to, else the role above theirs.
    approver = directory.by_id(task.user_id)
    stand_in = {"id": record["id"], "owner": approver.user.id if approver else None}
    boss = _manager_of(model, directory, step, process.object, stand_in)
    return {**base, "user_id": boss.user.id}
