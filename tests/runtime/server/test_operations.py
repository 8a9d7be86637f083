"""What an operator relies on, in-process on both backends: probes, metrics, request ids
in responses, logs and runs, CORS, and pages that load nothing from the internet."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import uuid

import pytest
from litestar.testing import TestClient
from prometheus_client import generate_latest
from sqlalchemy import select

from metadata.validation import validate_file
from runtime.observability import heartbeats, logs
from runtime.observability.metrics import Metrics, WorkflowCollector
from runtime.server.app import create_app
from runtime.settings import Settings
from runtime.sql import naming
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS
from tests.conftest import DEMO_METADATA, admin_client

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)


@pytest.fixture
def crm(service):
    service.create_tenant("acme")
    service.apply("acme", validate_file(DEMO_METADATA))
    with admin_client(service) as client:
        yield client


def gql(client, query, **variables):
    response = client.post("/t/acme/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response


def test_health_is_liveness_and_ready_checks_what_serving_needs(crm, backend):
    health = crm.get("/health").json()
    assert health["status"] == "ok" and health["database"] == backend.dialect
    ready = crm.get("/ready")
    body = ready.json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "ok"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["expected"]
    assert body["checks"]["broker"]["status"] == "ok"
    # No beat has ever run here: that is shown, servers stay in rotation, and a strict
    # check (monitoring) fails.
    assert body["checks"]["beat"] == {"status": "missing"}
    assert (ready.status_code, body["status"]) == (200, "degraded")
    assert crm.get("/ready?strict=1").status_code == 503
    heartbeats.beat(backend, "beat", pid=1)
    heartbeats.beat(backend, "tick")
    body = crm.get("/ready?strict=1").json()
    assert body["status"] == "ready" and body["checks"]["beat"]["status"] == "ok"


def test_metrics_count_requests_by_route_and_time_sql_and_graphql(crm):
    gql(crm, "{ accounts { totalCount } }")
    gql(crm, 'mutation { createAccount(input: {name: "M"}) { id } }')
    text = crm.get("/metrics").text
    assert re.search(
        r'tessera_http_requests_total\{method="POST",route="/t/\{tenant\}/graphql",'
        r'status="200",tenant_class="default"\} 2\.0',
        text,
    ), text
    assert 'tessera_graphql_operation_duration_seconds_count{operation="query"' in text
    assert 'tessera_graphql_operation_duration_seconds_count{operation="mutation"' in text
    sql = re.search(
        r'tessera_sql_seconds_per_request_sum\{route="/t/\{tenant\}/graphql"\} ([0-9.e-]+)',
        text,
    )
    assert sql and float(sql.group(1)) > 0  # statements were timed in the handler's thread
    assert "tessera_schema_cache_size 1.0" in text
    assert "tessera_schema_cache_builds_total" in text
    assert "tessera_workflow_runs" in text and "tessera_beat_tick_age_seconds " in text


def test_tenant_classes_label_metrics_without_naming_tenants(service, database_url):
    service.create_tenant("vip_acme")
    service.apply("vip_acme", validate_file(DEMO_METADATA))
    settings = Settings(
        database_url=database_url,
        tenant_classes=(("vip_*", "enterprise"),),
        password_hashing="fast",
    )
    with TestClient(create_app(settings, service=service)) as client:
        client.get("/t/vip_acme/graphql", params={"query": "{ __typename }"})
        text = client.get("/metrics").text
    assert 'tenant_class="enterprise"' in text and "vip_acme" not in text


def test_request_ids_are_echoed_and_carried_into_outbox_events(crm, service):
    given = gql(crm, "{ accounts { totalCount } }")
    made_up = given.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)
    hostile = crm.post(
        "/t/acme/graphql",
        json={"query": "{ __typename }"},
        headers={"X-Request-ID": "bad id\nwith newline"},
    )
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])
    response = crm.post(
        "/t/acme/graphql",
        json={"query": 'mutation { createAccount(input: {name: "Traced"}) { id } }'},
        headers={"X-Request-ID": "req-42.abc"},
    )
    assert response.headers["x-request-id"] == "req-42.abc"
    outbox = system_table(service.backend.schema("acme"), naming.OUTBOX_TABLE)
    with service.backend.read_tenant("acme") as conn:
        ids = conn.execute(select(outbox.c.request_id)).scalars().all()
    assert ids == ["req-42.abc"]


def test_no_access_log_by_default(crm, caplog):
    with caplog.at_level(logging.INFO, logger="tessera.access"):
        crm.post("/t/acme/graphql", json={"query": "{ __typename }"})
    assert [r for r in caplog.records if r.name == "tessera.access"] == []


@pytest.fixture
def access_log(monkeypatch):
    """Turn the access log on for the app the next fixture builds (it is off by default)."""
    monkeypatch.setenv("TESSERA_ACCESS_LOG", "true")


def test_json_logs_carry_the_request_id(access_log, crm):
    stream = io.StringIO()
    logs.configure("json", "info", process="test")
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        with logs.bound(request_id="r-1", tenant="acme"):
            logging.getLogger("tessera.test").info("hello %s", "world")
        logging.getLogger("tessera.test").warning("outside")
        crm.post(
            "/t/acme/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": "r-2"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [access] = [line for line in lines if line["logger"] == "tessera.access"]
    assert access["request_id"] == "r-2" and access["tenant"] == "acme"
    assert access["route"] == "/t/{tenant}/graphql" and access["status"] == 200
    assert access["sql_statements"] >= 1
    first, second = lines[:2]
    assert first["message"] == "hello world" and first["request_id"] == "r-1"
    assert first["tenant"] == "acme" and first["level"] == "info" and first["process"] == "test"
    assert "request_id" not in second and second["level"] == "warning"


def test_pages_load_nothing_from_elsewhere(crm):
    page = crm.get("/t/acme/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "<title>Tessera GraphQL · acme</title>" in page.text
    assert not EXTERNAL.search(page.text)
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        asset = crm.get(src)
        assert asset.status_code == 200, src
        assert asset.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
            "text/css",
            "image/svg+xml",
        ), src
    docs = crm.get("/schema/swagger")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui-dist-" in docs.text
    assert not EXTERNAL.search(docs.text)
    start = crm.get("/")
    assert start.status_code == 200 and 'href="/t/acme/graphql"' in start.text
    assert not EXTERNAL.search(start.text)
    # Only the vendored docs page exists: no blank Redoc or Elements pages.
    assert crm.get("/schema/redoc").status_code == 404


def test_an_unknown_tenants_graphiql_is_a_404_page(crm):
    page = crm.get("/t/nobody/graphql", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "no tenant named nobody." in page.text
    # An API client (no text/html in Accept) gets a problem, not a page.
    api = crm.get("/t/acme/graphql", headers={"accept": "application/json"})
    assert api.status_code == 400
    assert api.headers["content-type"].startswith("application/problem+json")


def test_cors_is_off_unless_configured(service, database_url):
    preflight = {
        "Origin": "https://crm.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    with TestClient(
        create_app(Settings(database_url=database_url, password_hashing="fast"), service=service)
    ) as client:
        off = client.options("/t/acme/graphql", headers=preflight)
        assert "access-control-allow-origin" not in off.headers
    settings = Settings(
        database_url=database_url,
        cors_origins=("https://crm.example.com",),
        password_hashing="fast",
    )
    with TestClient(create_app(settings, service=service)) as client:
        on = client.options("/t/acme/graphql", headers=preflight)
        assert on.headers["access-control-allow-origin"] == "https://crm.example.com"
        assert "POST" in on.headers["access-control-allow-methods"]
        assert "authorization" in on.headers["access-control-allow-headers"].lower()
        other = client.options(
            "/t/acme/graphql", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
        simple = client.get("/health", headers={"Origin": "https://crm.example.com"})
        assert simple.headers["access-control-allow-origin"] == "https://crm.example.com"
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b"", "the request body is not valid JSON"),
        (b"[1, 2]", "the request body must be a JSON object"),
        (b'{"variables": {}}', "the request needs a GraphQL document in 'query'"),
    ],
)
def test_a_graphql_body_that_is_not_a_request_is_refused_by_name(crm, body, detail):
    response = crm.post(
        "/t/acme/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)


def test_workflow_metrics_count_runs_and_their_lag_without_reading_at_start(service):
    """The collector reads each tenant's runs when scraped, and never when registered:
    at 1,000 tenants that read at start-up took 21 s and 300 MB."""
    service.create_tenant("lagging")
    runs = system_table(service.backend.schema("lagging"), RUNS)
    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with service.backend.begin_tenant("lagging") as conn:
        conn.execute(
            runs.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "workflow": "w",
                    "cause": "event",
                    "dedupe": f"d{n}",
                    "payload": "{}",
                    "depth": 0,
                    "status": status,
                    "attempts": 0,
                    "created_at": an_hour_ago,
                }
                for n, status in enumerate(["queued", "queued", "dead", "succeeded"])
            ],
        )

    reads: list[int] = []

    class Registered:
        backend = service.backend

        def list_tenants(self):
            reads.append(1)
            return []

    Metrics(()).add(WorkflowCollector(Registered(), ()))
    assert reads == []  # registering read nothing
    metrics = Metrics(())
    metrics.add(WorkflowCollector(service, ()))
    text = generate_latest(metrics.registry).decode()
    assert 'tessera_workflow_runs{state="queued",tenant_class="default"} 2.0' in text
    assert 'tessera_workflow_dead_letters{tenant_class="default"} 1.0' in text
    lag = re.search(r'tessera_workflow_queue_lag_seconds\{tenant_class="default"\} (\S+)', text)
    assert lag and 3500 < float(lag.group(1)) < 3700
