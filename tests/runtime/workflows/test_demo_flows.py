"""The demo CRM's workflows do what the README says, on SQLite and PostgreSQL.

The engine runs in-process here (dispatch, then drain), which is what the worker `make
demo` starts does on each wake-up; the end-to-end tests cover the worker and brokers.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from runtime.demo import DEMO_TENANT, set_up_demo
from runtime.model.active import ActiveModels
from runtime.server.app import create_app
from runtime.settings import WorkflowSettings
from runtime.workflows.engine import Engine

PASSWORD = "tessera-demo-2026"


def test_demo_workflows_announce_wins_and_review_big_deals(service):
    app = create_app(service=service)
    with TestClient(app) as client:
        set_up_demo(service, identity=app.state.identity)
        engine = Engine(
            service,
            ActiveModels(service),
            app.state.identity,
            WorkflowSettings(broker_url="memory://"),
            lambda tenant, countdown: None,
        )
        tokens = {}
        for who in ("admin", "rep", "manager", "director"):
            answer = client.post(
                "/auth/login",
                json={"email": f"{who}@demo.tessera.dev", "password": PASSWORD, "tenant": "demo"},
            )
            tokens[who] = answer.json()["access_token"]

        def gql(who: str, query: str, **variables: Any) -> dict[str, Any]:
            body = client.post(
                f"/t/{DEMO_TENANT}/graphql",
                json={"query": query, "variables": variables},
                headers={"authorization": f"Bearer {tokens[who]}"},
            ).json()
            return body

        def drain() -> None:
            engine.dispatch(DEMO_TENANT)
            engine.work(DEMO_TENANT)

        deals = gql("admin", "{ opportunities(first: 50) { nodes { id name stage } } }")
        by_name = {d["name"]: d for d in deals["data"]["opportunities"]["nodes"]}

        # A won deal: probability goes to 100 and the director hears of it.
        won = by_name["苏州工厂自动化改造"]["id"]
        changed = gql(
            "admin",
            'mutation($id: ID!) { updateOpportunity(id: $id, input: {stage: "closed_won"}) '
            "{ id } }",
            id=won,
        )
        assert "errors" not in changed, changed
        drain()
        deal = gql("admin", "query($id: ID!) { opportunity(id: $id) { probability } }", id=won)
        assert deal["data"]["opportunity"]["probability"] == "100.00"  # percent: a decimal
        news = gql("director", "{ notifications { message objectName recordId } }")
        assert news["data"]["notifications"] == [
            {
                "message": {
                    "en": "Won: 苏州工厂自动化改造 (780000)",
                    "zh-CN": "赢单：苏州工厂自动化改造（780000）",
                },
                "objectName": "opportunity",
                "recordId": won,
            }
        ]

        # A big deal reaching negotiation goes to the rep's manager, locked meanwhile.
        big = by_name["MES 系统二期"]["id"]
        moved = gql(
            "rep",
            'mutation($id: ID!) { updateOpportunity(id: $id, input: {stage: "negotiation"}) '
            "{ id } }",
            id=big,
        )
        assert "errors" not in moved, moved
        drain()
        inbox = gql("manager", "{ approvalsInbox { id status approval { process recordId } } }")
        [task] = inbox["data"]["approvalsInbox"]
        assert task["status"] == "pending"
        assert task["approval"] == {"process": "big_deal", "recordId": big}
        locked = gql(
            "rep",
            'mutation($id: ID!) { updateOpportunity(id: $id, input: {name: "MES phase 2"}) '
            "{ id } }",
            id=big,
        )
        assert locked["errors"][0]["extensions"]["code"] == "RECORD_LOCKED"
        # The manager rejects: the deal goes back to proposal and the rep is told.
        rejected = gql(
            "manager",
            'mutation($id: ID!) { rejectTask(id: $id, comment: "price first") { status } }',
            id=task["id"],
        )
        assert "errors" not in rejected, rejected
        drain()
        deal = gql("rep", "query($id: ID!) { opportunity(id: $id) { stage } }", id=big)
        assert deal["data"]["opportunity"]["stage"] == "proposal"
        told = gql("rep", "{ notifications { message } }")
        assert {"en": "MES 系统二期 was sent back", "zh-CN": "MES 系统二期 被退回"} in [
            n["message"] for n in told["data"]["notifications"]
        ]
