"""W1-W4 measured from outside: `tessera serve` against a separate minimal server.

Loads the demo CRM (10,000 accounts, 100,000 contacts, 50,000 opportunities; see
``graphql_workloads.py``) into PostgreSQL, then starts, side by side:

- **tessera**: ``tessera serve`` as shipped (one process, its defaults);
- **baseline**: ``_baseline_server.py``, a separate process that imports nothing from
  Tessera: Litestar on uvicorn with uvloop and httptools, a psycopg 3 pool in autocommit
  with prepared statements, one hand-written statement per workload whose JSON the
  database builds, wrapped in the same envelope;
- **postgraphile** (optional, ``--postgraphile DIR`` where DIR holds an npm install of
  ``postgraphile@4.14`` and ``postgraphile-plugin-connection-filter``): the same tables
  through PostGraphile's generated API, full access only (it has no role-subtree model
  short of row-level security policies).

and drives each workload on each server with wrk (``--connections`` connections, a 1 s
warm-up, then ``--seconds``), for ``--rounds`` rounds, rotating which server goes first.
It reports medians over the rounds: requests/s, latency p50 and p99 (wrk's), and CPU per
request of the server process and of the PostgreSQL backends serving the database.

    .venv/bin/python benchmarks/server_workloads.py --url postgresql://postgres@127.0.0.1/bench
    # with PostGraphile: (cd /tmp/pgl && npm install postgraphile@4.14 \\
    #     postgraphile-plugin-connection-filter@2); add --postgraphile /tmp/pgl

Needs ``wrk`` (Debian: apt install wrk) and the ``bench`` extra (psycopg-pool, uvloop).
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
    ADMIN,
    PASSWORD,
    TENANT,
    TITLE,
    WORKLOADS,
    _cpu,
    _database_pids,
    _spent,
    ensure_database,
    load,
    server_env,
)
from runtime.settings import Settings  # noqa: E402
from runtime.storage.backends import make_backend  # noqa: E402

# The same questions in PostGraphile's generated API (its names for the same tables;
# money is two columns there). Soft-deleted rows are filtered out as Tessera does.
LIVE = "deletedAt: {isNull: true}"
POSTGRAPHILE: dict[str, str] = {
    "W1": "query($id: UUID!) { accountById(id: $id) { id name industry rating employees "
    "website phone annualRevenue annualRevenueCurrency createdAt } }",
    "W2": f"{{ allContacts(first: 1000, orderBy: PRIMARY_KEY_ASC, filter: {{{LIVE}}}) {{ "
    "nodes { id lastName firstName title email mobile birthday doNotCall account "
    "createdAt } } }",
    "W3": f"{{ allAccounts(first: 100, orderBy: PRIMARY_KEY_ASC, filter: {{{LIVE}}}) {{ nodes "
    f"{{ id name contactsByAccount(first: 10, orderBy: PRIMARY_KEY_ASC, filter: {{{LIVE}}}) "
    "{ nodes { id lastName email accountByAccount { name } } } } } }",
    "W4": '{ allOpportunities(first: 50, filter: {stage: {in: ["proposal", "negotiation"]}, '
    f'amount: {{greaterThanOrEqualTo: "100000"}}, {LIVE}}}, orderBy: [AMOUNT_DESC, '
    "PRIMARY_KEY_ASC]) { nodes { id name stage amount amountCurrency closeDate "
    "accountByAccount { name } } } }",
}


def _wrk(url: str, body: str, seconds: int, connections: int, token: str | None) -> dict:
    """Drive ``url`` with POSTs of ``body``; return req/s, request count, p50 and p99 ms."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"{auth}wrk.body = {json.dumps(body)}\n"
    )
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    out = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{out}")

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": percentile("50"),
        "p99": percentile("99"),
    }


def _wait(url: str, process: subprocess.Popen[bytes], name: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not start")


def _count(body: Any) -> int:
    (value,) = body["data"].values()
    if isinstance(value, dict) and "nodes" in value:
        return len(value["nodes"])
    return 1 if value else 0


def _check(name: str, targets: dict[str, tuple[str, str, str | None]]) -> None:
    """Fail unless every server answers with the same number of records."""
    counts = {}
    for label, (url, body, token) in targets.items():
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = httpx.post(url, content=body, headers=headers, timeout=30)
        payload = response.json()
        if response.status_code != 200 or payload.get("errors"):
            raise SystemExit(f"{name} {label}: {response.status_code} {response.text[:500]}")
        counts[label] = _count(payload)
    if len(set(counts.values())) != 1:
        raise SystemExit(f"{name}: the servers disagree on the answer: {counts}")


def _start(args: argparse.Namespace, secret: str) -> dict[str, subprocess.Popen[bytes]]:
    url = make_url(args.url)
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    schema = make_backend(Settings(database_url=args.url)).schema(TENANT)
    quiet = {"stdout": subprocess.DEVNULL} if not args.verbose else {}
    servers = {
        "tessera": subprocess.Popen(
            [str(Path(sys.executable).parent / "tessera"), "serve", "--port", str(args.port)],
            cwd=ROOT,
            env=server_env(args.url, secret, args.port),
            **quiet,
        ),
        "baseline": subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "benchmarks._baseline_server:app"),
                *("--port", str(args.port + 1), "--loop", "uvloop", "--http", "httptools"),
                *("--no-access-log", "--log-level", "warning"),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "BASELINE_DATABASE_URL": plain,
                "BASELINE_SCHEMA": schema,
            },
            **quiet,
        ),
    }
    if args.postgraphile:
        binary = Path(args.postgraphile) / "node_modules" / ".bin" / "postgraphile"
        servers["postgraphile"] = subprocess.Popen(
            [
                *(str(binary), "-c", plain, "--schema", schema, "--port", str(args.port + 2)),
                *("--append-plugins", "postgraphile-plugin-connection-filter"),
                *("--disable-query-log", "--disable-graphiql"),
            ],
            cwd=args.postgraphile,
            stderr=subprocess.DEVNULL if not args.verbose else None,
            **quiet,
        )
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1/bench")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8770)
    parser.add_argument("--postgraphile", help="a folder holding an npm install of it")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W4")
    parser.add_argument("--no-load", action="store_true", help="reuse the loaded tenant")
    parser.add_argument("--verbose", action="store_true", help="show the servers' output")
    parser.add_argument("--json", action="store_true", help="print results as JSON too")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    if make_url(args.url).get_backend_name() != "postgresql":
        raise SystemExit("this benchmark compares servers on PostgreSQL: give --url postgresql://")
    ensure_database(args.url)
    secret_file = Path(tempfile.gettempdir()) / "tessera-server-workloads.json"
    if args.no_load and secret_file.exists():
        loaded_json = json.loads(secret_file.read_text())
    else:
        secret = secrets.token_urlsafe(32)
        loaded = load(args.url, secret, args.accounts, args.contacts, args.opportunities)
        loaded_json = {"secret": secret, **loaded.__dict__}
        secret_file.write_text(json.dumps(loaded_json))
    servers = _start(args, loaded_json["secret"])
    database = make_url(args.url).database or ""
    base = "http://127.0.0.1"
    try:
        _wait(f"{base}:{args.port}/health", servers["tessera"], "tessera")
        _wait(f"{base}:{args.port + 1}/health", servers["baseline"], "baseline")
        if "postgraphile" in servers:
            _wait(f"{base}:{args.port + 2}/graphql", servers["postgraphile"], "postgraphile")
        # A fresh sign-in: access tokens expire, and --no-load reuses an earlier run's data.
        signed_in = httpx.post(
            f"{base}:{args.port}/auth/login", json={"email": ADMIN, "password": PASSWORD}
        )
        signed_in.raise_for_status()
        levels = {
            "full": (signed_in.json()["access_token"], None),
            "subtree": (loaded_json["manager_token"], loaded_json["team"]),
        }
        chosen = args.only.split(",") if args.only else list(WORKLOADS)
        samples: dict[tuple[str, str, str], list[dict[str, float]]] = {}
        for round_number in range(args.rounds):
            for level, (token, team) in levels.items():
                for name in chosen:
                    variables = {"id": loaded_json["account_id"]} if name == "W1" else {}
                    suffix = "/subtree" if team else ""
                    given = {**variables, "owners": team} if team else variables
                    targets = {
                        "tessera": (
                            f"{base}:{args.port}/t/{TENANT}/graphql",
                            json.dumps({"query": WORKLOADS[name], "variables": variables}),
                            token,
                        ),
                        "baseline": (
                            f"{base}:{args.port + 1}/w/{name}{suffix}",
                            json.dumps(given),
                            None,
                        ),
                    }
                    if "postgraphile" in servers and not team:
                        targets["postgraphile"] = (
                            f"{base}:{args.port + 2}/graphql",
                            json.dumps({"query": POSTGRAPHILE[name], "variables": variables}),
                            None,
                        )
                    if round_number == 0:
                        _check(f"{name} ({level})", targets)
                    order = list(targets)
                    shift = round_number % len(order)
                    for label in order[shift:] + order[:shift]:
                        url, body, auth = targets[label]
                        _wrk(url, body, 1, args.connections, auth)  # warm up
                        pid = servers[label].pid
                        before = _cpu([pid]), _cpu(_database_pids(database))
                        measured = _wrk(url, body, args.seconds, args.connections, auth)
                        after = _cpu([pid]), _cpu(_database_pids(database))
                        n = measured["requests"]
                        sample = {
                            **measured,
                            "server_ms": _spent(before[0], after[0]) * 1000 / n,
                            "db_ms": _spent(before[1], after[1]) * 1000 / n,
                        }
                        samples.setdefault((name, level, label), []).append(sample)
                        print(
                            f"round {round_number + 1} {name} {level:7} {label:12} "
                            f"{sample['rps']:8.1f} req/s  p50 {sample['p50']:.2f} ms  p99 "
                            f"{sample['p99']:.2f} ms  server {sample['server_ms']:.3f} ms  "
                            f"db {sample['db_ms']:.3f} ms CPU/request",
                            flush=True,
                        )
        results = _summarize(samples, chosen)
        _print_table(results)
        if args.json:
            print(json.dumps(results, indent=2))
    finally:
        for process in servers.values():
            process.terminate()
        for process in servers.values():
            process.wait(15)


def _summarize(samples: dict, chosen: list[str]) -> list[dict[str, Any]]:
    results = []
    for level in ("full", "subtree"):
        for name in chosen:
            row: dict[str, Any] = {"workload": name, "access": level}
            for label in ("tessera", "baseline", "postgraphile"):
                runs = samples.get((name, level, label))
                if runs:
                    row[label] = {
                        key: statistics.median(r[key] for r in runs)
                        for key in ("rps", "p50", "p99", "server_ms", "db_ms")
                    }
            if "tessera" in row and "baseline" in row:
                base = row["baseline"]["rps"]
                row["ratio"] = row["tessera"]["rps"] / base
                if "postgraphile" in row:
                    row["postgraphile_ratio"] = row["postgraphile"]["rps"] / base
                results.append(row)
    return results


def _print_table(results: list[dict[str, Any]]) -> None:
    print(
        "\n| workload | access | baseline req/s | Tessera | PostGraphile | Tessera p50 / p99 "
        "| baseline p50 / p99 | Tessera CPU/request: server + db | baseline: server + db |"
    )
    print("|---|---|---:|---:|---:|---|---|---|---|")
    for row in results:
        t, b = row["tessera"], row["baseline"]
        pg = f"{row['postgraphile_ratio']:.2f}x" if "postgraphile_ratio" in row else "-"
        print(
            f"| {row['workload']} {TITLE[row['workload']]} | {row['access']} | {b['rps']:,.0f} "
            f"| **{row['ratio']:.2f}x** | {pg} | {t['p50']:.2f} / {t['p99']:.2f} ms "
            f"| {b['p50']:.2f} / {b['p99']:.2f} ms | {t['server_ms']:.2f} + {t['db_ms']:.2f} ms "
            f"| {b['server_ms']:.2f} + {b['db_ms']:.2f} ms |"
        )


if __name__ == "__main__":
    main()
