"""Issue 18's rules end to end: the real HTTP API, a real Celery worker process on a
real broker, SQLite and PostgreSQL, and the worker's clock moved by the test
(TESSERA_CLOCK_FILE): nothing waits for wall time to pass, only for the worker to act
on the time it was given. The metadata is automation.yaml."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.workflows.conftest import record, wait_for

AUTOMATION = Path(__file__).with_name("automation.yaml")
UTC = dt.UTC
RUNS = "query($w: String) { workflowRuns(workflow: $w) { id status error recordId payload } }"


def set_clock(crm: Any, moment: dt.datetime) -> None:
    """Give the worker a new now (written whole, then renamed into place)."""
    path: Path = crm.clock_file
    part = path.with_suffix(".part")
    part.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(part, path)


def moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def near(text: str | None, expected: dt.datetime) -> bool:
    """The worker's clock runs on from the moment the test set (as a watch does), so a
    moment it stamps is that moment plus the seconds the work took."""
    found = moment(text)
    return found is not None and dt.timedelta(0) <= found - expected < dt.timedelta(minutes=1)


def runs(crm: Any, workflow: str) -> list[dict[str, Any]]:
    return crm.data("admin", RUNS, w=workflow)["workflowRuns"]


def lead(crm: Any, lead_id: str) -> dict[str, Any]:
    return record(
        crm, "lead", lead_id, "owner status pool assignedAt lastActivity previousOwner returnedAt"
    )


def started(flows: Any, broker: str, at: dt.datetime) -> Any:
    """A tenant on automation.yaml whose worker starts with its clock at ``at``."""
    crm, worker = flows(broker, start=False, metadata=AUTOMATION)
    set_clock(crm, at)
    worker.start()
    return crm, worker


@pytest.mark.parametrize("broker", ["redis"])
def test_a_follow_up_moves_its_lead_and_the_pool_reclaims_the_leads_without_one(flows, broker):
    t0 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    crm, _worker = started(flows, broker, t0)
    create = "mutation($n: String!) { createLead(input: {name: $n}) { id } }"
    a = crm.data("rep1", create, n="A")["createLead"]["id"]
    b = crm.data("rep1", create, n="B")["createLead"]["id"]
    wait_for(lambda: all(lead(crm, i)["assignedAt"] for i in (a, b)), what="assignment")
    assert near(lead(crm, a)["assignedAt"], t0)  # NOW() is the worker's clock
    set_clock(crm, t0 + dt.timedelta(days=2))
    crm.data(
        "rep1",
        'mutation($l: ID!) { createActivity(input: {subject: "call", leadId: $l}) { id } }',
        l=a,
    )
    wait_for(lambda: lead(crm, a)["status"] == "contacted", what="the follow-up's lead change")
    assert near(lead(crm, a)["lastActivity"], t0 + dt.timedelta(days=2))
    owner_a, owner_b = lead(crm, a)["owner"], lead(crm, b)["owner"]
    # Three days after assignment: B, never followed up, goes back to the pool; A was
    # followed up a day ago and stays.
    set_clock(crm, t0 + dt.timedelta(days=3, minutes=1))
    wait_for(lambda: lead(crm, b)["pool"] == "public", what="B reclaimed")
    reclaimed = lead(crm, b)
    assert reclaimed["owner"] is None and reclaimed["previousOwner"] == owner_b
    assert near(reclaimed["returnedAt"], t0 + dt.timedelta(days=3, minutes=1))
    assert lead(crm, a)["pool"] is None and lead(crm, a)["owner"] == owner_a
    set_clock(crm, t0 + dt.timedelta(days=5, minutes=1))
    wait_for(lambda: lead(crm, a)["pool"] == "public", what="A reclaimed after its own 3 days")
    assert sorted(r["recordId"] for r in runs(crm, "reclaim_idle")) == sorted([a, b])


@pytest.mark.parametrize("broker", ["rabbitmq"])
def test_a_claim_over_the_limit_is_refused_in_both_languages(flows, broker):
    crm, _worker = started(flows, broker, dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    pooled = [
        crm.data(
            "admin",
            'mutation($n: String!) { createLead(input: {name: $n, pool: "public"}) { id } }',
            n=f"P{i}",
        )["createLead"]["id"]
        for i in range(3)
    ]
    claim = 'mutation($id: ID!) { startWorkflow(workflow: "claim_lead", id: $id) { id status } }'
    for lead_id in pooled[:2]:
        crm.data("rep1", claim, id=lead_id)
    rep1 = crm.user_id("rep1")
    wait_for(lambda: all(lead(crm, i)["owner"] == rep1 for i in pooled[:2]), what="two claims done")
    refused = crm.gql("rep1", claim, id=pooled[2])
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "LIMIT_REACHED"
    assert error["extensions"]["messages"] == {
        "en": "You already hold 2 leads, the most a rep may hold",
        "zh-CN": "您已持有 2 条线索，已达上限",
    }
    assert lead(crm, pooled[2])["pool"] == "public"
    # A lead not in the pool cannot be claimed (rep2 is under the limit).
    taken = crm.gql("rep2", claim, id=pooled[0])
    assert taken["errors"][0]["extensions"]["code"] == "CONDITION_NOT_MET"
    assert "公海" in taken["errors"][0]["extensions"]["messages"]["zh-CN"]
    # Two claims of one lead at once (one request, so neither sees the other's effect)
    # both pass the first check; the worker judges them again under a lock, and only
    # one takes it.
    twice = (
        'mutation($id: ID!) { a: startWorkflow(workflow: "claim_lead", id: $id) { id } '
        'b: startWorkflow(workflow: "claim_lead", id: $id) { id } }'
    )
    crm.data("rep2", twice, id=pooled[2])
    wait_for(
        lambda: (
            sorted(r["status"] for r in runs(crm, "claim_lead")).count("queued") == 0
            and len(runs(crm, "claim_lead")) == 4
        ),
        what="both claims judged",
    )
    statuses = sorted(r["status"] for r in runs(crm, "claim_lead") if r["recordId"] == pooled[2])
    assert statuses == ["refused", "succeeded"]
    assert lead(crm, pooled[2])["owner"] == crm.user_id("rep2")
    # The refused run told its starter why, in both languages.
    [note] = crm.data("rep2", "{ notifications { message } }")["notifications"]
    assert note["message"]["zh-CN"].startswith("「领取」未执行：只能领取公海中的线索")


@pytest.mark.parametrize("broker", ["redis"])
def test_a_repeating_reminder_fires_exactly_three_times(flows, broker):
    t0 = dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    crm, _worker = started(flows, broker, t0)
    crm.data(
        "rep1",
        'mutation { createPayment(input: {name: "P-1", dueDate: "2027-03-02", status: "pending"}) { id } }',
    )
    notes = "{ notifications { message } }"

    def reminded() -> int:
        return len(crm.data("rep1", notes)["notifications"])

    for day, expected in ((2, 1), (4, 2), (6, 3)):
        set_clock(crm, t0 + dt.timedelta(days=day - 1, hours=1))
        wait_for(lambda e=expected: reminded() == e, what=f"reminder {expected}")
    # Days later the count stays at three: the maximum.
    set_clock(crm, t0 + dt.timedelta(days=12))
    wait_for(lambda: len(runs(crm, "payment_reminder")) == 3 and reminded() == 3, what="no more")
    occurrences = sorted(r["payload"]["occurrence"] for r in runs(crm, "payment_reminder"))
    assert occurrences == [1, 2, 3]
    assert crm.data("rep1", notes)["notifications"][0]["message"] == {
        "en": "P-1 is due",
        "zh-CN": "P-1 已到期",
    }


@pytest.mark.parametrize("broker", ["redis"])
def test_an_approval_escalates_after_two_working_days_across_a_holiday(flows, broker):
    friday = dt.datetime(2027, 4, 2, 10, 0, tzinfo=UTC)
    crm, _worker = started(flows, broker, friday)
    quote = crm.data(
        "rep1",
        'mutation { createQuote(input: {name: "Q", discount: 20, status: "draft"}) { id } }',
    )["createQuote"]["id"]
    crm.data(
        "rep1",
        'mutation($id: ID!) { updateQuote(id: $id, input: {status: "pending"}) { id } }',
        id=quote,
    )
    history = 'query($id: ID!) { approvals(objectName: "quote", recordId: $id) { status tasks { status userId role dueAt escalatedFrom } } }'

    def tasks() -> list[dict[str, Any]]:
        found = crm.data("rep1", history, id=quote)["approvals"]
        return found[0]["tasks"] if found else []

    wait_for(tasks, what="the approval")
    [first] = tasks()
    # Monday the 5th is a holiday: two working days from Friday 10:00 end Wednesday 10:00.
    assert near(first["dueAt"], dt.datetime(2027, 4, 7, 10, 0, tzinfo=UTC))
    assert first["userId"] == crm.user_id("mgr")
    set_clock(crm, dt.datetime(2027, 4, 6, 12, 0, tzinfo=UTC))  # two weekdays, one a holiday
    set_clock(crm, dt.datetime(2027, 4, 7, 10, 1, tzinfo=UTC))
    wait_for(lambda: len(tasks()) == 2, what="the escalation")
    escalated, director = tasks()
    assert escalated["status"] == "escalated"
    assert (director["role"], director["status"]) == ("director", "pending")
    assert director["escalatedFrom"] == crm.user_id("mgr")
    [task] = crm.data("dir", "{ approvalsInbox { id } }")["approvalsInbox"]
    crm.data("dir", "mutation($id: ID!) { approveTask(id: $id) { status } }", id=task["id"])
    # 20% needs no director step of its own: approved, and the outcome ran.
    wait_for(lambda: record(crm, "quote", quote, "status")["status"] == "approved", what="approved")


@pytest.mark.parametrize("broker", ["redis"])
def test_a_schedule_creates_one_task_per_key_account_once_per_period_across_restarts(flows, broker):
    monday = dt.datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    crm, worker = started(flows, broker, monday)
    for i, tier in enumerate(["key", "key", "key", "normal"]):
        crm.data(
            "admin",
            "mutation($n: String!, $t: String) { createAccount(input: {name: $n, tier: $t}) { id } }",
            n=f"A{i}",
            t=tier,
        )
    query = "{ tasks(first: 50) { nodes { subject } } }"

    def subjects() -> list[str]:
        return sorted(n["subject"] for n in crm.data("admin", query)["tasks"]["nodes"])

    def ticked(n: int) -> bool:
        """A payment due today was reminded: a tick ran its schedules, then its timers."""
        return len(runs(crm, "payment_reminder")) == n

    payment = 'mutation($n: String!) { createPayment(input: {name: $n, dueDate: "2027-03-01", status: "pending"}) { id } }'
    crm.data("admin", payment, n="tick 1")
    # The schedule starts counting at the worker's first tick (08:00).
    wait_for(lambda: ticked(1), what="a first tick")
    set_clock(crm, monday.replace(hour=9, minute=0, second=30))
    wait_for(lambda: len(subjects()) == 3, what="three reviews")
    # The worker (and its beat) is killed and started again within the same week.
    worker.kill()
    set_clock(crm, monday.replace(hour=15))
    crm.data("admin", payment, n="tick 2")
    worker.start()
    wait_for(lambda: ticked(2), timeout=40, what="a tick of the restarted worker")
    assert subjects() == ["Review A0", "Review A1", "Review A2"]
    set_clock(crm, monday + dt.timedelta(days=7, hours=1, minutes=1))
    wait_for(lambda: len(subjects()) == 6, what="next week's reviews")
    assert len(runs(crm, "weekly_review")) == 6


@pytest.mark.parametrize("broker", ["redis"])
def test_a_workflow_run_as_the_actor_writes_with_their_permissions(flows, broker):
    crm, _worker = started(flows, broker, dt.datetime(2027, 3, 1, 10, 0, tzinfo=UTC))
    territory = crm.data("admin", 'mutation { createTerritory(input: {name: "华东"}) { id } }')[
        "createTerritory"
    ]["id"]
    lead_id = crm.data(
        "admin",
        'mutation($t: ID!) { createLead(input: {name: "L", territoryId: $t, pool: "public"}) { id } }',
        t=territory,
    )["createLead"]["id"]
    rename = "mutation($id: ID!, $n: String!) { updateLead(id: $id, input: {name: $n}) { id } }"
    crm.data("rep1", rename, id=lead_id, n="by rep")
    dead = wait_for(
        lambda: [r for r in runs(crm, "note_territory") if r["status"] == "dead"],
        what="the rep's run refused",
    )
    assert "may not update Territory records (territory)" in dead[0]["error"]
    assert record(crm, "territory", territory, "touchedByLead")["touchedByLead"] is None
    crm.data("admin", rename, id=lead_id, n="by admin")
    wait_for(
        lambda: record(crm, "territory", territory, "touchedByLead")["touchedByLead"] == "by admin",
        what="the admin's run",
    )
