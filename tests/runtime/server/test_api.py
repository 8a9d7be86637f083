"""The admin REST API, end to end over HTTP (both backends)."""

from __future__ import annotations

import pytest

from tests.conftest import admin_client

PROBLEM = "application/problem+json"
ACCOUNT = {"fields": {"name": {"type": "text", "required": True, "label": "Name"}}}


@pytest.fixture
def client(service):
    with admin_client(service) as client:
        yield client


@pytest.fixture
def acme(client):
    assert (
        client.post("/api/tenants", json={"name": "acme", "timezone": "Asia/Shanghai"}).status_code
        == 201
    )
    return "/api/tenants/acme"


def test_health_reports_the_database(client, backend):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == backend.dialect


def test_openapi_docs_are_served(client):
    spec = client.get("/schema/openapi.json").json()
    assert spec["info"]["title"] == "Tessera admin API"
    assert "/api/tenants/{tenant}/metadata/plan" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # Per operation (runtime/server/openapi.py): sign-in needs no credential, the rest do.
    assert "security" not in spec
    assert spec["paths"]["/api/tenants/{tenant}/metadata/plan"]["post"]["security"] == [
        {"bearer": []}
    ]
    assert "security" not in spec["paths"]["/auth/login"]["post"]
    assert client.get("/schema/swagger").status_code == 200


def test_tenant_lifecycle(client, acme):
    assert [t["name"] for t in client.get("/api/tenants").json()] == ["acme"]
    fresh = client.post("/api/tenants", json={"name": "fresh"}).json()
    assert fresh["members"] == 0 and "/api/tenants/fresh/members/" in fresh["hint"]
    client.delete("/api/tenants/fresh?confirm=fresh")
    assert client.get(acme).json()["timezone"] == "Asia/Shanghai"
    duplicate = client.post("/api/tenants", json={"name": "acme"})
    assert duplicate.status_code == 409 and duplicate.headers["content-type"] == PROBLEM
    bad = client.post("/api/tenants", json={"name": "Bad Name"})
    assert bad.status_code == 422 and "pattern" in bad.json()["detail"]
    unconfirmed = client.delete(acme)
    assert unconfirmed.status_code == 400 and "confirm=acme" in unconfirmed.json()["detail"]
    assert client.delete(f"{acme}?confirm=acme").json() == {"deleted": "acme"}
    gone = client.get(acme)
    assert gone.status_code == 404 and gone.json()["type"].endswith("/tenant-not-found")


def test_plan_apply_and_history(client, acme, demo_document):
    plan = client.post(f"{acme}/metadata/plan", json={"metadata": demo_document}).json()
    sections = ("roles", "permission_sets", "sharing_rules")
    granted = sum(len(demo_document[section]) for section in sections)
    automated = len(demo_document["workflows"]) + len(demo_document["approvals"])
    assert [op["op"] for op in plan["operations"]] == ["create_object"] * 5 + [
        "change_permission"
    ] * granted + ["change_automation"] * automated
    assert "CREATE TABLE" in plan["operations"][0]["sql"] and plan["blockers"] == []
    assert client.get(f"{acme}/metadata").json()["version"] is None  # a dry run

    applied = client.post(
        f"{acme}/metadata/apply", json={"metadata": demo_document, "message": "demo"}
    ).json()
    assert applied["version"]["number"] == 1
    active = client.get(f"{acme}/metadata").json()
    assert active["version"] == 1 and set(active["metadata"]["objects"]) == {
        "account",
        "contact",
        "campaign",
        "campaign_member",
        "opportunity",
    }
    [version] = client.get(f"{acme}/metadata/versions").json()
    assert version["message"] == "demo" and version["active"]
    assert client.get(f"{acme}/metadata/versions/1").json()["metadata"] == active["metadata"]
    assert client.get(f"{acme}/metadata/versions/9").status_code == 404


def test_yaml_errors_come_back_with_lines_and_pointers(client, acme):
    text = (
        "objects:\n  account:\n    fields:\n      name: {type: txt}\n      select: {type: text}\n"
    )
    response = client.post(f"{acme}/metadata/apply", json={"metadata_yaml": text})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/invalid-metadata")
    assert problem["instance"] == "/api/tenants/acme/metadata/apply"
    assert [(e["pointer"], e["line"]) for e in problem["errors"]] == [
        ("/objects/account/fields/name/type", 4),
        ("/objects/account/fields/select", 5),
    ]


def test_request_shape_errors_are_problems(client, acme):
    neither = client.post(f"{acme}/metadata/plan", json={})
    assert neither.status_code == 400 and neither.headers["content-type"] == PROBLEM
    wrong = client.post(f"{acme}/metadata/plan", json={"metadata": "not an object"})
    assert wrong.status_code == 400 and wrong.headers["content-type"] == PROBLEM


def test_destructive_and_conflicting_changes_are_refused(client, acme):
    client.post(
        f"{acme}/metadata/apply", json={"metadata": {"objects": {"account": ACCOUNT, "lead": {}}}}
    )
    refused = client.post(
        f"{acme}/metadata/apply", json={"metadata": {"objects": {"account": ACCOUNT}}}
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("/change-refused")
    assert refused.json()["errors"][0]["pointer"] == "/objects/lead"
    stale = client.post(
        f"{acme}/metadata/apply",
        json={
            "metadata": {"objects": {"account": ACCOUNT}},
            "allow_destructive": True,
            "expected_version": 7,
        },
    )
    assert stale.status_code == 409 and stale.json()["type"].endswith("/version-conflict")
    ok = client.post(
        f"{acme}/metadata/apply",
        json={
            "metadata": {"objects": {"account": ACCOUNT}},
            "allow_destructive": True,
            "expected_version": 1,
        },
    )
    assert ok.json()["version"]["number"] == 2
    [archive] = client.get(f"{acme}/metadata/archives").json()
    assert archive["name"] == "_archive_v2__lead"
    assert client.delete(f"{acme}/metadata/archives/{archive['name']}").json() == {
        "purged": [archive["name"]]
    }
    assert client.get(f"{acme}/metadata/archives").json() == []


def test_object_and_field_endpoints(client, acme):
    objects = f"{acme}/metadata/objects"
    created = client.post(objects, json={"name": "account", "definition": ACCOUNT}).json()
    assert created["version"]["number"] == 1
    assert client.post(objects, json={"name": "account", "definition": {}}).status_code == 409

    fields = f"{objects}/account/fields"
    dry = client.post(
        fields, json={"name": "site", "definition": {"type": "url"}, "dry_run": True}
    ).json()
    assert dry["operations"][0]["op"] == "add_field" and "ADD COLUMN" in dry["operations"][0]["sql"]
    client.post(fields, json={"name": "site", "definition": {"type": "url", "label": "Site"}})
    assert client.get(f"{fields}/site").json()["type"] == "url"
    renamed = client.post(f"{fields}/site/rename", json={"to": "website"}).json()
    assert [op["op"] for op in renamed["operations"]] == ["rename_field"]
    changed = client.put(
        f"{fields}/website",
        json={"definition": {"type": "url", "label": "Site", "max_length": 4000}},
    ).json()
    assert changed["operations"][0]["changes"] == ["max_length"]
    refused = client.delete(f"{fields}/website")
    assert refused.status_code == 409
    assert (
        client.delete(f"{fields}/website?allow_destructive=true").json()["version"]["number"] == 5
    )
    assert [f["name"] for f in client.get(fields).json()] == ["name"]

    moved = client.post(f"{objects}/account/rename", json={"to": "customer"}).json()
    assert moved["operations"][0]["op"] == "rename_object"
    assert client.get(f"{objects}/account").status_code == 404
    assert client.get(f"{objects}/customer").json()["name"] == "customer"
    bad = client.post(
        fields.replace("account", "customer"),
        json={"name": "n", "definition": {"type": "decimal", "scale": 9, "precision": 4}},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["pointer"] == "/objects/customer/fields/n/scale"
    assert client.delete(f"{objects}/customer?allow_destructive=true").status_code == 200
    assert client.get(objects).json() == []


def test_data_conflicts_name_the_field(client, acme, service):
    client.post(
        f"{acme}/metadata/apply",
        json={
            "metadata": {
                "objects": {"account": {"fields": {"code": {"type": "text", "label": "C"}}}}
            }
        },
    )
    # Two accounts without a code: making it required must say so, not fail in the DDL.
    from runtime.storage.records import insert_records

    _, snapshot = service.active("acme")
    with service.backend.begin_tenant("acme") as conn:
        insert_records(
            conn, snapshot.model, "account", [{}, {}], schema=service.backend.schema("acme")
        )
    response = client.post(
        f"{acme}/metadata/apply",
        json={
            "metadata": {
                "objects": {
                    "account": {
                        "fields": {"code": {"type": "text", "label": "C", "required": True}}
                    }
                }
            }
        },
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"].endswith("/data-conflict")
    assert problem["errors"][0]["pointer"] == "/objects/account/fields/code"
    assert "2 account record(s)" in problem["errors"][0]["message"]
