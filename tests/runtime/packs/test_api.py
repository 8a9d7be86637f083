"""The pack endpoints of the admin API, on both backends."""

from __future__ import annotations

from pathlib import Path

from metadata.packs.catalog import Catalog
from runtime.server.app import create_app
from tests.conftest import ADMIN_PASSWORD

PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"


def signed_in(service):
    from litestar.testing import TestClient

    app = create_app(service=service, catalog=Catalog(PACKS))
    client = TestClient(app)
    client.__enter__()
    identity = app.state.identity
    identity.create_user("packs-admin@example.com", ADMIN_PASSWORD, platform_admin=True)
    token = identity.login("packs-admin@example.com", ADMIN_PASSWORD, None)["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_install_upgrade_uninstall_through_the_api(service):
    service.create_tenant("shop", "Shop")
    client = signed_in(service)
    try:
        listing = client.get("/api/tenants/shop/apps").json()
        assert [(p["name"], p["status"]) for p in listing] == [
            ("acme_fleet", "available"),
            ("base", "available"),
        ]

        plan = client.post(
            "/api/tenants/shop/apps/install",
            json={"packs": ["acme_fleet"], "dry_run": True, "sample_data": True},
        )
        assert plan.status_code == 200, plan.text
        body = plan.json()
        assert body["applied"] is False
        assert [p["name"] for p in body["packs"]] == ["base", "acme_fleet"]
        assert any("CREATE TABLE" in op["sql"] for op in body["operations"])
        assert body["blockers"] == []
        assert client.get("/api/tenants/shop/apps/installed").json() == []

        done = client.post(
            "/api/tenants/shop/apps/install", json={"packs": ["acme_fleet"], "sample_data": True}
        )
        assert done.status_code == 200, done.text
        assert done.json()["effects"]["sample_data"]["acme_fleet"] == {"acme_vehicle": 1}
        installed = client.get("/api/tenants/shop/apps/installed").json()
        assert {(p["name"], p["version"], p["status"]) for p in installed} == {
            ("base", "1.0.0", "installed"),
            ("acme_fleet", "2.0.0", "installed"),
        }

        # A dependency cannot go first; the problem says which pack needs it.
        refused = client.post("/api/tenants/shop/apps/base/uninstall", json={})
        assert refused.status_code == 409
        assert refused.json()["problems"] == [
            "acme_fleet 2.0.0 depends on base ^1.0; uninstall acme_fleet first"
        ]

        gone = client.post("/api/tenants/shop/apps/acme_fleet/uninstall", json={})
        assert gone.status_code == 200, gone.text
        statuses = {p["name"]: p["status"] for p in client.get("/api/tenants/shop/apps").json()}
        assert statuses == {"acme_fleet": "uninstalled", "base": "installed"}

        # Paths are not pack names: the API only installs from its catalog.
        sneaky = client.post("/api/tenants/shop/apps/install", json={"packs": ["/etc"]})
        assert sneaky.status_code == 404
        assert sneaky.json()["type"].endswith("pack-not-found")
    finally:
        client.__exit__(None, None, None)
