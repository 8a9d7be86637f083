"""The engine: one statement per root field, caches, introspection and the HTTP endpoint."""

from __future__ import annotations

import threading
import time

import pytest
import uvicorn
from gql import Client, gql
from gql.transport.httpx import HTTPXTransport
from graphql import build_client_schema, get_introspection_query, print_schema

from metadata.validation import validate_text
from runtime.demo import DEMO_DIR
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.server.app import create_app
from tests.conftest import ADMIN_PASSWORD, admin_client

NESTED = """{
  accounts(first: 3, orderBy: [{name: ASC}]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      name
      parent { name parent { name } }
      contacts(first: 2, filter: {email: {isNull: false}}) {
        lastName
        account { name subsidiaries { name } }
        campaigns { name members { lastName } }
      }
      opportunities(orderBy: [{amount: DESC}]) { name }
    } }
  }
}"""


def test_a_nested_query_is_one_statement_per_root_field(api):
    statements = api.statements(NESTED)
    assert len(statements) == 1
    two_roots = NESTED.replace("{\n  accounts", "{\n  c: contacts { totalCount }\n  accounts", 1)
    assert len(api.statements(two_roots)) == 2
    aggregate = "{ opportunitiesAggregate(groupBy: [{field: stage}]) { key { stage } count } }"
    assert len(api.statements(aggregate)) == 1
    search = '{ search(text: "华信") { record { ... on Account { contacts { lastName } } } } }'
    assert len(api.statements(search)) == 1


def test_values_are_bound_parameters_never_sql_text(api):
    hostile = "x'); DROP TABLE account; --"
    [statement] = api.statements(
        "query($v: String) { accounts(filter: {name: {eq: $v}}) { totalCount } }", {"v": hostile}
    )
    assert hostile not in statement
    assert api("{ accounts { totalCount } }")["accounts"]["totalCount"] == 5


def test_schemas_are_shared_by_content_hash_and_refreshed_after_apply(api, service):
    demo_document = (DEMO_DIR / "metadata.yaml").read_text(encoding="utf-8")
    cache = api.apis.cache
    api("{ accounts { totalCount } }")
    service.create_tenant("twin")
    service.apply("twin", validate_text(demo_document))
    twin = ActiveApis(service, cache)
    assert twin.get("twin")[0] is api.apis.get("demo")[0]
    assert cache.builds == 1
    changed = demo_document.replace(
        "      employees:\n", "      tier:\n        type: text\n      employees:\n", 1
    )
    assert changed != demo_document
    service.apply("demo", validate_text(changed))
    data = api("{ accounts(filter: {tier: {isNull: true}}) { nodes { tier } } }")
    assert data["accounts"]["nodes"][0] == {"tier": None}
    assert cache.builds == 2
    assert twin.get("twin")[0] is not api.apis.get("demo")[0]


def test_another_process_sees_an_apply_and_a_deletion_within_the_recheck(service):
    """Two TenantServices on one database stand for two server processes: the one that
    applies does not tell the other, which must find out from the registry itself."""
    from metadata.registry.store import TenantNotFound
    from runtime.tenants import TenantService

    v1 = "objects:\n  lead:\n    fields:\n      name: {type: text}\n"
    v2 = v1 + "      score: {type: integer}\n"
    writer = TenantService(service.backend)
    writer.create_tenant("elsewhere")
    writer.apply("elsewhere", validate_text(v1))
    now = [0.0]
    reader = ActiveApis(TenantService(service.backend), SchemaCache(), clock=lambda: now[0])

    def fields() -> set[str]:
        api, _ = reader.get("elsewhere")
        return set(api.schema.type_map["Lead"].fields)

    assert "score" not in fields()
    writer.apply("elsewhere", validate_text(v2))
    now[0] += 1.0
    assert "score" not in fields()  # within the recheck interval: the cached snapshot
    now[0] += 1.5
    assert "score" in fields()
    writer.delete_tenant("elsewhere")
    now[0] += 2.5
    with pytest.raises(TenantNotFound):
        reader.get("elsewhere")


def test_schema_cache_is_bounded():
    from metadata.model import EMPTY_MODEL
    from metadata.snapshot import Snapshot
    from metadata.validation import validate_data

    cache = SchemaCache(size=2)
    snapshots = [
        Snapshot.of(
            validate_data({"objects": {f"o{i}": {"fields": {"n": {"type": "text"}}}}}).model
        )
        for i in range(3)
    ]
    for snapshot in snapshots:
        cache.get(snapshot)
    cache.get(snapshots[0])  # evicted: built again
    assert cache.builds == 4
    assert cache.get(Snapshot.of(EMPTY_MODEL)).schema.query_type.fields.keys() == {"_empty"}


def test_parsed_documents_are_cached(api):
    tenant_api, _ = api.apis.get("demo")
    first = tenant_api.document("{ accounts { totalCount } }")
    assert tenant_api.document("{ accounts { totalCount } }") is first
    bad = tenant_api.document("{ accounts { nope } }")
    assert bad[0] is None and bad[1]


def test_introspection_round_trips_through_build_client_schema(api):
    data = api(get_introspection_query(descriptions=True, one_of=True))
    client_schema = build_client_schema(data)
    server_schema = api.apis.get("demo")[0].schema
    assert print_schema(client_schema) == print_schema(server_schema)
    account = client_schema.get_type("Account")
    assert "制造业" in account.fields["industry"].description
    assert str(account.fields["annualRevenue"].type) == "CurrencyAmount"
    # Mixed introspection and data in one request.
    mixed = api('{ __type(name: "Contact") { name } accounts { totalCount } __typename }')
    assert mixed == {
        "__type": {"name": "Contact"},
        "accounts": {"totalCount": 5},
        "__typename": "Query",
    }


@pytest.fixture
def server(service, api):
    """Serve the app on a free port for a real client."""
    app = create_app(service=service)
    app.state.identity.create_user("gql@example.com", ADMIN_PASSWORD, platform_admin=True)
    token = app.state.identity.login("gql@example.com", ADMIN_PASSWORD, None)["access_token"]
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(200):
        if instance.started:
            break
        time.sleep(0.02)
    port = instance.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", token
    instance.should_exit = True
    thread.join(5)


def test_a_real_client_library_works_against_the_endpoint(server):
    url, token = server
    transport = HTTPXTransport(
        url=f"{url}/t/demo/graphql", headers={"Authorization": f"Bearer {token}"}
    )
    with Client(transport=transport, fetch_schema_from_transport=True) as session:
        request = gql(
            "query($n: Int) { accounts(first: $n, orderBy: [{name: ASC}]) { nodes { name } } }"
        )
        request.variable_values = {"n": 2}
        result = session.execute(request)
        assert [n["name"] for n in result["accounts"]["nodes"]] == [
            "Northwind Motors",
            "兰亭教育科技",
        ]
        made = session.execute(
            gql('mutation { createCampaign(input: {name: "Client"}) { name channel } }')
        )
        assert made == {"createCampaign": {"name": "Client", "channel": None}}
        assert session.client.schema.get_type("Campaign") is not None


def test_http_endpoint_post_get_graphiql_and_errors(service, api):
    with admin_client(service) as client:
        url = "/t/demo/graphql"
        body = client.post(url, json={"query": "{ accounts { totalCount } }"}).json()
        assert body == {"data": {"accounts": {"totalCount": 5}}}
        got = client.get(
            url,
            params={
                "query": "query($f: Int) { accounts(first: $f) { nodes { id } } }",
                "variables": '{"f": 1}',
            },
        )
        assert got.status_code == 200 and len(got.json()["data"]["accounts"]["nodes"]) == 1
        page = client.get(url, headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        refused = client.get(
            url, params={"query": 'mutation { createCampaign(input: {name: "x"}) { id } }'}
        )
        assert refused.status_code == 400 and "POST" in refused.json()["detail"]
        missing = client.post("/t/nobody/graphql", json={"query": "{ __typename }"})
        assert missing.status_code == 404
        invalid = client.post(url, json={"query": "{ accounts { nope } }"}).json()
        assert invalid["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "data" not in invalid
        assert client.post(url, json={"variables": {}}).status_code == 400
