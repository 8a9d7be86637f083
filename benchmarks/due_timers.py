"""100,000 records fall due at once: how fast a real worker fires them, next to the
10,000-update benchmark (workflow_throughput.py) in the same run.

A tenant has an object ``item`` and one time workflow: when ``due`` passes (a datetime,
offset 0) and the item is open, add 1 to ``bumped`` (a database action, exactly once).
The items are loaded with ``due`` at one moment T; a real Celery worker process on a
real broker runs with its clock at T - 1 h (TESSERA_CLOCK_FILE), then the clock moves to
T + 1 s and every item is due at once. Reported:

- scan: seconds until every run exists (the timer scan reads the due records in pages
  of 500 and makes their runs), and runs made per second;
- fire: runs finished per second, and the wall time until 50 %, 95 % and 100 % of them
  had finished (the lag of a due record), polled every 0.5 s;
- baseline 1: the 10,000-update benchmark's runs per second and lag, in this same run
  (the same worker settings, a fresh tenant);
- baseline 2: the effect as one hand-written SQL statement
  (UPDATE item SET bumped = bumped + 1 WHERE due <= T AND status = 'open').

    python benchmarks/due_timers.py [--records 100000] [--updates 10000]
        [--url postgresql://...] [--broker redis://127.0.0.1:6379/0] [--concurrency 4]

Target: every run created within 60 s of the records falling due (the scan must never be
what a large due batch waits on), and the runs finished at the engine's usual pace.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

from metadata.validation import validate_data
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.settings import Settings, WorkflowSettings
from runtime.storage.backends import make_backend
from runtime.storage.records import insert_records
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS
from runtime.tenants import TenantService

T = dt.datetime(2027, 6, 1, 9, 0, tzinfo=dt.UTC)

METADATA = {
    "objects": {
        "item": {
            "fields": {
                "due": {"type": "datetime"},
                "status": {"type": "picklist", "values": ["open", "closed"]},
                "bumped": {"type": "integer"},
            }
        }
    },
    "workflows": {
        "due_bump": {
            "object": "item",
            "trigger": {"at": {"field": "due", "offset": "0s"}, "condition": "status = 'open'"},
            "actions": [{"score": {"field": "bumped", "add": "1"}}],
        }
    },
}


def set_clock(path: Path, moment: dt.datetime) -> None:
    part = path.with_suffix(".part")
    part.write_text(moment.isoformat(), encoding="utf-8")
    os.replace(part, path)


def counts(backend, tenant: str) -> tuple[int, int]:
    runs = system_table(backend.schema(tenant), RUNS)
    with backend.read_tenant(tenant) as conn:
        total = conn.execute(select(func.count()).select_from(runs)).scalar()
        done = conn.execute(
            select(func.count()).select_from(runs).where(runs.c.status == "succeeded")
        ).scalar()
    return int(total or 0), int(done or 0)


def start_worker(url: str, broker: str, queue: str, concurrency: int, clock: Path | None):
    env = dict(
        os.environ,
        TESSERA_DATABASE_URL=url,
        TESSERA_BROKER_URL=broker,
        TESSERA_WORKFLOW_QUEUE=queue,
        TESSERA_WORKFLOW_TICK="0.5",
    )
    if clock is not None:
        env["TESSERA_CLOCK_FILE"] = str(clock)
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from runtime.cli.main import main; main()",
            "--database-url",
            url,
            "worker",
            "-c",
            str(concurrency),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def due_run(args, url: str, backend, service, folder: Path) -> dict:
    tenant = f"bench_due_{uuid.uuid4().hex[:8]}"
    service.create_tenant(tenant)
    service.apply(tenant, validate_data(METADATA))
    model = service.active(tenant)[1].model
    schema = backend.schema(tenant)
    for start in range(0, args.records, 5000):
        rows = [
            {"due": T, "status": "open", "bumped": 0}
            for _ in range(min(5000, args.records - start))
        ]
        with backend.begin_tenant(tenant) as conn:
            insert_records(conn, model, "item", rows, schema=schema)
    clock = folder / f"clock-{tenant}"
    set_clock(clock, T - dt.timedelta(hours=1))
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    worker = start_worker(url, args.broker, queue, args.concurrency, clock)
    try:
        time.sleep(4)  # the worker connects and its beat takes its first (quiet) tick
        began = time.perf_counter()
        set_clock(clock, T + dt.timedelta(seconds=1))
        scanned = None
        marks: dict[int, float] = {}
        while True:
            total, done = counts(backend, tenant)
            now = time.perf_counter() - began
            if scanned is None and total >= args.records:
                scanned = now
            for pct in (50, 95, 100):
                if pct not in marks and done >= args.records * pct / 100:
                    marks[pct] = now
            if done >= args.records:
                break
            if now > args.limit:
                raise SystemExit(f"only {done} of {args.records} runs finished in {now:.0f} s")
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    table = f'"{schema}".item' if schema else "item"
    with backend.read_tenant(tenant) as conn:
        bumped = conn.execute(text(f"SELECT sum(bumped) FROM {table}")).scalar()
    with backend.begin_tenant(tenant) as conn:
        sql_began = time.perf_counter()
        conn.execute(
            text(f"UPDATE {table} SET bumped = bumped + 1 WHERE due <= :t AND status = 'open'"),
            {"t": T if backend.dialect == "postgresql" else T.strftime("%Y-%m-%d %H:%M:%S.%f")},
        )
        sql_seconds = time.perf_counter() - sql_began
    total_s = marks[100]
    assert scanned is not None
    return {
        "records": args.records,
        "scan_s": round(scanned, 1),
        "runs_created_per_s": round(args.records / scanned),
        "runs_per_s": round(args.records / total_s, 1),
        "finished_50_95_100_pct_s": [round(marks[p], 1) for p in (50, 95, 100)],
        "effects_exactly_once": bumped == args.records,
        "hand_written_sql_s": round(sql_seconds, 2),
        "scan_within_target_60_s": scanned <= 60,
    }


def updates_run(args, url: str) -> dict:
    """The 10,000-update benchmark, as its own process (it makes its own tenants)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.workflow_throughput",
            "--updates",
            str(args.updates),
            "--broker",
            args.broker,
            "--url",
            url,
            "--concurrency",
            str(args.concurrency),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--url", default=None)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--limit", type=float, default=3600, help="give up after so many s")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    url = args.url or f"sqlite:///{folder}/tessera.sqlite3"
    settings = Settings(database_url=url, workflows=WorkflowSettings(broker_url=args.broker))
    backend = make_backend(settings)
    backend.prepare()
    service = TenantService(backend)
    ActiveApis(service, SchemaCache())
    due = due_run(args, url, backend, service, folder)
    baseline = updates_run(args, url) if args.updates else None
    print(
        json.dumps(
            {
                "backend": backend.dialect,
                "broker": args.broker.split("@")[-1],
                "worker_threads": args.concurrency,
                "due_at_once": due,
                "baseline_10k_updates": baseline
                and {
                    k: baseline[k]
                    for k in ("updates", "runs_per_s", "lag_p50_s", "lag_p95_s", "lag_max_s")
                },
                "runs_per_s_ratio_due_vs_updates": baseline
                and round(due["runs_per_s"] / baseline["runs_per_s"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
