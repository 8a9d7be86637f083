"""GraphQL workloads W1-W4 against hand-written SQL endpoints in the same server.

Loads the demo CRM with 10,000 accounts, 100,000 contacts and 50,000 opportunities,
starts one server process (uvicorn, one worker) that serves both the tenant's GraphQL API
and hand-written endpoints for the same answers, and drives each with wrk. For every
endpoint it reports requests/s and CPU per request of the server process and of the
database (PostgreSQL backends; SQLite runs inside the server).

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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import make_url  # noqa: E402

from metadata.validation import validate_file  # noqa: E402
from runtime.demo import DEMO_DIR  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.storage.backends import make_backend  # noqa: E402
from runtime.storage.ids import new_id  # noqa: E402
from runtime.storage.tables import build_table  # noqa: E402
from runtime.tenants import TenantService  # noqa: E402

TENANT = "bench"

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


def load(url: str, accounts: int, contacts: int, opportunities: int) -> str:
    """Create the bench tenant with the demo metadata and the dataset; return an account id."""
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    service = TenantService(backend)
    if any(t.name == TENANT for t in service.list_tenants()):
        service.delete_tenant(TENANT)
    service.create_tenant(TENANT)
    metadata = validate_file(DEMO_DIR / "metadata.yaml")
    service.apply(TENANT, metadata)
    model, schema = metadata.model, backend.schema(TENANT)
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
    return str(account_ids[accounts // 2])


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


def _wrk(url: str, body: str, seconds: int, connections: int) -> dict[str, float]:
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
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
    parser.add_argument("--json", action="store_true", help="print results as JSON too")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    account_id = load(args.url, args.accounts, args.contacts, args.opportunities)
    env = {**os.environ, "TESSERA_DATABASE_URL": args.url, "PYTHONPATH": str(ROOT)}
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
    try:
        _wait(base)
        postgres = make_url(args.url).get_backend_name() == "postgresql"
        results = []
        for name, query in WORKLOADS.items():
            variables = {"id": account_id} if name == "W1" else {}
            body = json.dumps({"query": query, "variables": variables})
            targets = {
                "graphql": (f"{base}/t/{TENANT}/graphql", body),
                "hand-written rows": (f"{base}/bench/{name}/rows", json.dumps(variables)),
                "hand-written json": (f"{base}/bench/{name}/json", json.dumps(variables)),
            }
            _check_same(targets, name)
            row: dict[str, Any] = {"workload": name}
            for label, (url, payload) in targets.items():
                _wrk(url, payload, 1, args.connections)  # warm up
                database = make_url(args.url).database or ""
                server_before = _cpu([server.pid])
                db_before = _cpu(_database_pids(database)) if postgres else {}
                measured = _wrk(url, payload, args.seconds, args.connections)
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


def _check_same(targets: dict[str, tuple[str, str]], name: str) -> None:
    """Fail unless every endpoint returns the same number of records (same answer)."""
    import httpx

    counts = {}
    for label, (url, payload) in targets.items():
        response = httpx.post(url, content=payload, headers={"content-type": "application/json"})
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
        f"{row['workload']} ({TITLE[row['workload']]}): GraphQL at {row['ratio']:.2f}x "
        "the best hand-written"
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
