"""10,000 record updates with an active trigger: throughput and lag.

A tenant has an object ``item`` and one after-save workflow: on every update, add 1 to
``bumped`` (a database action, exactly once). The benchmark updates 10,000 items through
the GraphQL mutation path (100 per request), while a real Celery worker process on a
real broker runs the workflows, and reports:

- write throughput with the trigger active (the outbox row is part of each write), next
  to the same updates with no workflow (baseline 1);
- workflow throughput: runs finished per second, from the first update to the last run;
- lag per run: from the event's commit (outbox created_at) to the run's finish, p50/p95/max;
- baseline 2: the effect written as hand-written SQL (UPDATE ... SET bumped = bumped + 1),
  10,000 single-row statements in one transaction, the floor for doing the work at all.

    python benchmarks/workflow_throughput.py [--updates 10000] [--broker redis://127.0.0.1:6379/0]
        [--url sqlite:///... | postgresql://...] [--concurrency 4] [--rate 50]

Defaults: a temporary SQLite data folder and Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import select, text

from metadata.validation import validate_data
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.principal import Principal
from runtime.settings import Settings, WorkflowSettings
from runtime.sql import naming
from runtime.storage.backends import make_backend
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS
from runtime.tenants import TenantService


def metadata(trigger: bool) -> dict:
    doc: dict = {
        "objects": {"item": {"fields": {"n": {"type": "integer"}, "bumped": {"type": "integer"}}}}
    }
    if trigger:
        doc["workflows"] = {
            "bump": {
                "object": "item",
                "trigger": {"on": ["updated"], "condition": "ISCHANGED(n)"},
                "actions": [{"score": {"field": "bumped", "add": "1"}}],
            }
        }
    return doc


def gql(apis, backend, tenant: str, query: str, **variables) -> dict:
    api, _ = apis.get(tenant)
    body = json.loads(
        run(api, backend, Request(tenant, Principal.system(tenant), query, variables))
    )
    assert "errors" not in body, body
    return body["data"]


def seed(apis, backend, tenant: str, count: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 100):
        inputs = [{"n": 0} for _ in range(min(100, count - start))]
        made = gql(
            apis,
            backend,
            tenant,
            "mutation($i: [ItemCreateInput!]!) { createItems(inputs: $i) { id } }",
            i=inputs,
        )
        ids += [r["id"] for r in made["createItems"]]
    return ids


def update_all(apis, backend, tenant: str, ids: list[str], rate: float = 0) -> float:
    """Update every item (n = 1), 100 per request, or paced at ``rate`` updates a second
    in ten requests a second."""
    size = max(1, int(rate / 10)) if rate else 100
    began = time.perf_counter()
    for start in range(0, len(ids), size):
        if rate:
            time.sleep(max(0.0, began + start / rate - time.perf_counter()))
        inputs = [{"id": i, "input": {"n": 1}} for i in ids[start : start + size]]
        gql(
            apis,
            backend,
            tenant,
            "mutation($i: [ItemUpdateManyInput!]!) { updateItems(inputs: $i) { id } }",
            i=inputs,
        )
    return time.perf_counter() - began


def wait_for_runs(
    backend, tenant: str, count: int, began: float, *, limit: float, poll: float
) -> None:
    """Wait until ``count`` runs of ``tenant`` have succeeded (fail after ``limit`` s)."""
    runs = system_table(backend.schema(tenant), RUNS)
    while True:
        with backend.read_tenant(tenant) as conn:
            done = conn.execute(
                select(text("count(*)")).select_from(runs).where(runs.c.status == "succeeded")
            ).scalar()
        if done >= count:
            return
        if time.perf_counter() - began > limit:
            raise SystemExit(f"only {done} of {count} runs finished in {limit:.0f} s")
        time.sleep(poll)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--url", default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="pace the updates at this many a second (default: as fast as they go), to "
        "measure lag below the workers' capacity rather than a backlog's",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    url = args.url or f"sqlite:///{folder}/tessera.sqlite3"
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    flows = WorkflowSettings(broker_url=args.broker, queue=queue, tick=0.5)
    settings = Settings(database_url=url, workflows=flows)
    backend = make_backend(settings)
    backend.prepare()
    service = TenantService(backend)
    apis = ActiveApis(service, SchemaCache())
    plain, flowing = f"bench_plain_{queue[6:]}", f"bench_flow_{queue[6:]}"
    for tenant, trigger in ((plain, False), (flowing, True)):
        service.create_tenant(tenant)
        service.apply(tenant, validate_data(metadata(trigger)))
    ids_plain = seed(apis, backend, plain, args.updates)
    ids_flow = seed(apis, backend, flowing, args.updates)
    # Drain the creation events first, so the measured runs are the updates' only.
    with backend.begin_tenant(flowing) as conn:
        outbox = system_table(backend.schema(flowing), naming.OUTBOX_TABLE)
        conn.execute(outbox.update().values(dispatched_at=outbox.c.created_at))

    plain_seconds = update_all(apis, backend, plain, ids_plain)

    env = dict(
        os.environ,
        TESSERA_DATABASE_URL=url,
        TESSERA_BROKER_URL=args.broker,
        TESSERA_WORKFLOW_QUEUE=queue,
        TESSERA_WORKFLOW_TICK="0.5",
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from runtime.cli.main import main; main()",
            "--database-url",
            url,
            "worker",
            "-c",
            str(args.concurrency),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # the worker connects and its beat starts
        began = time.perf_counter()
        flow_seconds = update_all(apis, backend, flowing, ids_flow, args.rate)
        wait_for_runs(backend, flowing, args.updates, began, limit=1800, poll=0.5)
        runs = system_table(backend.schema(flowing), RUNS)
        total = time.perf_counter() - began
        with backend.read_tenant(flowing) as conn:
            outbox = system_table(backend.schema(flowing), naming.OUTBOX_TABLE)
            rows = conn.execute(
                select(outbox.c.created_at, runs.c.finished_at).join(
                    runs, runs.c.event_id == outbox.c.id
                )
            ).all()
            bumped = conn.execute(
                text(
                    "SELECT sum(bumped) FROM "
                    + (f'"{backend.schema(flowing)}".item' if backend.schema(flowing) else "item")
                )
            ).scalar()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    lags = sorted((f - c).total_seconds() for c, f in rows)

    # Baseline 2: the effect as hand-written SQL.
    with backend.begin_tenant(plain) as conn:
        table = f'"{backend.schema(plain)}".item' if backend.schema(plain) else "item"
        began = time.perf_counter()
        for i in ids_plain:
            conn.execute(
                text(f"UPDATE {table} SET bumped = coalesce(bumped, 0) + 1 WHERE id = :i"),
                {"i": i if backend.dialect == "postgresql" else uuid.UUID(i).hex},
            )
        sql_seconds = time.perf_counter() - began

    n = args.updates
    result = {
        "backend": backend.dialect,
        "broker": args.broker.split("@")[-1],
        "updates": n,
        "worker_threads": args.concurrency,
        "paced_at_per_s": args.rate or None,
        "writes_per_s_without_workflow": round(n / plain_seconds),
        "writes_per_s_with_trigger": round(n / flow_seconds),
        "runs_per_s": round(n / total, 1),
        "lag_p50_s": round(statistics.median(lags), 3),
        "lag_p95_s": round(lags[int(len(lags) * 0.95) - 1], 3),
        "lag_max_s": round(lags[-1], 3),
        "effects_exactly_once": bumped == n,
        "hand_written_sql_per_s": round(n / sql_seconds),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
