"""The packs' workflows run, not only validate: core_crm's round-robin assignment, line
totals and discount approval in a demo pack tenant (both backends; the engine runs
in-process, as the worker does on each wake-up)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar.testing import TestClient

from runtime.demo import set_up_demo, set_up_pack_demos
from runtime.model.active import ActiveModels
from runtime.server.app import create_app
from runtime.settings import WorkflowSettings
from runtime.workflows.engine import Engine

PASSWORD = "tessera-demo-2026"
TENANT = "demo_manufacturing"


def test_core_crm_workflows_assign_total_and_approve(service):
    app = create_app(service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        set_up_demo(service, identity=identity)
        set_up_pack_demos(service, identity=identity)
        engine = Engine(
            service,
            ActiveModels(service),
            identity,
            WorkflowSettings(broker_url="memory://"),
            lambda tenant, countdown: None,
        )
        tokens = {
            who: client.post(
                "/auth/login",
                json={"email": f"{who}@demo.tessera.dev", "password": PASSWORD, "tenant": TENANT},
            ).json()["access_token"]
            for who in ("admin", "rep", "manager", "director")
        }

        def gql(who: str, query: str, **variables: Any) -> dict[str, Any]:
            body = client.post(
                f"/t/{TENANT}/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {tokens[who]}"},
            ).json()
            assert "errors" not in body, body
            return body["data"]

        def drain() -> None:
            engine.dispatch(TENANT)
            engine.work(TENANT)

        rep_id = str(identity.user("rep@demo.tessera.dev").id)

        # A new lead outside the pool goes round-robin to a sales rep (the only one).
        made = gql(
            "admin",
            'mutation { createLead(input: {name: "钱进", company: "锐通科技"}) { id } }',
        )
        drain()
        lead = gql(
            "admin",
            "query($id: ID!) { lead(id: $id) { status owner assignedAt } }",
            id=made["createLead"]["id"],
        )["lead"]
        assert lead["status"] == "assigned" and lead["owner"] == rep_id and lead["assignedAt"]
        lead_id = made["createLead"]["id"]

        def lead_now() -> dict[str, Any]:
            return gql(
                "admin",
                "query($id: ID!) { lead(id: $id) { status owner pool lastActivity "
                "previousOwner } }",
                id=lead_id,
            )["lead"]

        # A call logged on the lead keeps its last follow-up time and makes it contacted.
        gql(
            "rep",
            'mutation($l: ID!) { createActivity(input: {subject: "首次电话", kind: "call", '
            'relatedTo: {object: "lead", id: $l}}) { id } }',
            l=lead_id,
        )
        drain()
        drain()  # the lead's own change runs lead_contacted
        touched = lead_now()
        assert touched["lastActivity"] and touched["status"] == "contacted"
        # The rep returns it to the public pool (公海); reclaiming it within 7 days is
        # refused in both languages; a manager assigns it from the pool instead.
        start = "mutation($w: String!, $id: ID!) { startWorkflow(workflow: $w, id: $id) { id } }"
        gql("rep", start, w="return_lead", id=lead_id)
        drain()
        returned = lead_now()
        assert (returned["pool"], returned["owner"], returned["status"]) == ("public", None, "new")
        assert returned["previousOwner"] == rep_id
        refused = client.post(
            f"/t/{TENANT}/graphql",
            json={"query": start, "variables": {"w": "claim_lead", "id": lead_id}},
            headers={"authorization": f"Bearer {tokens['rep']}"},
        ).json()["errors"][0]["extensions"]
        assert refused["code"] == "CONDITION_NOT_MET"
        assert "7 天内不能再次领取" in refused["messages"]["zh-CN"]
        # Absences: bad input is refused at its argument; a valid one names the delegate.
        away = (
            "mutation($f: String!, $u: String!, $d: String) { "
            "setAway(from: $f, until: $u, delegate: $d) { from until delegateId } }"
        )

        def refused_away(**variables: Any) -> dict[str, Any]:
            body = client.post(
                f"/t/{TENANT}/graphql",
                json={"query": away, "variables": variables},
                headers={"authorization": f"Bearer {tokens['rep']}"},
            ).json()
            return body["errors"][0]

        no_zone = refused_away(f="2027-04-01T09:00:00", u="2027-04-08T09:00:00+08:00")
        assert no_zone["message"].startswith("from: '2027-04-01T09:00:00' has no time zone")
        backwards = refused_away(f="2027-04-08T09:00:00+08:00", u="2027-04-01T09:00:00+08:00")
        assert backwards["message"] == "until: it must be after from"
        stranger = refused_away(
            f="2027-04-01T09:00:00+08:00", u="2027-04-08T09:00:00+08:00", d="nobody@x.cn"
        )
        assert stranger["message"].startswith("delegate: 'nobody@x.cn' is not another active")
        manager_id = str(identity.user("manager@demo.tessera.dev").id)
        made_away = gql(
            "rep",
            away,
            f="2027-04-01T09:00:00+08:00",
            u="2027-04-08T09:00:00+08:00",
            d="manager@demo.tessera.dev",
        )["setAway"]
        assert made_away == {
            "from": "2027-04-01T01:00:00.000000Z",
            "until": "2027-04-08T01:00:00.000000Z",
            "delegateId": manager_id,
        }
        assert len(gql("rep", "{ myAbsences { from } }")["myAbsences"]) == 1
        assert gql("rep", "mutation { backFromAway }")["backFromAway"] == 1
        gql("manager", start, w="assign_from_pool", id=lead_id)
        drain()
        assigned = lead_now()
        assert (assigned["pool"], assigned["owner"], assigned["status"]) == (
            None,
            rep_id,
            "assigned",
        )

        # Quote lines get their total before they are stored; the quote sums them.
        quote = gql("rep", '{ quotes(filter: {name: {eq: "华信 MES 二期报价"}}) { nodes { id } } }')
        quote_id = quote["quotes"]["nodes"][0]["id"]
        product = gql("rep", '{ products(filter: {code: {eq: "HW-IOT-02"}}) { nodes { id } } }')
        line = gql(
            "rep",
            "mutation($q: ID!, $p: ID!) { createQuoteLine(input: {quoteId: $q, productId: $p, "
            'quantity: "3", unitPrice: "6500"}) { lineTotal } }',
            q=quote_id,
            p=product["products"]["nodes"][0]["id"],
        )
        assert line["createQuoteLine"]["lineTotal"] == "19500.00"

        # Sending it for approval (12% discount) goes to the rep's manager; the director's
        # step applies above 25% only, so the manager's approval marks it approved.
        gql(
            "rep",
            'mutation($id: ID!) { updateQuote(id: $id, input: {status: "draft"}) { id } }',
            id=quote_id,
        )
        gql(
            "rep",
            'mutation($id: ID!) { updateQuote(id: $id, input: {status: "pending"}) { id } }',
            id=quote_id,
        )
        drain()
        [task] = gql("manager", "{ approvalsInbox { id approval { process recordId } } }")[
            "approvalsInbox"
        ]
        assert task["approval"] == {"process": "quote_discount", "recordId": quote_id}
        gql("manager", "mutation($id: ID!) { approveTask(id: $id) { status } }", id=task["id"])
        drain()
        assert gql("director", "{ approvalsInbox { id } }")["approvalsInbox"] == []
        status = gql("rep", "query($id: ID!) { quote(id: $id) { status } }", id=quote_id)
        assert status["quote"]["status"] == "approved"

        # A return visit (回访) after a ticket closes: a task due in two working days for
        # the ticket's owner, on its account, and a notification telling them.
        [ticket] = gql(
            "admin", '{ tickets(filter: {subject: {eq: "MES 终端无法登录"}}) { nodes { id } } }'
        )["tickets"]["nodes"]
        gql(
            "admin",
            'mutation($id: ID!) { updateTicket(id: $id, input: {status: "closed"}) { id } }',
            id=ticket["id"],
        )
        drain()
        visits = gql(
            "rep",
            "query($id: ID!) { tasks(filter: {ticketId: {eq: $id}}) "
            "{ nodes { subject dueDate owner accountId } } }",
            id=ticket["id"],
        )["tasks"]["nodes"]
        assert len(visits) == 1 and visits[0]["subject"].startswith("回访 Return visit")
        assert visits[0]["owner"] == rep_id and visits[0]["accountId"]
        assert visits[0]["dueDate"] > dt.date.today().isoformat()
        told = gql("rep", "{ notifications(first: 5) { message } }")["notifications"]
        assert any("回访客户" in n["message"]["zh-CN"] for n in told), told
