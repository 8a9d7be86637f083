"""Many tenants at the cost of one: load spread over N tenants against load on one.

Creates N tenants on PostgreSQL, each with core_crm installed the way `tessera app
install` does it (identical metadata) and 10 accounts with 5 contacts each, then starts
one `tessera serve` process and drives one small query ("10 accounts with their first 5
contacts") with wrk, signed in as a platform admin:

- **one**: every request to the first tenant;
- **all**: request i to tenant i mod N, so every tenant is touched every N requests.

Before the rounds, every tenant gets its first request (timed). Rounds alternate the two
modes. Reported: requests/s and server CPU per request (medians), the server's resident
memory (RSS) after warming up on one tenant and after every tenant was served once (the
growth per tenant touched), and the private memory of each PostgreSQL
backend serving the database (the catalog caches a connection grows per tenant it
reads), largest and median.

    .venv/bin/python benchmarks/many_tenants.py --url postgresql://postgres@127.0.0.1/bench_many
    # options: --tenants 100 --seconds 6 --rounds 3 --connections 8 --no-load, --json

Needs wrk (Debian: apt install wrk); the database is created if it does not exist.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import make_url  # noqa: E402

from benchmarks.graphql_workloads import (  # noqa: E402
    _cpu,
    _database_pids,
    _spent,
    ensure_database,
    server_env,
)
from metadata.packs.catalog import Catalog  # noqa: E402
from runtime.packs.service import PackService  # noqa: E402
from runtime.security.identity import Identity  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.storage.backends import make_backend  # noqa: E402
from runtime.storage.ids import new_id  # noqa: E402
from runtime.storage.tables import build_table  # noqa: E402
from runtime.tenants import TenantService  # noqa: E402

QUERY = "{ accounts(first: 10) { nodes { id name contacts(first: 5) { id name } } } }"
ADMIN, PASSWORD = "admin@many.example", "many-tenants-2026"


def _state_file(url: str) -> Path:
    """Where a load's secret and tenant names are kept for --no-load (per database)."""
    database = make_url(url).database or "default"
    return Path(tempfile.gettempdir()) / f"tessera-many-tenants-{database}.json"


def load(url: str, count: int) -> dict[str, Any]:
    """Create ``count`` tenants with core_crm and a little data; return the secret, a
    platform admin's token and the tenant names."""
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    service = TenantService(backend)
    for info in service.list_tenants():
        service.delete_tenant(info.name)
    packs = PackService(service, Catalog())
    names = [f"m{i:04d}" for i in range(count)]
    started = time.perf_counter()
    for i, name in enumerate(names):
        service.create_tenant(name)
        packs.apply(packs.plan_install(name, ["core_crm"], sql=False))
        model = service.active(name)[1].model
        schema = backend.schema(name)
        with backend.begin_tenant(name) as conn:
            accounts = [new_id() for _ in range(10)]
            now = time.strftime("%Y-%m-%d %H:%M:%S+00")
            base = {"created_at": now, "updated_at": now, "row_version": 1}
            account = build_table(model, "account", schema=schema, dialect="postgresql")
            conn.execute(
                account.insert(),
                [{**base, "id": a, "name": f"Account {k}"} for k, a in enumerate(accounts)],
            )
            contact = build_table(model, "contact", schema=schema, dialect="postgresql")
            conn.execute(
                contact.insert(),
                [
                    {**base, "id": new_id(), "name": f"Contact {k}", "account": a}
                    for a in accounts
                    for k in range(5)
                ],
            )
        if (i + 1) % 10 == 0:
            print(f"  {i + 1}/{count} tenants ({time.perf_counter() - started:.0f} s)", flush=True)
    secret = secrets.token_urlsafe(32)
    identity = Identity(backend, secret.encode())
    if ADMIN not in {u.email for u in identity.users()}:
        identity.create_user(ADMIN, PASSWORD, platform_admin=True)
    backend.dispose()
    return {"secret": secret, "tenants": names}


def _token(base: str) -> str:
    response = httpx.post(f"{base}/auth/login", json={"email": ADMIN, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["access_token"]


def _wrk(base: str, tenants: list[str], token: str, seconds: int, connections: int) -> dict:
    """Drive the query round-robin over ``tenants``; return req/s and the request count."""
    script = Path(tempfile.mkdtemp()) / "tenants.lua"
    paths = ", ".join(f'"/t/{t}/graphql"' for t in tenants)
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        f"wrk.body = {json.dumps(json.dumps({'query': QUERY}))}\n"
        f"local paths = {{{paths}}}\nlocal n = 0\n"
        "request = function()\n  n = n + 1\n"
        "  return wrk.format(nil, paths[(n % #paths) + 1])\nend\n"
    )
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"failed responses:\n{out}")
    rps = float(out.split("Requests/sec:")[1].split()[0])
    requests = int(out.split(" requests in")[0].split()[-1])
    return {"rps": rps, "requests": requests}


def _touch_all(base: str, tenants: list[str], token: str, connections: int) -> float:
    """Send each tenant's first request, ``connections`` at a time; return the seconds."""
    from concurrent.futures import ThreadPoolExecutor

    headers = {"authorization": f"Bearer {token}"}

    def touch(tenant: str) -> None:
        response = httpx.post(
            f"{base}/t/{tenant}/graphql", json={"query": QUERY}, headers=headers, timeout=60
        )
        if response.status_code != 200 or "errors" in response.json():
            raise SystemExit(f"{tenant}: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(touch, tenants))
    return time.perf_counter() - started


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _private_kb(pid: int) -> int:
    """A PostgreSQL backend's private memory (its caches; shared buffers excluded)."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1/bench_many")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--no-load", action="store_true", help="reuse the tenants made before")
    parser.add_argument(
        "--read-shards", type=int, default=1, help="TESSERA_DB_READ_SHARDS of the server"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    if make_url(args.url).get_backend_name() != "postgresql":
        raise SystemExit("this benchmark runs on PostgreSQL: give --url postgresql://...")
    ensure_database(args.url)
    state_file = _state_file(args.url)
    if args.no_load and state_file.exists():
        state = json.loads(state_file.read_text())
    else:
        state = load(args.url, args.tenants)
        state_file.write_text(json.dumps(state))
    tenants = state["tenants"]
    env = server_env(
        args.url, state["secret"], args.port, TESSERA_DB_READ_SHARDS=str(args.read_shards)
    )
    tessera = str(Path(sys.executable).parent / "tessera")
    server = subprocess.Popen([tessera, "serve", "--port", str(args.port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{args.port}"
    database = make_url(args.url).database or ""
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        token = _token(base)
        _wrk(base, tenants[:1], token, 2, args.connections)  # warm up on one tenant
        rss_one = _rss_kb(server.pid)
        # Every tenant's first request in this process, --connections at a time: what a
        # server pays once per tenant (loading its model, members, plans; PostgreSQL
        # loading its tables into each connection's catalog cache).
        first_touch = _touch_all(base, tenants, token, args.connections)
        rss_all = _rss_kb(server.pid)
        print(
            f"first request of each of {len(tenants)} tenants: {first_touch:.1f} s "
            f"({first_touch * 1000 / len(tenants):.1f} ms a tenant, {args.connections} at a time)",
            flush=True,
        )
        # And load over all of them for a round's length: each pooled connection of both
        # paths (the full path's, the fast lane's) reads every tenant, and psycopg
        # prepares each tenant's statement on each (after 5 runs there), before anything
        # is measured; the one-tenant mode had the same on its tenant above.
        _wrk(base, tenants, token, args.seconds, args.connections)
        samples: dict[str, list[dict[str, float]]] = {"one": [], "all": []}
        for round_number in range(args.rounds):
            order = ("one", "all") if round_number % 2 == 0 else ("all", "one")
            for mode in order:
                chosen = tenants[:1] if mode == "one" else tenants
                pids = _database_pids(database)
                before, db_before = _cpu([server.pid]), _cpu(pids)
                measured = _wrk(base, chosen, token, args.seconds, args.connections)
                # Backends that started meanwhile (connections replaced) count whole.
                after, db_after = _cpu([server.pid]), _cpu(_database_pids(database))
                cpu_ms = _spent(before, after) * 1000 / measured["requests"]
                db_ms = _spent(db_before, db_after) * 1000 / measured["requests"]
                samples[mode].append({"rps": measured["rps"], "server_ms": cpu_ms, "db_ms": db_ms})
                print(
                    f"round {round_number + 1} {mode:3}: {measured['rps']:8.1f} req/s, "
                    f"server {cpu_ms:.3f} + database {db_ms:.3f} ms CPU/request",
                    flush=True,
                )
        backends = [_private_kb(pid) for pid in _database_pids(database)]
        result = {
            "tenants": len(tenants),
            **{
                f"{mode}_{key}": statistics.median(s[key] for s in runs)
                for mode, runs in samples.items()
                for key in ("rps", "server_ms", "db_ms")
            },
            "first_touch_s": first_touch,
            "rss_one_tenant_kb": rss_one,
            "rss_all_tenants_kb": rss_all,
            "rss_per_tenant_kb": (rss_all - rss_one) / max(1, len(tenants) - 1),
            "db_backends": len(backends),
            "db_private_kb_max": max(backends, default=0),
            "db_private_kb_median": statistics.median(backends) if backends else 0,
            # A connection is replaced once it has read this many tenants, before its
            # catalog cache grows further (TESSERA_DB_CONNECTION_TENANTS).
            "connection_tenants": Settings().db_connection_tenants,
        }
        result["ratio"] = result["all_rps"] / result["one_rps"]
        # Each round's two modes run back to back: on a machine whose speed drifts from
        # round to round, their ratio within a round is the steadier measure.
        result["paired_ratio"] = statistics.median(
            a["rps"] / o["rps"] for a, o in zip(samples["all"], samples["one"], strict=True)
        )
        print(
            f"\n{len(tenants)} tenants: spread {result['all_rps']:.0f} req/s against "
            f"{result['one_rps']:.0f} on one (**{result['ratio']:.2f}x**; within each round, "
            f"median {result['paired_ratio']:.2f}x); server CPU "
            f"{result['all_server_ms']:.2f} against {result['one_server_ms']:.2f} ms/request; "
            f"RSS {rss_one / 1024:.1f} -> {rss_all / 1024:.1f} MB "
            f"({result['rss_per_tenant_kb']:.0f} KB per tenant touched); PostgreSQL backends: "
            f"{len(backends)}, private memory max {result['db_private_kb_max'] / 1024:.1f} MB, "
            f"median {result['db_private_kb_median'] / 1024:.1f} MB (each replaced after "
            f"{result['connection_tenants']} tenants); database CPU "
            f"{result['all_db_ms']:.2f} against {result['one_db_ms']:.2f} ms/request"
        )
        if args.json:
            print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    os.environ.setdefault("TESSERA_LOG_LEVEL", "warning")
    main()
