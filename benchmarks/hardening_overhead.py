"""What issue 15's request-path checks cost on W1-W4, against the same server without.

Loads the demo CRM (as benchmarks/graphql_workloads.py does, smaller by default), then
runs the server alternately, for several rounds (benchmarks/_hardening_server.py):

- **on**: as shipped: the HTTP input boundary (body size, JSON depth and NUL checks on
  every request), a 10 s statement timeout (PostgreSQL's session setting; SQLite's
  progress handler), and the GraphQL endpoint watching for the client's disconnect;
- **off**: none of those.

Each round drives W1-W4 with wrk and records requests/s and the server's CPU per request.
The overhead is (off - on) / off of the medians over rounds; the bar is 3%. Because the
end-to-end figures move by several percent between rounds on a small machine, the script
also times the input boundary alone, in-process, on each workload's request.

    .venv/bin/python benchmarks/hardening_overhead.py --url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/hardening_overhead.py --url sqlite:////tmp/bench-hard/tessera.sqlite3

Needs ``wrk`` (Debian: apt install wrk).
"""

from __future__ import annotations

import argparse
import asyncio
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

from benchmarks.graphql_workloads import (  # noqa: E402
    TENANT,
    WORKLOADS,
    alternate,
    load,
    server_env,
)

NAMES = ("W1", "W2", "W3", "W4")


def serve(mode: str, args: Any, secret: str, log: Path) -> subprocess.Popen[bytes]:
    env = server_env(
        args.url,
        secret,
        args.port,
        BENCH_MODE=mode,
        TESSERA_METRICS="false",
        TESSERA_LOG_LEVEL="warning",
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "_hardening_server.py")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def boundary_cost(bodies: dict[str, bytes], n: int = 20_000) -> dict[str, float]:
    """Microseconds the input boundary adds to each workload's request, in-process."""
    from runtime.server.inputs import InputBoundary

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    boundary = InputBoundary(app)
    out = {}
    for name, body in bodies.items():
        scope = {
            "type": "http",
            "method": "POST",
            "path": f"/t/{TENANT}/graphql",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
        }

        async def receive(body: bytes = body) -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def run(times: int, scope: dict[str, Any] = scope) -> None:
            for _ in range(times):
                await boundary(scope, receive, None)  # type: ignore[arg-type]

        async def bare(times: int, scope: dict[str, Any] = scope) -> None:
            for _ in range(times):
                await app(scope, receive, None)

        started = time.perf_counter()
        asyncio.run(run(n))
        checked = time.perf_counter() - started
        started = time.perf_counter()
        asyncio.run(bare(n))
        out[name] = (checked - (time.perf_counter() - started)) * 1e6 / n
    return out


def inflight_cost(n: int = 5_000) -> float:
    """Microseconds the disconnect registry adds around a request's worker-thread hop."""
    import anyio

    from runtime.server.inflight import Inflight

    inflight = Inflight()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async def watched() -> None:
        await inflight.run(receive, lambda _cancellation: 1)

    async def bare() -> None:
        await anyio.to_thread.run_sync(lambda: 1)

    async def timed(call: Any) -> float:
        for _ in range(200):
            await call()
        started = time.process_time()
        for _ in range(n):
            await call()
        return (time.process_time() - started) * 1e6 / n

    async def both() -> float:
        costs = [await timed(watched) - await timed(bare) for _ in range(3)]
        inflight.close()
        return statistics.median(costs)

    return asyncio.run(both())


def statement_cost(url: str, loaded: Any, n: int = 400) -> dict[str, float]:
    """Microseconds the statement timeout adds to each workload's SQL, timed in-process:
    the same compiled statement on a bounded and an unbounded backend, call by call in
    alternation; the difference of the median call times (medians: this machine's noise
    comes in bursts that would swamp a mean)."""
    from runtime.settings import Settings
    from runtime.storage.backends import make_backend

    bounded = make_backend(Settings(database_url=url, statement_timeout=10.0))
    free = make_backend(Settings(database_url=url, statement_timeout=0.0))
    out = {}
    for name in NAMES:
        sql, params = _compiled(bounded, name, loaded)
        times: dict[str, list[float]] = {"bounded": [], "free": []}
        with bounded.read_tenant(TENANT) as b, free.read_tenant(TENANT) as f:
            conns = {"bounded": b, "free": f}
            for i in range(n + 20):
                for which in ("bounded", "free") if i % 2 else ("free", "bounded"):
                    started = time.perf_counter()
                    conns[which].exec_driver_sql(sql, params).scalar()
                    if i >= 20:  # after warming up (psycopg prepares after 5 runs)
                        times[which].append(time.perf_counter() - started)
        out[name] = (statistics.median(times["bounded"]) - statistics.median(times["free"])) * 1e6
    bounded.dispose()
    free.dispose()
    return out


def _compiled(backend: Any, name: str, loaded: Any) -> tuple[str, dict[str, Any]]:
    """The SQL and parameters the compiler writes for workload ``name`` (full access)."""
    import datetime as dt

    from graphql import get_operation_ast
    from graphql.execution.values import get_variable_values

    from runtime.graphql.cache import ActiveApis, SchemaCache
    from runtime.graphql.compiler.context import Context
    from runtime.graphql.compiler.roots import compile_root
    from runtime.graphql.responses import collect_root
    from runtime.security.principal import Principal
    from runtime.sql.dialect import dialect_for
    from runtime.tenants import TenantService

    api, _ = ActiveApis(TenantService(backend), SchemaCache()).get(TENANT)
    document, _ = api.document(WORKLOADS[name])
    operation = get_operation_ast(document)
    variables = get_variable_values(
        api.schema,
        operation.variable_definitions or (),
        {"id": loaded.account_id} if name == "W1" else {},
    )
    ctx = Context(
        schema=api.schema,
        shape=api.shape,
        dialect=dialect_for(backend.dialect, backend.schema(TENANT)),
        fragments={},
        variables=variables,
        limits=api.limits,
        principal=Principal.system(TENANT),
        today=dt.date.today(),
    )
    [(key, nodes)] = collect_root(ctx, api.schema.query_type, operation.selection_set).items()
    sql = compile_root(ctx, nodes[0], key)
    return sql, ctx.params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get("TESSERA_BENCH_URL", "postgresql://postgres@127.0.0.1/postgres"),
    )
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    secret = secrets.token_urlsafe(32)
    loaded = load(args.url, secret, args.accounts, args.contacts, args.opportunities)
    logs = Path(tempfile.mkdtemp(prefix="tessera-bench-hard-"))
    bodies = {
        name: json.dumps(
            {
                "query": WORKLOADS[name],
                "variables": {"id": loaded.account_id} if name == "W1" else {},
            }
        )
        for name in NAMES
    }
    samples = alternate(
        lambda mode: serve(mode, args, secret, logs / f"{mode}.log"),
        bodies,
        args,
        loaded.admin_token,
    )
    pieces = boundary_cost({k: v.encode() for k, v in bodies.items()})
    registry = inflight_cost()
    statements = statement_cost(args.url, loaded)
    results = []
    for name in NAMES:
        on = statistics.median(s["rps"] for s in samples[(name, "on")])
        off = statistics.median(s["rps"] for s in samples[(name, "off")])
        cpu_on = statistics.median(s["server_ms"] for s in samples[(name, "on")])
        cpu_off = statistics.median(s["server_ms"] for s in samples[(name, "off")])
        row = {
            "workload": name,
            "rps_off": off,
            "rps_on": on,
            "throughput_overhead": (off - on) / off,
            "server_ms_off": cpu_off,
            "server_ms_on": cpu_on,
            "cpu_overhead": (cpu_on - cpu_off) / cpu_off,
            "boundary_us": pieces[name],
            "inflight_us": registry,
            "statement_timeout_us": statements[name],
            "pieces_share": (pieces[name] + registry + max(0.0, statements[name])) / 1000 / cpu_off,
        }
        results.append(row)
        print(
            f"{name}: {off:.1f} req/s off, {on:.1f} on ({row['throughput_overhead']:+.1%} "
            f"throughput cost); server CPU {cpu_off:.3f} -> {cpu_on:.3f} ms/request "
            f"({row['cpu_overhead']:+.1%}). Timed in-process: input boundary "
            f"{pieces[name]:.1f} us, disconnect registry {registry:.1f} us, statement "
            f"timeout {statements[name]:+.1f} us per statement: together "
            f"{row['pieces_share']:.2%} of the request's server CPU"
        )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
