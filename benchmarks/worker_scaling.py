"""Workflow runs per second with one worker process against two (`--processes 2`).

For each process count, a fresh tenant gets the same after-save workflow as
``workflow_throughput.py`` (on update, when ``n`` changed, add 1 to ``bumped``) and a
backlog: N items updated with no worker running, so N events wait in the outbox. Then
`tessera worker -c 4 --processes P` starts (the beat in its parent dispatches the events),
and the clock runs from its start until every run has succeeded. Same database, broker
and backlog for each P, in one run; the ratio is runs/s with P processes over runs/s with
one.

    .venv/bin/python benchmarks/worker_scaling.py --url postgresql://postgres@127.0.0.1/bench
    # options: --updates 3000 --concurrency 4 --processes 1,2 --broker redis://...
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from sqlalchemy import select  # noqa: E402

from benchmarks.graphql_workloads import ensure_database  # noqa: E402
from benchmarks.workflow_throughput import (  # noqa: E402
    metadata,
    seed,
    update_all,
    wait_for_runs,
)
from metadata.validation import validate_data  # noqa: E402
from runtime.graphql.cache import ActiveApis, SchemaCache  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.storage.backends import make_backend  # noqa: E402
from runtime.storage.tables import system_table  # noqa: E402
from runtime.storage.workflow_tables import RUNS  # noqa: E402
from runtime.tenants import TenantService  # noqa: E402


def measure(args: argparse.Namespace, processes: int) -> dict[str, float]:
    backend = make_backend(Settings(database_url=args.url))
    backend.prepare()
    service = TenantService(backend)
    apis = ActiveApis(service, SchemaCache())
    tenant = f"scale_{processes}_{uuid.uuid4().hex[:6]}"
    service.create_tenant(tenant)
    service.apply(tenant, validate_data(metadata(trigger=True)))
    ids = seed(apis, backend, tenant, args.updates)
    update_all(apis, backend, tenant, ids)  # the backlog: events wait, no worker yet
    queue = f"tessera-scale-{uuid.uuid4().hex[:8]}"
    env = dict(
        os.environ,
        TESSERA_DATABASE_URL=args.url,
        TESSERA_BROKER_URL=args.broker,
        TESSERA_WORKFLOW_QUEUE=queue,
        TESSERA_WORKFLOW_TICK="0.5",
        TESSERA_LOG_LEVEL="warning",
    )
    command = [sys.executable, "-m", "runtime.cli.main", "--database-url", args.url, "worker"]
    command += ["-c", str(args.concurrency), "--processes", str(processes)]
    began = time.perf_counter()
    worker = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_runs(backend, tenant, args.updates, began, limit=1200, poll=0.2)
        seconds = time.perf_counter() - began
    finally:
        worker.terminate()
        worker.wait(60)
    steady = _steady_rate(backend, tenant)
    service.delete_tenant(tenant)
    backend.dispose()
    return {
        "processes": processes,
        "seconds": seconds,
        "runs_per_s": args.updates / seconds,
        "steady_runs_per_s": steady,
    }


def _steady_rate(backend: Any, tenant: str) -> float:
    """Runs per second between the 10th and the 90th percentile of finishing times: the
    worker's pace once started, without the start-up of its processes (which the
    whole-backlog time includes, and which weighs more the faster the backlog goes)."""
    runs = system_table(backend.schema(tenant), RUNS)
    with backend.read_tenant(tenant) as conn:
        finished = sorted(
            conn.execute(select(runs.c.finished_at).where(runs.c.status == "succeeded")).scalars()
        )
    low, high = finished[len(finished) // 10], finished[len(finished) * 9 // 10]
    span = (high - low).total_seconds()
    return (len(finished) * 8 // 10) / span if span > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1/bench")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ensure_database(args.url)
    results = []
    for processes in (int(p) for p in args.processes.split(",")):
        result = measure(args, processes)
        results.append(result)
        print(
            f"{processes} process(es) x {args.concurrency} threads: {args.updates} runs in "
            f"{result['seconds']:.1f} s = {result['runs_per_s']:.1f} runs/s "
            f"({result['runs_per_s'] / results[0]['runs_per_s']:.2f}x one process); once "
            f"started {result['steady_runs_per_s']:.1f} runs/s "
            f"({result['steady_runs_per_s'] / results[0]['steady_runs_per_s']:.2f}x)",
            flush=True,
        )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
