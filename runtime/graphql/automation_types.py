"""The GraphQL types of automation roots: runs and their steps, approvals and their
tasks, notifications and absences (resolved in runtime/graphql/automation.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from runtime.graphql.scalars import JSONScalar


def _nn(t: Any) -> Any:
    return GraphQLNonNull(t)


def iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


STEP = GraphQLObjectType(
    "WorkflowStep",
    {
        "position": GraphQLField(_nn(GraphQLInt)),
        "action": GraphQLField(_nn(GraphQLString)),
        "status": GraphQLField(_nn(GraphQLString), description="done, skipped or failed"),
        "attempts": GraphQLField(_nn(GraphQLInt)),
        "detail": GraphQLField(JSONScalar, description="What the step did."),
        "error": GraphQLField(GraphQLString),
        "finishedAt": GraphQLField(GraphQLString),
    },
    description="One action of a run, as far as it got.",
)
RUN = GraphQLObjectType(
    "WorkflowRun",
    {
        "id": GraphQLField(_nn(GraphQLID)),
        "workflow": GraphQLField(_nn(GraphQLString)),
        "cause": GraphQLField(
            _nn(GraphQLString), description="record, time, schedule, manual, webhook, approval"
        ),
        "status": GraphQLField(
            _nn(GraphQLString),
            description="queued, running, succeeded, failed (will retry), dead, or refused (a "
            "manual run whose condition or limit no longer held)",
        ),
        "attempts": GraphQLField(_nn(GraphQLInt)),
        "error": GraphQLField(GraphQLString),
        "objectName": GraphQLField(GraphQLString),
        "recordId": GraphQLField(GraphQLID),
        "payload": GraphQLField(JSONScalar),
        "createdAt": GraphQLField(GraphQLString),
        "startedAt": GraphQLField(GraphQLString),
        "finishedAt": GraphQLField(GraphQLString),
        "nextAttemptAt": GraphQLField(GraphQLString),
        "steps": GraphQLField(_nn(GraphQLList(_nn(STEP)))),
    },
    description="One execution of a workflow (or of an approval outcome's actions).",
)
TASK = GraphQLObjectType(
    "ApprovalTask",
    lambda: {
        "id": GraphQLField(_nn(GraphQLID)),
        "step": GraphQLField(_nn(GraphQLInt)),
        "userId": GraphQLField(GraphQLID),
        "role": GraphQLField(GraphQLString),
        "status": GraphQLField(
            _nn(GraphQLString),
            description="pending, approved, rejected, cancelled or escalated (timed out)",
        ),
        "comment": GraphQLField(GraphQLString),
        "decidedBy": GraphQLField(GraphQLID),
        "decidedAt": GraphQLField(GraphQLString),
        "dueAt": GraphQLField(GraphQLString, description="When the step's timeout passes."),
        "delegatedFrom": GraphQLField(
            GraphQLID, description="The approver who was away; this task went to their delegate."
        ),
        "escalatedFrom": GraphQLField(
            GraphQLID, description="Whose task timed out and was escalated into this one."
        ),
        "approval": GraphQLField(APPROVAL),
    },
)
APPROVAL: GraphQLObjectType = GraphQLObjectType(
    "Approval",
    lambda: {
        "id": GraphQLField(_nn(GraphQLID)),
        "process": GraphQLField(_nn(GraphQLString)),
        "label": GraphQLField(JSONScalar, description="The process's label, {en, zh-CN}."),
        "objectName": GraphQLField(_nn(GraphQLString)),
        "recordId": GraphQLField(_nn(GraphQLID)),
        "status": GraphQLField(
            _nn(GraphQLString), description="pending, approved, rejected or recalled"
        ),
        "step": GraphQLField(_nn(GraphQLInt)),
        "stepName": GraphQLField(GraphQLString),
        "submittedBy": GraphQLField(GraphQLID),
        "comment": GraphQLField(GraphQLString),
        "submittedAt": GraphQLField(GraphQLString),
        "decidedAt": GraphQLField(GraphQLString),
        "tasks": GraphQLField(_nn(GraphQLList(_nn(TASK)))),
        "changes": GraphQLField(
            JSONScalar,
            description="A resubmission: [{field, before, after}] since the last rejected or "
            "recalled submission.",
        ),
    },
)
NOTIFICATION = GraphQLObjectType(
    "Notification",
    {
        "id": GraphQLField(_nn(GraphQLID)),
        "message": GraphQLField(_nn(JSONScalar), description="{en, zh-CN}"),
        "objectName": GraphQLField(GraphQLString),
        "recordId": GraphQLField(GraphQLID),
        "createdAt": GraphQLField(GraphQLString),
        "readAt": GraphQLField(GraphQLString),
    },
)

ABSENCE = GraphQLObjectType(
    "Absence",
    {
        "id": GraphQLField(_nn(GraphQLID)),
        "from": GraphQLField(_nn(GraphQLString)),
        "until": GraphQLField(_nn(GraphQLString)),
        "delegateId": GraphQLField(GraphQLID, description="Who decides your approvals meanwhile."),
    },
    description="A period you are away: assignment skips you, and approvals go to your delegate.",
)
