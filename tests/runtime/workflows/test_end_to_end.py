"""Workflows end to end: real HTTP API, a real Celery worker process and a real broker,
on SQLite and on PostgreSQL. These are the issue's four scenarios."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.runtime.workflows.conftest import record, wait_for

RUNS = "query($w: String) { workflowRuns(workflow: $w) { id status error steps { action status detail } } }"


def runs_of(crm, workflow):
    return crm.data("admin", RUNS, w=workflow)["workflowRuns"]


def succeeded(crm, workflow, count=1):
    runs = runs_of(crm, workflow)
    done = [r for r in runs if r["status"] == "succeeded"]
    return runs if len(done) >= count else None


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_lead_is_assigned_round_robin_then_returns_to_the_pool(flows, broker):
    crm, _worker = flows(broker)
    ids = [
        crm.data(
            "rep1",
            "mutation($n: String!) { createLead(input: {name: $n}) { id score } }",
            n=f"Lead {i}",
        )["createLead"]
        for i in range(3)
    ]
    # Before-save: the score was set inside the write itself.
    assert [i["score"] for i in ids] == [0, 0, 0]
    wait_for(lambda: succeeded(crm, "assign_new_leads", 3), what="three assignments")
    owners = [record(crm, "lead", i["id"], "owner status assignedAt")["owner"] for i in ids]
    rep1, rep2 = crm.user_id("rep1"), crm.user_id("rep2")
    # Round-robin over the rep role: runs go in parallel, so which lead comes first may
    # vary, but the turns go rep1, rep2, rep1.
    assert sorted(owners) == sorted([rep1, rep2, rep1])
    first = record(crm, "lead", ids[0]["id"], "status assignedAt pool")
    assert first["status"] == "assigned" and first["assignedAt"] and first["pool"] is None
    # The owner got an in-app notification in both languages.
    notes = crm.data("rep2", "{ notifications { message recordId } }")["notifications"]
    [mine] = [i for i, owner in zip(ids, owners, strict=True) if owner == rep2]
    name = f"Lead {ids.index(mine)}"
    assert notes == [
        {"message": {"en": f"New lead: {name}", "zh-CN": f"新线索：{name}"}, "recordId": mine["id"]}
    ]
    # Lead 0 is followed up by its owner; the others are not, and go back to the pool.
    follow = ids[0]["id"]
    owner0 = owners[0]
    crm.data(
        "rep1",
        'mutation($id: ID!) { updateLead(id: $id, input: {status: "contacted"}) { id } }',
        id=follow,
    )
    wait_for(lambda: succeeded(crm, "reclaim_idle_leads", 2), timeout=40, what="two reclaims")
    pooled = [record(crm, "lead", i["id"], "owner pool status") for i in ids]
    assert pooled[0] == {"owner": owner0, "pool": None, "status": "contacted"}
    assert pooled[1] == pooled[2] == {"owner": None, "pool": "public", "status": "new"}
    assert len(runs_of(crm, "reclaim_idle_leads")) == 2  # fired once per lead, not per tick


@pytest.mark.parametrize("broker", ["redis"])
def test_quote_over_the_discount_threshold_needs_two_approvals_and_is_locked(flows, broker):
    crm, _worker = flows(broker)
    quote = crm.data(
        "rep1", 'mutation { createQuote(input: {name: "Big deal", discount: "20"}) { id } }'
    )["createQuote"]["id"]
    small = crm.data(
        "rep1", 'mutation { createQuote(input: {name: "Small", discount: "5"}) { id } }'
    )["createQuote"]["id"]
    wait_for(lambda: succeeded(crm, "quote_needs_approval"), what="approval started")
    assert record(crm, "quote", quote, "status")["status"] == "pending"
    assert record(crm, "quote", small, "status")["status"] is None  # under the threshold
    # Locked while pending: the rep cannot change it.
    body = crm.gql(
        "rep1", 'mutation($id: ID!) { updateQuote(id: $id, input: {name: "x"}) { id } }', id=quote
    )
    assert body["errors"][0]["extensions"]["code"] == "RECORD_LOCKED"
    # Step 1 goes to the owner's manager; the director has nothing yet.
    assert crm.data("dir", "{ approvalsInbox { id } }")["approvalsInbox"] == []
    [task] = crm.data("mgr", "{ approvalsInbox { id approval { process stepName recordId } } }")[
        "approvalsInbox"
    ]
    assert task["approval"] == {
        "process": "quote_discount",
        "stepName": "manager",
        "recordId": quote,
    }
    # Someone else cannot decide the manager's task.
    denied = crm.gql("rep2", "mutation($id: ID!) { approveTask(id: $id) { id } }", id=task["id"])
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    approved = crm.data(
        "mgr",
        'mutation($id: ID!) { approveTask(id: $id, comment: "ok") { status stepName } }',
        id=task["id"],
    )["approveTask"]
    assert approved == {"status": "pending", "stepName": "director"}
    still = crm.gql(
        "rep1", 'mutation($id: ID!) { updateQuote(id: $id, input: {name: "x"}) { id } }', id=quote
    )
    assert still["errors"][0]["extensions"]["code"] == "RECORD_LOCKED"
    [task2] = crm.data("dir", "{ approvalsInbox { id } }")["approvalsInbox"]
    final = crm.data(
        "dir",
        'mutation($id: ID!) { approveTask(id: $id, comment: "fine") { status tasks { status comment } } }',
        id=task2["id"],
    )["approveTask"]
    assert final["status"] == "approved"
    assert [t["comment"] for t in final["tasks"]] == ["ok", "fine"]
    wait_for(
        lambda: record(crm, "quote", quote, "status")["status"] == "approved",
        what="outcome actions",
    )
    # Unlocked once approved.
    crm.data(
        "rep1",
        'mutation($id: ID!) { updateQuote(id: $id, input: {name: "Big deal v2"}) { id } }',
        id=quote,
    )
    # The submitter heard of the outcome.
    notes = crm.data("rep1", "{ notifications { message } }")["notifications"]
    assert any("approved" in n["message"]["en"] for n in notes)


@pytest.mark.parametrize("broker", ["embedded"])
def test_contract_end_date_reminder_on_the_embedded_broker(flows, broker):
    crm, _worker = flows(broker)
    today = dt.date.today()
    end = str(today + dt.timedelta(days=29))
    soon = crm.data(
        "rep1",
        'mutation($d: Date) { createContract(input: {name: "Soon", endDate: $d}) { id } }',
        d=end,
    )["createContract"]["id"]
    crm.data(
        "rep1",
        'mutation($d: Date) { createContract(input: {name: "Later", endDate: $d}) { id } }',
        d=str(today + dt.timedelta(days=90)),
    )
    runs = wait_for(lambda: succeeded(crm, "contract_reminder"), timeout=40, what="reminder")
    assert len(runs) == 1
    notes = crm.data("rep1", "{ notifications { message recordId } }")["notifications"]
    assert {
        "message": {"en": f"Soon ends on {end}", "zh-CN": f"Soon 将于 {end} 到期"},
        "recordId": soon,
    } in notes
    [mail] = list(crm.mail_dir.glob("*.eml"))
    text = mail.read_text()
    assert "Subject: Contract Soon ends soon" in text and crm.users["rep1"] in text
    tasks = crm.data("rep1", "{ tasks { nodes { subject dueDate contract { id } } } }")["tasks"][
        "nodes"
    ]
    assert tasks == [
        {
            "subject": "Renew Soon",
            "dueDate": str(today + dt.timedelta(days=22)),
            "contract": {"id": soon},
        }
    ]


@pytest.mark.parametrize("broker", ["redis"])
def test_lead_score_rises_with_logged_activities(flows, broker):
    crm, _worker = flows(broker)
    lead = crm.data("rep1", 'mutation { createLead(input: {name: "Scored"}) { id } }')[
        "createLead"
    ]["id"]
    log = 'mutation($l: ID!, $k: String) { createActivity(input: {subject: "x", leadId: $l, kind: $k}) { id } }'
    for kind in ("call", "visit"):
        crm.data("rep1", log, l=lead, k=kind)
    wait_for(lambda: record(crm, "lead", lead, "score")["score"] == 25, what="score 25")
    # Crossing 25 tagged it hot (a workflow triggered by another workflow's write).
    wait_for(lambda: record(crm, "lead", lead, "tags")["tags"] == ["hot"], what="hot tag")
    crm.data("rep1", log, l=lead, k="call")
    wait_for(lambda: record(crm, "lead", lead, "score")["score"] == 30, what="score 30")
    time.sleep(1.5)
    assert record(crm, "lead", lead, "tags")["tags"] == ["hot"]
    assert len(runs_of(crm, "tag_hot_leads")) == 1  # the condition says "crossed 25"
    assert len(runs_of(crm, "score_activity")) == 3
