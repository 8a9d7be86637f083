"""`make demo`'s pack tenants: core_crm plus each industry pack, with sample records that
the demo users can query in GraphQL under the packs' permission sets (both backends)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from runtime.demo import PACK_DEMOS, set_up_demo, set_up_pack_demos
from runtime.server.app import create_app

PASSWORD = "tessera-demo-2026"

#: Per tenant: a query over its industry pack's objects and what the sample data holds.
QUERIES = {
    "demo_manufacturing": (
        "{ tenders { nodes { name status project { name account { name } } } } }",
        lambda data: (
            [
                (t["name"], t["status"], t["project"]["account"]["name"])
                for t in data["tenders"]["nodes"]
            ]
            == [("车辆段设备物联网平台采购", "preparing", "华信精密制造有限公司")]
        ),
    ),
    "demo_auto": (
        "{ vehicles(orderBy: {vin: ASC}) { nodes { vin stockStatus model { name } } } }",
        lambda data: (
            len(data["vehicles"]["nodes"]) == 4
            and {v["model"]["name"] for v in data["vehicles"]["nodes"]}
            == {"星途 L7 Pro", "星途 S5 纯电版"}
        ),
    ),
    "demo_education": (
        "{ enrollments { nodes { lessonsRemaining learner { name guardian { name } } } } }",
        lambda data: (
            [
                (e["lessonsRemaining"], e["learner"]["name"], e["learner"]["guardian"]["name"])
                for e in data["enrollments"]["nodes"]
            ]
            == [(4, "吴小雨", "吴静")]
        ),
    ),
}


def test_pack_demo_tenants_answer_graphql(service):
    app = create_app(service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        set_up_demo(service, identity=identity)
        summary = set_up_pack_demos(service, identity=identity)
        assert summary.count("Installed core_crm and") == len(PACK_DEMOS)
        # A second run leaves them alone.
        assert set_up_pack_demos(service, identity=identity).count("already has") == 3

        def gql(who: str, tenant: str, query: str) -> dict[str, Any]:
            token = client.post(
                "/auth/login",
                json={"email": f"{who}@demo.tessera.dev", "password": PASSWORD, "tenant": tenant},
            ).json()["access_token"]
            body = client.post(
                f"/t/{tenant}/graphql",
                json={"query": query},
                headers={"authorization": f"Bearer {token}"},
            ).json()
            assert "errors" not in body, body
            return body["data"]

        for tenant, _, _ in PACK_DEMOS:
            query, expected = QUERIES[tenant]
            assert expected(gql("admin", tenant, query)), (tenant, gql("admin", tenant, query))
            # core_crm's records are there too, and the sales rep sees only their subtree.
            everyone = gql("admin", tenant, "{ accounts { nodes { name } } }")
            mine = gql("rep", tenant, "{ accounts { nodes { name } } }")
            assert len(everyone["accounts"]["nodes"]) == 5
            assert {a["name"] for a in mine["accounts"]["nodes"]} == {
                "华信精密制造有限公司",
                "华信精密（无锡）分公司",
            }
