"""Workflows where several workers, or several people, touch the same row at once.

One-request-at-a-time tests never see these: a burst of triggered increments on one
record with a four-thread worker, two approvers of an "all" step deciding in the same
instant, and approvals routed to the manager of the owner's own team.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.runtime.workflows.conftest import PASSWORD, record, wait_for
from tests.runtime.workflows.test_end_to_end import runs_of, succeeded


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


LOG_MANY = "mutation($i: [ActivityCreateInput!]!) { createActivities(inputs: $i) { id } }"


@pytest.mark.parametrize(("broker", "processes"), [("redis", 1), ("rabbitmq", 2)])
def test_a_burst_of_triggered_increments_on_one_record_adds_up_exactly(flows, broker, processes):
    """Twenty activities logged on one lead in one request: twenty runs, on a worker
    with four threads (and, in the second case, in two processes: `--processes 2`), each
    adding to the lead's score. A plain read then an absolute write lost most of them (a
    score of 70 instead of 200 was seen)."""
    crm, worker = flows(broker, concurrency=4, processes=processes)
    if processes > 1:
        assert worker.process is not None
        wait_for(lambda: len(_children(worker.process.pid)) >= 2, what="two worker processes")
    lead = crm.data("rep1", 'mutation { createLead(input: {name: "Busy"}) { id } }')["createLead"][
        "id"
    ]
    kinds = ["visit", "call"] * 10  # 10 x 20 + 10 x 5
    crm.data(
        "rep1",
        LOG_MANY,
        i=[{"subject": f"a{n}", "leadId": lead, "kind": k} for n, k in enumerate(kinds)],
    )
    wait_for(lambda: succeeded(crm, "score_activity", 20), timeout=60, what="twenty score runs")
    assert record(crm, "lead", lead, "score")["score"] == 250
    # The chained workflow saw the score cross 25 exactly once.
    wait_for(lambda: succeeded(crm, "tag_hot_leads"), what="hot tag run")
    assert record(crm, "lead", lead, "tags")["tags"] == ["hot"]
    assert len(runs_of(crm, "tag_hot_leads")) == 1


def test_approval_goes_to_the_manager_of_the_owners_own_team(flows):
    """Two teams under one manager role: each rep's approval reaches their own manager
    only. With no manager set and two members in the role above, the submission is
    refused with the fix, rather than sent to both."""
    crm, _worker = flows("redis", start=False)
    identity = crm.app.state.identity
    mgr2 = f"mgr2.{crm.tenant}@example.com"
    identity.create_user(mgr2, PASSWORD)
    identity.set_membership(crm.tenant, mgr2, role="manager")
    crm.tokens["mgr2"] = identity.login(mgr2, PASSWORD, crm.tenant)["access_token"]
    submit = 'mutation($id: ID!) { submitForApproval(process: "quote_discount", id: $id) { id } }'
    quote = 'mutation($n: String!) { createQuote(input: {name: $n, discount: "20"}) { id } }'
    q1 = crm.data("rep1", quote, n="East")["createQuote"]["id"]
    refused = crm.gql("rep1", submit, id=q1)
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "NO_APPROVER"
    assert "has no manager set" in error["message"] and "--manager" in error["message"]
    identity.set_membership(crm.tenant, crm.users["rep1"], role="rep", manager=crm.users["mgr"])
    identity.set_membership(crm.tenant, crm.users["rep2"], role="rep", manager=mgr2)
    crm.data("rep1", submit, id=q1)
    q2 = crm.data("rep2", quote, n="West")["createQuote"]["id"]
    crm.data("rep2", submit, id=q2)
    inbox = "{ approvalsInbox { approval { recordId } } }"
    assert [t["approval"]["recordId"] for t in crm.data("mgr", inbox)["approvalsInbox"]] == [q1]
    assert [t["approval"]["recordId"] for t in crm.data("mgr2", inbox)["approvalsInbox"]] == [q2]


def test_two_approvers_of_an_all_step_deciding_at_once_settle_it(flows):
    crm, _worker = flows("redis", start=False)
    submit = 'mutation($id: ID!) { submitForApproval(process: "quote_board", id: $id) { id } }'
    inbox = "{ approvalsInbox { id approval { recordId } } }"
    for n in range(3):  # a race is a matter of timing: try it a few times
        q = crm.data(
            "rep1",
            'mutation($n: String!) { createQuote(input: {name: $n, discount: "50"}) { id } }',
            n=f"q{n}",
        )["createQuote"]["id"]
        approval = crm.data("rep1", submit, id=q)["submitForApproval"]["id"]
        tasks = {
            who: next(
                t["id"]
                for t in crm.data(who, inbox)["approvalsInbox"]
                if t["approval"]["recordId"] == q
            )
            for who in ("mgr", "dir")
        }
        errors = _decide_at_once(crm, tasks)
        assert errors == []
        [state] = crm.data(
            "admin",
            'query($id: ID!) { approvals(objectName: "quote", recordId: $id) { id status } }',
            id=q,
        )["approvals"]
        assert state == {"id": approval, "status": "approved"}


def _decide_at_once(crm, tasks: dict[str, str]) -> list[object]:
    """Approve each person's task from their own thread, released together."""
    barrier = threading.Barrier(len(tasks))
    errors: list[object] = []

    def decide(who: str) -> None:
        barrier.wait()
        body = crm.gql(who, "mutation($id: ID!) { approveTask(id: $id) { status } }", id=tasks[who])
        if "errors" in body:
            errors.append(body["errors"])

    threads = [threading.Thread(target=decide, args=(w,)) for w in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_inbound_webhooks_check_standard_webhooks_signatures(flows, monkeypatch):
    """Inbound hooks take what outbound hooks send: webhook-id, -timestamp and
    -signature. A wrong signature, an old timestamp or a missing id is refused; one
    delivery retried starts one run."""
    import json as _json
    import time

    from runtime.workflows.delivery import sign
    from tests.runtime.workflows.conftest import HOOK_SECRET

    monkeypatch.setenv("TESSERA_HOOK_SECRET_TEST", HOOK_SECRET)
    crm, _worker = flows("redis", start=False)
    lead = crm.data("rep1", 'mutation { createLead(input: {name: "Partner"}) { id } }')[
        "createLead"
    ]["id"]
    url = f"/t/{crm.tenant}/hooks/partner_touch"
    body = _json.dumps({"id": lead, "data": {"source": "partner"}}).encode()

    def send(msg_id: str | None, stamp: int, signature: str | None = None) -> int:
        headers = {"content-type": "application/json", "webhook-timestamp": str(stamp)}
        if msg_id is not None:
            headers["webhook-id"] = msg_id
            headers["webhook-signature"] = signature or sign(HOOK_SECRET, msg_id, str(stamp), body)
        return crm.client.post(url, content=body, headers=headers).status_code

    now = int(time.time())
    assert send("d1", now, "v1,AAAA") == 401
    assert send("d1", now - 3600) == 401  # outside the replay window
    assert send(None, now) == 401
    assert send("d1", now) == 202
    assert send("d1", now) == 202  # the same delivery again
    assert len(runs_of(crm, "partner_touch")) == 1
