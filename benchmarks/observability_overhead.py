"""What metrics and structured logs cost on W1 and W2, against the same server without.

Loads the demo CRM (as benchmarks/graphql_workloads.py does, smaller by default), then
runs `tessera serve` twice over, alternating, for several rounds:

- **on**: Prometheus metrics (``TESSERA_METRICS=true``) and a JSON access log line per
  request (``TESSERA_LOG_FORMAT=json``, ``TESSERA_ACCESS_LOG=true``), written to a file;
- **off**: no metrics, and no access log lines (``TESSERA_LOG_LEVEL=warning``).

Both keep the request-id middleware, which is always on. Each round drives W1 (one
account by id) and W2 (1,000 contacts x 10 fields) with wrk and records requests/s and
the server's CPU per request. The overhead is (off - on) / off of the median over rounds,
and the bar is 5%.

On a small shared machine the end-to-end figures move by several percent from round to
round, more than what is measured, so the script also times the pieces a request adds
when they are on, in-process and many times over: the JSON access log line, the metric
updates, and the SQL timing listeners (which run in both modes), and reports them as a
share of each workload's server CPU per request.

    .venv/bin/python benchmarks/observability_overhead.py --url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/observability_overhead.py --url sqlite:////tmp/bench/tessera.sqlite3

Needs ``wrk`` (Debian: apt install wrk).
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.graphql_workloads import (  # noqa: E402
    WORKLOADS,
    alternate,
    load,
    server_env,
)

MODES = {
    "on": {
        "TESSERA_METRICS": "true",
        "TESSERA_LOG_FORMAT": "json",
        "TESSERA_LOG_LEVEL": "info",
        "TESSERA_ACCESS_LOG": "true",
    },
    "off": {
        "TESSERA_METRICS": "false",
        "TESSERA_LOG_FORMAT": "json",
        "TESSERA_LOG_LEVEL": "warning",
    },
}


def serve(mode: str, args: Any, secret: str, log: Path) -> subprocess.Popen[bytes]:
    env = server_env(args.url, secret, args.port, **MODES[mode])
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "runtime.cli.main", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def pieces(n: int = 20_000) -> dict[str, float]:
    """Time what metrics and logs add to one request, in this process: microseconds."""
    import logging
    import time

    from runtime.observability import logs
    from runtime.observability.metrics import Metrics, SqlTimer, _after, _before, sql_timer

    logs.configure("json", "info", process="bench")
    handler = logging.getLogger().handlers[0]
    handler.setStream(open(os.devnull, "w"))  # type: ignore[attr-defined]  # noqa: SIM115
    access = logging.getLogger("tessera.access")
    extra = {
        "method": "POST",
        "path": "/t/bench/graphql",
        "route": "/t/{tenant}/graphql",
        "status": 200,
        "duration_ms": 2.5,
        "sql_ms": 0.8,
        "sql_statements": 2,
    }
    with logs.bound(request_id="0123456789abcdef0123456789abcdef", tenant="bench"):
        started = time.perf_counter()
        for _ in range(n):
            access.info("%s %s %d %.1f ms", "POST", "/t/bench/graphql", 200, 2.5, extra=extra)
        log_us = (time.perf_counter() - started) * 1e6 / n
    logging.getLogger().removeHandler(handler)
    metrics = Metrics()
    route, label = "/t/{tenant}/graphql", "default"
    started = time.perf_counter()
    for _ in range(n):
        metrics.requests.labels(route, "POST", "200", label).inc()
        metrics.latency.labels(route, "POST", label).observe(0.0025)
        metrics.sql_seconds.labels(route).observe(0.0008)
        metrics.sql_statements.labels(route).observe(2)
        metrics.graphql.labels("query", label).observe(0.002)
    metrics_us = (time.perf_counter() - started) * 1e6 / n

    class Conn:
        info: dict[str, float] = {}

    conn = Conn()
    token = sql_timer.set(SqlTimer())
    started = time.perf_counter()
    for _ in range(n):
        _before(conn, None, None, None, None, None)
        _after(conn, None, None, None, None, None)
    sql_us = (time.perf_counter() - started) * 1e6 / n
    sql_timer.reset(token)
    return {"log": log_us, "metrics": metrics_us, "sql": sql_us}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("TESSERA_BENCH_URL", "postgresql://postgres@127.0.0.1/postgres"),
    )
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    secret = secrets.token_urlsafe(32)
    loaded = load(args.url, secret, args.accounts, args.contacts, args.opportunities)
    logs = Path(tempfile.mkdtemp(prefix="tessera-bench-logs-"))
    bodies = {
        name: json.dumps(
            {
                "query": WORKLOADS[name],
                "variables": {"id": loaded.account_id} if name == "W1" else {},
            }
        )
        for name in ("W1", "W2")
    }
    samples = alternate(
        lambda mode: serve(mode, args, secret, logs / f"{mode}.log"),
        bodies,
        args,
        loaded.admin_token,
    )
    lines = (logs / "on.log").read_text(errors="replace").splitlines()
    access = [json.loads(line) for line in lines if line.startswith("{") and '"status"' in line]
    results = []
    for name in ("W1", "W2"):
        on = statistics.median(s["rps"] for s in samples[(name, "on")])
        off = statistics.median(s["rps"] for s in samples[(name, "off")])
        cpu_on = statistics.median(s["server_ms"] for s in samples[(name, "on")])
        cpu_off = statistics.median(s["server_ms"] for s in samples[(name, "off")])
        row = {
            "workload": name,
            "rps_on": on,
            "rps_off": off,
            "throughput_overhead": (off - on) / off,
            "server_ms_on": cpu_on,
            "server_ms_off": cpu_off,
            "cpu_overhead": (cpu_on - cpu_off) / cpu_off,
        }
        results.append(row)
        print(
            f"{name}: {off:.1f} req/s off, {on:.1f} on ({row['throughput_overhead']:+.1%} "
            f"throughput cost); server CPU {cpu_off:.3f} -> {cpu_on:.3f} ms/request "
            f"({row['cpu_overhead']:+.1%})"
        )
    print(
        f"access log lines written with metrics on: {len(access):,} (each with request_id:"
        f" {all('request_id' in a for a in access)})"
    )
    costs = pieces()
    print(
        f"per request, timed in-process: access log line {costs['log']:.1f} us, metric "
        f"updates {costs['metrics']:.1f} us (on); SQL timing listeners {costs['sql']:.1f} us "
        "per statement (both)"
    )
    for row in results:
        added = (costs["log"] + costs["metrics"]) / 1000
        row["pieces_share_of_cpu"] = added / row["server_ms_off"]
        print(
            f"{row['workload']}: the pieces are {added * 1000:.0f} us of "
            f"{row['server_ms_off'] * 1000:.0f} us server CPU per request "
            f"({row['pieces_share_of_cpu']:.1%})"
        )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
