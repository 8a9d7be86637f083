"""The fast lane (runtime/server/fast_reads.py): a query asked again is answered on the
event loop from its kept plan, with the very bytes the full path gives, never across
readers whose permissions differ, and never past a change to the credential, the
membership or the metadata. On SQLite there is no fast lane and the answers are the same.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from litestar.testing import TestClient

from runtime.coordination.invalidation import Generations
from runtime.server.app import create_app
from runtime.server.fast_reads import Passes
from runtime.server.inflight import ClientGone, Inflight
from runtime.settings import Settings
from runtime.storage.async_reads import AsyncReads
from runtime.storage.backends import PostgresBackend

PASSWORD = "a long enough password"
META = {
    "objects": {
        "account": {
            "fields": {
                "name": {"type": "text", "required": True},
                "revenue": {"type": "integer"},
                "secret": {"type": "text"},
            }
        }
    },
    "roles": {"boss": {}, "rep": {}},
    "permission_sets": {
        "everything": {
            "roles": ["boss"],
            "objects": {"account": {"allow": ["read", "create"], "access": "tenant"}},
        },
        "own": {
            "roles": ["rep"],
            "objects": {
                "account": {
                    "allow": ["read", "create"],
                    "access": "own",
                    "fields": {"secret": "none"},
                }
            },
        },
    },
}
QUERIES = [
    ("{ accounts(orderBy: {name: ASC}) { totalCount nodes { name revenue } } }", None),
    (
        "query($n: String!) { accounts(filter: {name: {eq: $n}}) { nodes { name } } }",
        {"n": "Boss 1"},
    ),
    ("{ __typename a: accounts(first: 1) { totalCount } b: accounts { totalCount } }", None),
    (
        "query Q { ...F } fragment F on Query { accounts(first: 2) { pageInfo { hasNextPage } } }",
        None,
    ),
]


class Tenant:
    def __init__(self, client: TestClient, app, name: str) -> None:
        self.client, self.app, self.name = client, app, name
        self.tokens: dict[str, str] = {}

    def ask(self, who: str, query: str, variables=None, **extra):
        return self.client.post(
            f"/t/{self.name}/graphql",
            json={"query": query, "variables": variables, **extra},
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )

    @property
    def served(self) -> int:
        fast = self.app.state.fast_reads
        return fast.served if fast is not None else 0


@pytest.fixture
def tenant(service):
    settings = Settings(password_hashing="fast", secret_key="fast-reads-test-" + "x" * 32)
    app = create_app(settings, service=service)
    name = "fast"
    with TestClient(app) as client:
        identity = app.state.identity
        suffix = uuid.uuid4().hex[:8]
        root = f"root.{suffix}@fast.example"
        identity.create_user(root, PASSWORD, platform_admin=True)
        admin = {"Authorization": f"Bearer {identity.login(root, PASSWORD, None)['access_token']}"}
        assert client.post("/api/tenants", json={"name": name}, headers=admin).is_success
        applied = client.post(
            f"/api/tenants/{name}/metadata/apply", json={"metadata": META}, headers=admin
        )
        assert applied.status_code == 200, applied.text
        t = Tenant(client, app, name)
        for who in ("boss", "rep"):
            email = f"{who}.{suffix}@fast.example"
            identity.create_user(email, PASSWORD)
            identity.set_membership(name, email, role=who)
            t.tokens[who] = identity.create_token(name, email, name=who)[1]
            t.tokens[who + "_jwt"] = identity.login(email, PASSWORD, name)["access_token"]
        for who, count in (("boss", 3), ("rep", 2)):
            for i in range(count):
                made = t.ask(
                    who,
                    "mutation($n: String!) { createAccount(input: {name: $n, revenue: 7}) { id } }",
                    {"n": f"{who.title()} {i + 1}"},
                )
                assert "errors" not in made.json(), made.text
        yield t


def test_a_query_asked_again_gets_the_same_bytes_from_the_fast_lane(tenant, backend):
    pg = isinstance(backend, PostgresBackend)
    assert (tenant.app.state.fast_reads is not None) == pg
    for query, variables in QUERIES:
        first = tenant.ask("boss", query, variables)
        before = tenant.served
        again = tenant.ask("boss", query, variables)
        assert first.status_code == again.status_code == 200
        assert "errors" not in first.json(), first.text
        assert again.content == first.content, query
        assert again.headers["content-type"] == "application/json"
        assert again.headers["x-request-id"]
        assert tenant.served == before + pg, query


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_the_fast_lane_runs_one_statement_per_root_field(tenant, monkeypatch):
    query = "{ a: accounts { totalCount } b: accounts(first: 1) { nodes { name } } __typename }"
    tenant.ask("boss", query)
    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def executing(self, sql, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append((str(sql).split() or [""])[0].upper())
        return await execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", executing)
    before = tenant.served
    body = tenant.ask("boss", query).json()
    assert tenant.served == before + 1
    assert body["data"]["a"]["totalCount"] == 5 and body["data"]["__typename"] == "Query"
    assert len(sent) == 2 and set(sent) <= {"SELECT", "WITH"}, sent


def test_readers_whose_permissions_differ_never_share_an_answer(tenant):
    query = "{ accounts(orderBy: {name: ASC}) { totalCount nodes { name } } }"
    for _ in range(2):  # the second round is the fast lane's, on PostgreSQL
        boss = tenant.ask("boss", query).json()["data"]["accounts"]
        rep = tenant.ask("rep", query).json()["data"]["accounts"]
        assert boss["totalCount"] == 5 and rep["totalCount"] == 2
        assert [n["name"] for n in rep["nodes"]] == ["Rep 1", "Rep 2"]
    hidden = "{ accounts { nodes { name secret } } }"
    assert "errors" not in tenant.ask("boss", hidden).json()
    for _ in range(2):
        refused = tenant.ask("rep", hidden).json()
        assert refused["errors"] and "data" not in refused, refused


def test_readers_asking_at_once_each_get_their_own_answer(tenant):
    """Two readers and their two credentials each, from eight threads at once: every
    answer is its reader's, whether the full path or the fast lane gave it."""
    query = "{ accounts { totalCount } }"
    expected = {"boss": 5, "rep": 2, "boss_jwt": 5, "rep_jwt": 2}

    def asks(who: str) -> list[int]:
        return [tenant.ask(who, query).json()["data"]["accounts"]["totalCount"] for _ in range(15)]

    whos = list(expected) * 2
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(asks, whos))
    for who, counts in zip(whos, answers, strict=True):
        assert counts == [expected[who]] * 15, who


def test_a_changed_role_or_a_revoked_token_counts_from_the_next_request(tenant):
    query = "{ accounts { totalCount } }"
    identity = tenant.app.state.identity
    for _ in range(2):
        assert tenant.ask("rep_jwt", query).json()["data"]["accounts"]["totalCount"] == 2
        assert tenant.ask("rep", query).json()["data"]["accounts"]["totalCount"] == 2
    [token] = [t for t in identity.tokens(tenant.name) if t.name == "rep"]
    identity.set_membership(tenant.name, token.email, role="boss")
    assert tenant.ask("rep_jwt", query).json()["data"]["accounts"]["totalCount"] == 5
    identity.revoke_token(str(token.id), tenant=tenant.name)
    assert tenant.ask("rep", query).status_code == 401


def test_a_metadata_change_is_seen_at_the_next_request(tenant):
    query = "{ accounts(first: 1) { nodes { name } } }"
    for _ in range(2):
        assert "errors" not in tenant.ask("boss", query).json()
    service = tenant.app.state.platform.service
    meta = json.loads(json.dumps(META))
    del meta["objects"]["account"]["fields"]["secret"]
    del meta["permission_sets"]["own"]["objects"]["account"]["fields"]
    meta["objects"]["account"]["fields"]["name"]["label"] = "Company"
    from metadata.validation import validate_text

    service.apply(tenant.name, validate_text(json.dumps(meta)), allow_destructive=True)
    after = tenant.ask("boss", "{ accounts(first: 1) { nodes { name secret } } }").json()
    assert after["errors"], after  # the field is gone at once


def test_bad_input_gets_the_full_paths_answer_even_with_a_kept_plan(tenant):
    query, variables = QUERIES[1]
    for _ in range(2):
        assert "errors" not in tenant.ask("boss", query, variables).json()
    nul = tenant.ask("boss", query, {"n": "Boss\x00 1"})
    assert nul.status_code == 400 and "$.variables.n" in nul.json()["detail"]
    broken = tenant.client.post(
        f"/t/{tenant.name}/graphql",
        content=b'{"query": ',
        headers={
            "Authorization": f"Bearer {tenant.tokens['boss']}",
            "content-type": "application/json",
        },
    )
    assert broken.status_code == 400
    unsigned = tenant.client.post(f"/t/{tenant.name}/graphql", json={"query": query})
    assert unsigned.status_code == 401
    bad = tenant.client.post(
        f"/t/{tenant.name}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": "Bearer " + tenant.tokens["boss"][:-2] + "xx"},
    )
    assert bad.status_code == 401


def test_a_request_rate_is_counted_once_per_request(service, backend):
    """Burst of 2 in ten seconds: the full path counts the first, the fast lane the
    second, and the third is refused (counted once each, not twice)."""
    settings = Settings(
        password_hashing="fast", secret_key="fast-rate-test-" + "x" * 32, rate_per_minute=12
    )
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        email = f"rate.{uuid.uuid4().hex[:8]}@fast.example"
        identity.create_user(email, PASSWORD, platform_admin=True)
        token = identity.login(email, PASSWORD, None)["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        client.post("/api/tenants", json={"name": "rated"}, headers=auth)
        client.post("/api/tenants/rated/metadata/apply", json={"metadata": META}, headers=auth)
        body = {"query": "{ accounts { totalCount } }"}
        codes = [client.post("/t/rated/graphql", json=body, headers=auth).status_code]
        codes += [client.post("/t/rated/graphql", json=body, headers=auth).status_code]
        codes += [client.post("/t/rated/graphql", json=body, headers=auth).status_code]
        assert codes == [200, 200, 429]


def test_a_pass_lasts_as_long_as_the_credential_caches_and_the_credential():
    passes = Passes(ttl=0.2)
    gens = Generations(1, 1)

    def remember(expires: float | None = None) -> None:
        passes.remember(
            "t", "Bearer x", _principal(), None, None, "UTC", gens, expires, passes.epoch("t")
        )  # type: ignore[arg-type]

    remember()
    assert passes.get("t", "Bearer x") is not None
    assert passes.get("t", "Bearer y") is None and passes.get("u", "Bearer x") is None
    time.sleep(0.25)
    assert passes.get("t", "Bearer x") is None
    remember(expires=time.time() - 1)
    assert passes.get("t", "Bearer x") is None
    remember()
    passes.heard("members", "t")
    assert passes.get("t", "Bearer x") is None
    epoch = passes.epoch("t")
    passes.heard("credentials", None)
    passes.remember("t", "Bearer x", _principal(), None, None, "UTC", gens, None, epoch)  # type: ignore[arg-type]
    assert passes.get("t", "Bearer x") is None  # resolved before the change: not kept


def _principal():
    from runtime.security.grants import FULL
    from runtime.security.principal import Principal

    return Principal("t", uuid.uuid4(), "user:x", FULL)


def test_a_read_whose_client_went_away_is_stopped():
    async def scenario() -> None:
        inflight = Inflight(after=0.02)

        async def receive():
            await asyncio.sleep(0.05)
            return {"type": "http.disconnect"}

        started = time.monotonic()
        with pytest.raises(ClientGone):
            await inflight.read(receive, asyncio.sleep(30))
        assert time.monotonic() - started < 5
        assert await inflight.read(receive, _value()) == 42  # a quick one is not disturbed

    asyncio.run(scenario())


async def _value() -> int:
    return 42


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_pooled_connections_are_replaced_after_reading_too_many_tenants(backend):
    """Each tenant read adds its tables to the connection's catalog cache, which
    PostgreSQL never shrinks: past ``connection_tenants`` the connection is replaced."""
    pg = PostgresBackend(backend.control.url, pool_size=1, max_overflow=0, connection_tenants=2)

    def pid(tenant: str) -> int:
        with pg.reading(tenant) as conn:
            return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

    try:
        first = [pid(t) for t in ("a", "b", "a", "b")]
        assert len(set(first)) == 1
        assert pid("c") == first[0]  # the third tenant is read, then the connection goes
        assert pid("a") != first[0]
    finally:
        pg.dispose()

    reads = AsyncReads(
        backend.control.url.set(drivername="postgresql").render_as_string(hide_password=False),
        options=pg.connect_options,
        size=1,
        max_tenants=2,
    )

    async def scenario() -> list[int]:
        try:
            return [
                int((await reads.read(t, [("SELECT pg_backend_pid()::text", {})]))[0])
                for t in ("a", "b", "a", "c", "a")
            ]
        finally:
            await reads.close()

    pids = asyncio.run(scenario())
    assert len(set(pids[:4])) == 1 and pids[4] != pids[0], pids
    assert reads.recycled == 1

    # Tenants spread over two pools by name: each pool's connections read only its own.
    sharded = AsyncReads(
        backend.control.url.set(drivername="postgresql").render_as_string(hide_password=False),
        options=pg.connect_options,
        size=4,
        shards=2,
    )
    tenants = [f"t{i}" for i in range(12)]
    by_shard = {s: {t for t in tenants if sharded.shard(t) == s} for s in (0, 1)}
    assert by_shard[0] and by_shard[1]  # both pools get tenants

    async def spread() -> dict[int, set[str]]:
        seen: dict[int, set[str]] = {}
        try:
            for _ in range(3):
                for t in tenants:
                    [pid] = await sharded.read(t, [("SELECT pg_backend_pid()::text", {})])
                    seen.setdefault(int(pid), set()).add(t)
        finally:
            await sharded.close()
        return seen

    for pid, read in asyncio.run(spread()).items():
        assert read <= by_shard[0] or read <= by_shard[1], (pid, read)


def test_the_fast_lanes_requests_are_counted_as_the_full_paths_are(tenant, backend):
    query = "{ accounts { totalCount } }"
    tenant.ask("boss", query)  # its plan is kept

    def counted() -> tuple[float, float]:
        metrics = tenant.app.state.metrics
        sample = metrics.registry.get_sample_value
        labels = {"route": "/t/{tenant}/graphql", "method": "POST", "tenant_class": "default"}
        return (
            sample("tessera_http_requests_total", {**labels, "status": "200"}) or 0.0,
            sample(
                "tessera_graphql_operation_duration_seconds_count",
                {"operation": "query", "tenant_class": "default"},
            )
            or 0.0,
        )

    before = counted()
    served = tenant.served
    for _ in range(3):
        assert tenant.ask("boss", query).status_code == 200
    assert tenant.served == served + 3 * isinstance(backend, PostgresBackend)
    after = counted()
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)


def test_passes_last_as_long_as_principals_while_invalidations_are_pushed():
    """With a message channel, changes elsewhere end passes when heard; until then a pass
    lasts as a principal does (a minute for an API token, whose use is recorded)."""
    from dataclasses import replace

    passes = Passes(ttl=0.05, pushed=lambda: True)
    gens = Generations(1, 1)
    user, token = _principal(), replace(_principal(), rate_key="token:t")
    for header, principal in (("Bearer u", user), ("Bearer t", token)):
        passes.remember("t", header, principal, None, None, "UTC", gens, None, passes.epoch("t"))  # type: ignore[arg-type]
    time.sleep(0.1)
    assert passes.get("t", "Bearer u") is not None and passes.get("t", "Bearer t") is not None
    passes.heard("credentials", None)
    assert passes.get("t", "Bearer u") is None and passes.get("t", "Bearer t") is None
