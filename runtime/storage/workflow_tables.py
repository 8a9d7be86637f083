"""The tenant tables workflows keep their state in.

A run is the unit of work: one workflow started by one event, timer, schedule, person or
webhook. Its ``dedupe`` key is unique, so the same cause can never make two runs (a
dispatcher that crashes after creating runs but before marking the event makes the same
keys again and they are ignored). Each step's state is written in the same transaction
as the step's effect, which is what makes a retried run skip what already happened.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from runtime.storage.types import GUID, UTCDateTime

RUNS = "_tessera_runs"
STEPS = "_tessera_run_steps"
APPROVALS = "_tessera_approvals"
APPROVAL_TASKS = "_tessera_approval_tasks"
NOTIFICATIONS = "_tessera_notifications"
CURSORS = "_tessera_cursors"
ABSENCES = "_tessera_absences"

#: Run states. queued → running → succeeded | failed (will retry) → dead (gave up);
#: refused: a manual run whose condition or limit no longer held when it ran.
RUN_STATES = ("queued", "running", "succeeded", "failed", "dead", "refused")


def add_workflow_tables(metadata: MetaData) -> None:
    runs = Table(
        RUNS,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("workflow", String(63), nullable=False),
        Column("cause", String(16), nullable=False),
        Column("dedupe", String(200), nullable=False),
        Column("object", String(63)),
        Column("record_id", GUID),
        Column("event_id", BigInteger),
        Column("actor", GUID),
        Column("payload", Text, nullable=False),
        Column("depth", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("error", Text),
        Column("created_at", UTCDateTime, nullable=False),
        Column("started_at", UTCDateTime),
        Column("finished_at", UTCDateTime),
        Column("lease_until", UTCDateTime),
        Column("next_attempt_at", UTCDateTime),
        Column("request_id", String(64)),
        UniqueConstraint("dedupe", name="uq__tessera_runs__dedupe"),
    )
    # Workers claim the oldest queued run, and due retries by time.
    Index("ix__tessera_runs__queue", runs.c.status, runs.c.created_at)
    Index("ix__tessera_runs__status", runs.c.status, runs.c.next_attempt_at)
    Index("ix__tessera_runs__record", runs.c.record_id)
    Table(
        STEPS,
        metadata,
        Column("run_id", GUID, primary_key=True),
        Column("position", Integer, primary_key=True),
        Column("action", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("detail", Text),
        Column("error", Text),
        Column("finished_at", UTCDateTime),
    )
    approvals = Table(
        APPROVALS,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("process", String(63), nullable=False),
        Column("object", String(63), nullable=False),
        Column("record_id", GUID, nullable=False),
        Column("status", String(16), nullable=False),
        Column("step", Integer, nullable=False),
        Column("submitted_by", GUID),
        Column("comment", Text),
        Column("submitted_at", UTCDateTime, nullable=False),
        Column("decided_at", UTCDateTime),
        # The record's values when submitted (JSON), and for a resubmission what changed
        # since the last rejected submission ([{field, before, after}]), for the approver.
        Column("snapshot", Text),
        Column("changes", Text),
    )
    Index("ix__tessera_approvals__record", approvals.c.object, approvals.c.record_id)
    tasks = Table(
        APPROVAL_TASKS,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("approval_id", GUID, nullable=False),
        Column("step", Integer, nullable=False),
        Column("user_id", GUID),
        Column("role", String(63)),
        Column("status", String(16), nullable=False),
        Column("comment", Text),
        Column("decided_by", GUID),
        Column("created_at", UTCDateTime, nullable=False),
        Column("decided_at", UTCDateTime),
        # When the step's timeout passes for this task (null: it waits for ever).
        Column("due_at", UTCDateTime),
        # The approver this task was meant for, while they are away and it went to
        # their delegate; or whose task timed out into this one (escalated).
        Column("delegated_from", GUID),
        Column("escalated_from", GUID),
    )
    Index("ix__tessera_approval_tasks__approval", tasks.c.approval_id)
    Index("ix__tessera_approval_tasks__due", tasks.c.status, tasks.c.due_at)
    Index("ix__tessera_approval_tasks__user", tasks.c.user_id, tasks.c.status)
    notes = Table(
        NOTIFICATIONS,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("user_id", GUID, nullable=False),
        Column("object", String(63)),
        Column("record_id", GUID),
        Column("message", Text, nullable=False),
        Column("run_id", GUID),
        Column("created_at", UTCDateTime, nullable=False),
        Column("read_at", UTCDateTime),
    )
    Index("ix__tessera_notifications__user", notes.c.user_id, notes.c.created_at)
    # Members away for a period (leave, a trade fair): assignment skips them, and their
    # approval tasks go to their delegate, if they named one.
    absences = Table(
        ABSENCES,
        metadata,
        Column("id", GUID, primary_key=True),
        Column("user_id", GUID, nullable=False),
        Column("starts_at", UTCDateTime, nullable=False),
        Column("ends_at", UTCDateTime, nullable=False),
        Column("delegate_id", GUID),
        Column("created_at", UTCDateTime, nullable=False),
    )
    Index("ix__tessera_absences__user", absences.c.user_id, absences.c.ends_at)
    Table(
        CURSORS,
        metadata,
        Column("key", String(200), primary_key=True),
        Column("value", Text, nullable=False),
    )
