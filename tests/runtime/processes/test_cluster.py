"""Several processes that must agree: two servers, a worker and a beat, started with
`tessera serve|worker|beat` on PostgreSQL and Redis.

- an apply through one server is served by the other in under a second, by push
  (LISTEN/NOTIFY and the Redis generation; the fallback poll is 30 s): each round's
  latency is printed, and the quiet-machine figure (about 40 ms) is in benchmarks/README.md;
- a token's rate limit holds across both servers (counters in Redis);
- a revoked token is refused by both servers at once (generations in Redis);
- a cron workflow fires (the beat ticks, a worker runs the tick and the run);
- a second beat stands by and takes over when the first stops;
- a server killed with SIGKILL in a write burst loses no acknowledged write, and every
  write's event is processed exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import time

import httpx
from sqlalchemy import delete, func, insert, select

from runtime.observability import heartbeats
from runtime.storage.tables import build_table, system_table
from runtime.storage.workflow_tables import CURSORS, RUNS
from tests.runtime.processes.conftest import wait_for


def gql(base: str, token: str, query: str, **variables) -> httpx.Response:
    return httpx.post(
        f"{base}/t/{{tenant}}/graphql".replace("{tenant}", variables.pop("_tenant")),
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def ask(server, tenant, token, query, **variables):
    return gql(server.url, token, query, _tenant=tenant.name, **variables)


def test_an_apply_through_one_server_is_served_by_the_other_by_push(cluster, tenant):
    a, b = cluster.processes["a"], cluster.processes["b"]
    took = []
    for n in range(5):
        field = "extra" + "abcde"[n]  # GraphQL names are camelCase: no underscores here
        # Server b has the current schema cached: the new field is unknown to it.
        before = ask(b, tenant, tenant.admin_token, f"{{ leads {{ nodes {{ {field} }} }} }}")
        assert "errors" in before.json()
        added = httpx.post(
            f"{a.url}/api/tenants/{tenant.name}/metadata/objects/lead/fields",
            json={"name": field, "definition": {"type": "text"}},
            headers={"Authorization": f"Bearer {tenant.admin_token}"},
            timeout=30,
        )
        assert added.status_code == 200, added.text
        applied = time.perf_counter()

        query = f"{{ leads {{ nodes {{ {field} }} }} }}"
        with httpx.Client(timeout=5) as client:  # one connection: asking costs ~2 ms

            def served(query: str = query) -> bool:
                body = client.post(
                    f"{b.url}/t/{tenant.name}/graphql",
                    json={"query": query},
                    headers={"Authorization": f"Bearer {tenant.admin_token}"},
                ).json()
                return "errors" not in body

            while not served():
                assert time.perf_counter() - applied < 5, f"server b never served {field}"
                time.sleep(0.005)
        took.append(time.perf_counter() - applied)
    print(f"an apply through a was served by b after {[round(t * 1000) for t in took]} ms")
    # With the channel connected the poll runs every 30 s, so a second is push. How fast
    # the push is depends on the machine and the load beside the suite: that is measured
    # in benchmarks/README.md (a bar of 100 ms here failed on a machine 2.7x slower).
    assert max(took) < 1.0, took
    # It came as a message, not by the 30-second poll: b heard it.
    assert "tessera_invalidation_push_connected 1.0" in httpx.get(f"{b.url}/metrics").text


def test_a_tokens_rate_limit_holds_across_both_servers(cluster, tenant):
    a, b = cluster.processes["a"], cluster.processes["b"]
    statuses: dict[str, list[int]] = {"a": [], "b": []}
    lock = threading.Lock()
    refused = threading.Event()

    def hammer(name: str) -> None:
        server = {"a": a, "b": b}[name]
        with httpx.Client(timeout=10) as client:
            while not refused.is_set():
                code = client.post(
                    f"{server.url}/t/{tenant.name}/graphql",
                    json={"query": "{ __typename }"},
                    headers={"Authorization": f"Bearer {tenant.member_token}"},
                ).status_code
                with lock:
                    statuses[name].append(code)
                    if 429 in statuses["a"] and 429 in statuses["b"]:
                        refused.set()

    started = time.perf_counter()
    threads = [threading.Thread(target=hammer, args=(name,)) for name in "abababab"]
    for t in threads:
        t.start()
    finished = refused.wait(60)
    elapsed = time.perf_counter() - started
    refused.set()
    for t in threads:
        t.join()
    allowed = sum(code == 200 for codes in statuses.values() for code in codes)
    assert finished, f"no 429 from both servers in 60 s: {allowed} allowed"
    # 600 a minute: at most 100 in any ten seconds, counted once for both servers, so
    # at most 100 plus 10 a second until both refuse (and the 8 requests in flight).
    # Counted per process, each server would allow 100 plus 10 a second of its own
    # before refusing: twice that, whatever the machine's pace.
    assert 0 < allowed <= 100 + 10 * elapsed + 8, (allowed, elapsed)


def test_a_revoked_token_is_refused_by_both_servers_at_once(cluster, tenant):
    a, b = cluster.processes["a"], cluster.processes["b"]
    created = httpx.post(
        f"{a.url}/api/tenants/{tenant.name}/tokens",
        json={"name": "integration", "user": tenant.member_email, "role": "rep"},
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
    )
    assert created.status_code in (200, 201), created.text
    secret, token_id = created.json()["secret"], created.json()["id"]
    for server in (a, b):  # both have it cached now
        assert ask(server, tenant, secret, "{ __typename }").status_code == 200
    revoked = httpx.delete(
        f"{a.url}/api/tenants/{tenant.name}/tokens/{token_id}",
        headers={"Authorization": f"Bearer {tenant.admin_token}"},
    )
    assert revoked.status_code == 200, revoked.text
    # At once: the very next request, on either server.
    assert ask(b, tenant, secret, "{ __typename }").status_code == 401
    assert ask(a, tenant, secret, "{ __typename }").status_code == 401


def test_a_cron_workflow_fires(cluster, tenant):
    backend = cluster.platform.backend
    schema = backend.schema(tenant.name)
    cursors, runs = system_table(schema, CURSORS), system_table(schema, RUNS)
    # The schedule has existed for two minutes (a new one starts counting when first
    # seen), so the next tick owes it its last minute.
    key = "cron:every_minute:* * * * *"
    with backend.begin_tenant(tenant.name) as conn:
        conn.execute(delete(cursors).where(cursors.c.key == key))  # the beat may have seen it
        conn.execute(
            insert(cursors).values(
                key=key,
                value=(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).isoformat(),
            )
        )

    def fired():
        with backend.read_tenant(tenant.name) as conn:
            return conn.execute(
                select(runs.c.status).where(runs.c.workflow == "every_minute")
            ).scalars().all() == ["succeeded"]

    wait_for(fired, 30, f"the cron run\n{cluster.logs()}")
    notes = ask(
        cluster.processes["a"], tenant, tenant.member_token, "{ notifications { message } }"
    ).json()
    assert [n["message"]["en"] for n in notes["data"]["notifications"]] == ["Minute report"]
    beat = heartbeats.ages(backend)["beat"]
    assert beat[0] < 10 and beat[1]["pid"] == cluster.processes["beat"].popen.pid
    ready = httpx.get(f"{cluster.processes['b'].url}/ready?strict=1").json()
    assert ready["status"] == "ready", ready


def test_a_second_beat_stands_by_and_takes_over(cluster, tenant):
    backend = cluster.platform.backend
    first = cluster.processes["beat"]
    second = cluster.spawn("beat2", "beat")
    wait_for(lambda: "standing by" in second.output(), 30, "the second beat to stand by")
    assert heartbeats.ages(backend)["beat"][1]["pid"] == first.popen.pid
    first.kill(signal.SIGTERM)
    wait_for(
        lambda: heartbeats.ages(backend)["beat"][1]["pid"] == second.popen.pid,
        30,
        "the second beat to take over",
    )
    # Keep the module's cluster as it was: the second beat is now "the" beat.
    cluster.processes["beat"] = cluster.processes.pop("beat2")


def test_a_server_killed_in_a_write_burst_loses_nothing_it_acknowledged(cluster, tenant):
    a, b = cluster.processes["a"], cluster.processes["b"]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    create = "mutation($n: String!) { createLead(input: {name: $n}) { id } }"

    def writer(server, token, prefix):
        n = 0
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                n += 1
                try:
                    response = client.post(
                        f"{server.url}/t/{tenant.name}/graphql",
                        json={"query": create, "variables": {"n": f"{prefix}{n}"}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError:
                    continue  # not acknowledged: the write may or may not have committed
                body = response.json() if response.status_code == 200 else {}
                if body.get("data") and not body.get("errors"):
                    with lock:
                        acknowledged.append(body["data"]["createLead"]["id"])

    tokens = [
        cluster.platform.identity.create_token(
            tenant.name, tenant.member_email, name=f"writer {i}", role="rep"
        )[1]
        for i in range(3)
    ]
    threads = [
        threading.Thread(target=writer, args=(server, token, f"{server.name}{i}-"))
        for i, (server, token) in enumerate(zip((a, a, b), tokens, strict=True))
    ]
    for t in threads:
        t.start()
    # A burst of writes at whatever pace the machine allows, then a is killed in it.
    wait_for(lambda: len(acknowledged) >= 20, 30, "twenty acknowledged writes")
    a.kill(signal.SIGKILL)  # mid-burst: requests in flight on a are cut off
    before_kill = len(acknowledged)
    wait_for(lambda: len(acknowledged) >= before_kill + 5, 30, "writes through b after the kill")
    stop.set()
    for t in threads:
        t.join()
    backend = cluster.platform.backend
    schema = backend.schema(tenant.name)
    model = cluster.platform.service.active(tenant.name)[1].model
    leads = build_table(model, "lead", schema=schema, dialect="postgresql")
    runs = system_table(schema, RUNS)

    def all_processed():
        with backend.read_tenant(tenant.name) as conn:
            touched = dict(conn.execute(select(leads.c.id, leads.c.touched)).all())
            pending = conn.execute(
                select(func.count()).where(runs.c.status.in_(("queued", "running", "failed")))
            ).scalar()
        return touched if not pending and all(v == 1 for v in touched.values()) else None

    touched = wait_for(all_processed, 60, f"every new lead's run\n{cluster.logs()}")
    # Every acknowledged write is there...
    assert {str(i) for i in touched} >= set(acknowledged)
    # ...and every write that committed (acknowledged or cut off) ran its workflow once.
    with backend.read_tenant(tenant.name) as conn:
        per_lead = conn.execute(
            select(runs.c.record_id, func.count())
            .where(runs.c.workflow == "touch_new_leads")
            .group_by(runs.c.record_id)
        ).all()
    assert len(per_lead) == len(touched) and {n for _, n in per_lead} == {1}
    assert set(touched.values()) == {1}
    # Bring a back for whatever runs after this.
    restarted = cluster.spawn("a", "serve", serve=True)
    assert json.loads(httpx.get(f"{restarted.url}/health").text)["status"] == "ok"
