"""GraphQL workloads W1-W4 against hand-written SQL endpoints in the same server.

Loads the demo CRM with 10,000 accounts, 100,000 contacts and 50,000 opportunities owned
round-robin by four users (sales director, sales manager, sales rep, marketing), starts
one server process (uvicorn, one worker) that serves both the tenant's GraphQL API and
hand-written endpoints for the same answers, and drives each with wrk. For every endpoint
it reports requests/s and CPU per request of the server process and of the database
(PostgreSQL backends; SQLite runs inside the server).

Each workload runs twice:

- **full access**: a platform admin, so no row predicate; against hand-written SQL with
  no predicate;
- **role subtree**: the sales manager's API token, whose access depth on accounts,
  contacts and opportunities is the role subtree (their own records and the sales rep's:
  half the data); against hand-written SQL that filters ``owner`` by the same user ids.

Two hand-written variants stand for the physical limit: ``rows`` (plain rows, encoded
with msgspec in Python) and ``json`` (the database builds the JSON). The ratio is against
the better of the two.

    .venv/bin/python benchmarks/graphql_workloads.py --url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/graphql_workloads.py --url sqlite:///tmp/bench/tessera.sqlite3

Needs ``wrk`` (Debian: apt install wrk).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import make_url  # noqa: E402

from metadata.validation import validate_file  # noqa: E402
from runtime.demo import DEMO_DIR  # noqa: E402
from runtime.security.identity import Identity  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.storage.backends import make_backend  # noqa: E402
from runtime.storage.ids import new_id  # noqa: E402
from runtime.storage.tables import build_table  # noqa: E402
from runtime.tenants import TenantService  # noqa: E402

TENANT = "bench"
PASSWORD = "bench-password-2026"
# Owners round-robin; the manager's role subtree holds the manager and the rep.
OWNERS = [
    ("director@bench.example", "sales_director"),
    ("manager@bench.example", "sales_manager"),
    ("rep@bench.example", "sales_rep"),
    ("marketing@bench.example", "marketing"),
]
ADMIN = "admin@bench.example"

WORKLOADS: dict[str, str] = {
    "W1": "query($id: ID!) { account(id: $id) { id name industry rating employees website "
    "phone annualRevenue { amount currencyCode } createdAt } }",
    "W2": "{ contacts(first: 1000) { nodes { id lastName firstName title email mobile "
    "birthday doNotCall accountId createdAt } } }",
    "W3": "{ accounts(first: 100) { nodes { id name contacts(first: 10) { id lastName email "
    "account { name } } } } }",
    "W4": '{ opportunities(first: 50, filter: {stage: {in: ["proposal", "negotiation"]}, '
    'amount: {amount: {gte: "100000"}}}, orderBy: [{amount: DESC}]) { nodes { id name stage '
    "amount { amount currencyCode } closeDate account { name } } } }",
}
TITLE = {
    "W1": "one account by id",
    "W2": "1,000 contacts x 10 fields",
    "W3": "100 accounts x first 10 contacts x account name",
    "W4": "top 50 opportunities, filtered and ordered, with account name",
}


@dataclass
class Loaded:
    account_id: str  # an account the manager may read
    admin_token: str  # a platform admin's access token (full access)
    manager_token: str  # the manager's API token (role subtree)
    team: list[str]  # the user ids in the manager's role subtree


def _users(backend: Any, secret: str) -> tuple[dict[str, str], str, str]:
    """Create the owners and a platform admin; return owner ids by e-mail and two tokens."""
    identity = Identity(backend, secret.encode())
    # Users are platform-wide and outlive the bench tenant, so a rerun reuses them.
    existing = {user.email: user for user in identity.users()}
    if ADMIN not in existing:
        identity.create_user(ADMIN, PASSWORD, platform_admin=True)
    ids = {}
    for email, role in OWNERS:
        user = existing.get(email) or identity.create_user(email, PASSWORD)
        ids[email] = str(user.id)
        identity.set_membership(TENANT, email, role=role)
    admin = identity.login(ADMIN, PASSWORD, None)["access_token"]
    _, manager = identity.create_token(
        TENANT, "manager@bench.example", name="bench", role="sales_manager"
    )
    return ids, admin, manager


def load(url: str, secret: str, accounts: int, contacts: int, opportunities: int) -> Loaded:
    """Create the bench tenant with the demo metadata, its users and the dataset."""
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    service = TenantService(backend)
    if any(t.name == TENANT for t in service.list_tenants()):
        service.delete_tenant(TENANT)
    service.create_tenant(TENANT)
    metadata = validate_file(DEMO_DIR / "metadata.yaml")
    service.apply(TENANT, metadata)
    model, schema = metadata.model, backend.schema(TENANT)
    user_ids, admin_token, manager_token = _users(backend, secret)
    owners = [uuid.UUID(user_ids[email]) for email, _ in OWNERS]
    rng = random.Random(7)
    started = time.perf_counter()
    industries = ["manufacturing", "finance", "retail", "education", "automotive"]
    stages = ["prospecting", "qualification", "proposal", "negotiation", "closed_won"]
    account_ids = [new_id() for _ in range(accounts)]
    now = time.time()

    def moment(i: int) -> Any:
        return dt.datetime.fromtimestamp(now - i, dt.UTC)

    with backend.begin_tenant(TENANT) as conn:
        dialect = conn.dialect.name

        def insert(obj: str, rows: list[dict[str, Any]]) -> None:
            table = build_table(model, obj, schema=schema, dialect=dialect)
            for i in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[i : i + 5000])

        insert(
            "account",
            [
                {
                    "id": aid,
                    "owner": owners[i % 4],
                    "created_at": moment(i),
                    "updated_at": moment(i),
                    "row_version": 1,
                    "name": f"Account {i:05d}",
                    "industry": industries[i % 5],
                    "rating": "warm",
                    "employees": rng.randint(5, 50000),
                    "website": f"https://a{i}.example.com",
                    "phone": f"+86 21 5555 {i:04d}",
                    "annual_revenue": rng.randint(1, 10**9),
                    "annual_revenue__currency": "CNY",
                }
                for i, aid in enumerate(account_ids)
            ],
        )
        insert(
            "contact",
            [
                {
                    "id": new_id(),
                    "owner": owners[i % 4],
                    "created_at": moment(i),
                    "updated_at": moment(i),
                    "row_version": 1,
                    "account": account_ids[i % accounts],
                    "last_name": f"Last{i}",
                    "first_name": f"First{i}",
                    "title": "Buyer",
                    "email": f"c{i}@example.com",
                    "mobile": f"+86 139 {i:08d}",
                    "do_not_call": i % 7 == 0,
                }
                for i in range(contacts)
            ],
        )
        insert(
            "opportunity",
            [
                {
                    "id": new_id(),
                    "owner": owners[i % 4],
                    "created_at": moment(i),
                    "updated_at": moment(i),
                    "row_version": 1,
                    "number": f"OPP-2026-{i:06d}",
                    "name": f"Deal {i}",
                    "account": account_ids[i % accounts],
                    "stage": stages[i % 5],
                    "amount": rng.randint(1000, 5_000_000),
                    "amount__currency": "CNY",
                    "probability": 50,
                    "close_date": dt.date(2027, 1 + i % 12, 1 + i % 28),
                }
                for i in range(opportunities)
            ],
        )
    if backend.dialect == "postgresql":
        with backend.control.connect() as conn:
            # VACUUM now, so autovacuum does not wake up in the middle of a measurement.
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f'VACUUM ANALYZE "{schema}".account, "{schema}".contact, "{schema}".opportunity'
            )
    print(
        f"loaded {accounts:,} accounts, {contacts:,} contacts, {opportunities:,} "
        f"opportunities in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    backend.dispose()
    team = [user_ids["manager@bench.example"], user_ids["rep@bench.example"]]
    # Account i is owned by owners[i % 4]; index 1 belongs to the manager.
    middle = accounts // 2 - (accounts // 2) % 4 + 1
    return Loaded(str(account_ids[middle]), admin_token, manager_token, team)


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names if it does not exist yet."""
    import psycopg

    target = make_url(url)
    if target.get_backend_name() != "postgresql" or not target.database:
        return
    admin = target.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if found is None:
            conn.execute(f'CREATE DATABASE "{target.database}"')


def server_env(url: str, secret: str, port: int, **extra: str) -> dict[str, str]:
    """The environment a benchmark's server process runs with: the database, the secret,
    the port, and the rate limit lifted (wrk is one token at thousands a second; the
    limit is measured by the tests, not here)."""
    return {
        **os.environ,
        "TESSERA_DATABASE_URL": url,
        "TESSERA_SECRET_KEY": secret,
        "TESSERA_RATE_PER_MINUTE": str(10**9),
        "TESSERA_PORT": str(port),
        "PYTHONPATH": str(ROOT),
        **extra,
    }


def _cpu(pids: list[int]) -> dict[int, float]:
    """Return the user+system CPU seconds of each live process in ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    """Return the CPU seconds spent between two readings (new processes count whole)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _database_pids(database: str) -> list[int]:
    """Return the PostgreSQL backends serving ``database`` (not autovacuum or others)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if command.startswith("postgres: ") and f" {database} " in command:
            pids.append(int(entry.name))
    return pids


def _wrk(
    url: str, body: str, seconds: int, connections: int, token: str | None
) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"{auth}wrk.body = {json.dumps(body)}\n"
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{out}")
    return {"rps": rps, "requests": requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("TESSERA_BENCH_URL", "postgresql://postgres@127.0.0.1/postgres"),
    )
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", choices=["full", "subtree"], help="run one access level")
    parser.add_argument("--json", action="store_true", help="print results as JSON too")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    secret = secrets.token_urlsafe(32)
    loaded = load(args.url, secret, args.accounts, args.contacts, args.opportunities)
    env = {
        **os.environ,
        "TESSERA_DATABASE_URL": args.url,
        "TESSERA_SECRET_KEY": secret,
        # wrk sends thousands of requests a second from one token: lift the rate limit,
        # which is measured by the tests, not here.
        "TESSERA_RATE_PER_MINUTE": str(10**9),
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks._bench_server:app",
            "--port",
            str(args.port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    levels = {
        "full": (loaded.admin_token, None),
        "subtree": (loaded.manager_token, loaded.team),
    }
    try:
        _wait(base)
        postgres = make_url(args.url).get_backend_name() == "postgresql"
        database = make_url(args.url).database or ""
        results = []
        for level, (token, team) in levels.items():
            if args.only and level != args.only:
                continue
            for name, query in WORKLOADS.items():
                variables = {"id": loaded.account_id} if name == "W1" else {}
                body = json.dumps({"query": query, "variables": variables})
                scoped = json.dumps({**variables, "owners": team} if team else variables)
                suffix = "-subtree" if team else ""
                targets = {
                    "graphql": (f"{base}/t/{TENANT}/graphql", body, token),
                    "hand-written rows": (f"{base}/bench/{name}/rows{suffix}", scoped, None),
                    "hand-written json": (f"{base}/bench/{name}/json{suffix}", scoped, None),
                }
                _check_same(targets, f"{name} ({level})")
                row: dict[str, Any] = {"workload": name, "access": level}
                for label, (url, payload, auth) in targets.items():
                    _wrk(url, payload, 1, args.connections, auth)  # warm up
                    server_before = _cpu([server.pid])
                    db_before = _cpu(_database_pids(database)) if postgres else {}
                    measured = _wrk(url, payload, args.seconds, args.connections, auth)
                    n = measured["requests"]
                    server_after = _cpu([server.pid])
                    db_after = _cpu(_database_pids(database)) if postgres else {}
                    row[label] = {
                        "rps": measured["rps"],
                        "server_ms": _spent(server_before, server_after) * 1000 / n,
                        "db_ms": _spent(db_before, db_after) * 1000 / n if postgres else None,
                    }
                best = max(row["hand-written rows"]["rps"], row["hand-written json"]["rps"])
                row["ratio"] = row["graphql"]["rps"] / best
                results.append(row)
                _print_row(row)
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(10)


def alternate(
    start: Any,
    bodies: dict[str, str],
    args: Any,
    token: str,
    modes: tuple[str, str] = ("off", "on"),
) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Drive a server started by ``start(mode)`` (a Popen on ``args.port``) through each
    workload body with wrk, ``args.rounds`` times per mode, swapping which mode goes first
    every round; return (workload, mode) -> samples of req/s and server CPU ms/request."""
    base = f"http://127.0.0.1:{args.port}"
    url = f"{base}/t/{TENANT}/graphql"
    samples: dict[tuple[str, str], list[dict[str, float]]] = {}
    for round_number in range(1, args.rounds + 1):
        for mode in modes if round_number % 2 else modes[::-1]:
            server = start(mode)
            try:
                _wait(base)
                for name, body in bodies.items():
                    _wrk(url, body, 1, args.connections, token)  # warm up
                    before = _cpu([server.pid])
                    measured = _wrk(url, body, args.seconds, args.connections, token)
                    after = _cpu([server.pid])
                    cpu_ms = (after[server.pid] - before[server.pid]) * 1000 / measured["requests"]
                    samples.setdefault((name, mode), []).append(
                        {"rps": measured["rps"], "server_ms": cpu_ms}
                    )
                    print(
                        f"round {round_number} {name} {mode:>3}: {measured['rps']:8.1f} req/s, "
                        f"{cpu_ms:.3f} ms server CPU/request",
                        flush=True,
                    )
            finally:
                server.terminate()
                server.wait(15)
    return samples


def _wait(base: str) -> None:
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not start")


def _check_same(targets: dict[str, tuple[str, str, str | None]], name: str) -> None:
    """Fail unless every endpoint returns the same number of records (same answer)."""
    import httpx

    counts = {}
    for label, (url, payload, token) in targets.items():
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = httpx.post(url, content=payload, headers=headers)
        if response.status_code != 200 or "errors" in response.json():
            raise SystemExit(f"{name} {label}: {response.status_code} {response.text[:500]}")
        body = response.json()
        counts[label] = _count(body)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"{name}: endpoints disagree on the answer: {counts}")


def _count(body: Any) -> int:
    if isinstance(body, dict) and "data" in body:
        (value,) = body["data"].values()
        body = value["nodes"] if isinstance(value, dict) and "nodes" in value else [value]
    return len(body) if isinstance(body, list) else 1


def _print_row(row: dict[str, Any]) -> None:
    parts = [
        f"{row['workload']} ({TITLE[row['workload']]}), {row['access']} access: GraphQL at "
        f"{row['ratio']:.2f}x the best hand-written"
    ]
    for label in ("graphql", "hand-written rows", "hand-written json"):
        r = row[label]
        db = f", db {r['db_ms']:.2f} ms" if r["db_ms"] is not None else ""
        parts.append(
            f"  {label:18} {r['rps']:8.1f} req/s, server {r['server_ms']:.2f} ms{db} CPU/request"
        )
    print("\n".join(parts), flush=True)


if __name__ == "__main__":
    main()
