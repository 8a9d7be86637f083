"""Installing core_crm plus one industry pack into a fresh tenant, on SQLite and PostgreSQL.

Each round creates a fresh tenant and installs the packs the way ``tessera app install``
does: read and check the packs, merge them into the tenant's metadata, validate, plan
(with its DDL and live checks), then apply (DDL, registry, pack records) in one
transaction. "cold" reads the pack files each time (a new Catalog, as the CLI does);
"warm" reuses a catalog (as a server does). Sample data is off: it is demo content, not
part of an install.

Baseline in the same run: the install's DDL (the statements its plan renders) run by hand
in one transaction on a fresh tenant, with no validation, merge, plan, registry or
records: the least any install has to do.

    python benchmarks/pack_install.py [--industry manufacturing] [--rounds 7] [--gc]
        [--url postgresql://postgres@127.0.0.1/postgres] [--sqlite-only]

Like timeit, each timed install runs with the garbage collector off (after a collection);
``--gc`` leaves it on.

PostgreSQL runs in a throwaway database on that server, dropped at the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from add_field_no_rewrite import scratch_database  # a sibling script (run from benchmarks/)

from metadata.packs.catalog import Catalog
from runtime.packs.service import PackService
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService


def _install(
    tenants: TenantService, catalog: Catalog, tenant: str, industry: str, keep_gc: bool
) -> dict:
    packs = PackService(tenants, catalog)
    # Like timeit, collect before the clock starts and keep the collector off while it
    # runs (unless --gc): a pause for garbage an earlier round left is not this install's.
    gc.collect()
    if not keep_gc:
        gc.disable()
    try:
        started = time.perf_counter()
        plan = packs.plan_install(tenant, [industry], sql=False)
        planned = time.perf_counter()
        packs.apply(plan)
        done = time.perf_counter()
    finally:
        gc.enable()
    # For the baseline only, after the clock stopped: the DDL this install ran.
    return {
        "plan_ms": (planned - started) * 1000,
        "apply_ms": (done - planned) * 1000,
        "total_ms": (done - started) * 1000,
        "tables": len(plan.metadata.model.objects),
        "sql": [step.sql for step in tenants.render(plan.report).steps if step.sql],
        "schema": tenants.backend.schema(tenant),
    }


def _baseline(
    tenants: TenantService, statements: list[str], schema: str | None, tenant: str
) -> float:
    """Run the install's DDL by hand on a fresh tenant; return milliseconds."""
    backend = tenants.backend
    if schema is not None:  # the statements name the installed tenant's schema
        target = backend.schema(tenant)
        statements = [s.replace(f"{schema}.", f"{target}.") for s in statements]
    started = time.perf_counter()
    with backend.begin_tenant(tenant) as conn:
        for block in statements:
            for statement in block.split(";\n"):
                if statement.strip():
                    conn.exec_driver_sql(statement)
    return (time.perf_counter() - started) * 1000


def run(url: str, industry: str, rounds: int, keep_gc: bool = False) -> dict:
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    tenants = TenantService(backend)
    warm_catalog = Catalog()
    cold, warm, baseline = [], [], []
    statements: tuple[list[str], str | None] = ([], None)
    try:
        # Each kind in its own rounds, so one kind's garbage is not collected in another's
        # clock. The first round of each warms imports and caches and is dropped.
        for kind, rows in (("warm", warm), ("cold", cold)):
            for i in range(rounds + 1):
                catalog = warm_catalog if kind == "warm" else Catalog()
                name = f"bench_{kind}_{uuid.uuid4().hex[:6]}"
                tenants.create_tenant(name, name)
                result = _install(tenants, catalog, name, industry, keep_gc)
                statements = (result["sql"], result["schema"])
                if i:
                    rows.append(result)
                tenants.delete_tenant(name)
        for i in range(rounds + 1):
            name = f"bench_base_{uuid.uuid4().hex[:6]}"
            tenants.create_tenant(name, name)
            elapsed = _baseline(tenants, *statements, name)
            if i:
                baseline.append(elapsed)
            tenants.delete_tenant(name)
    finally:
        backend.dispose()

    def median(rows: list[dict], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 1)

    return {
        "backend": backend.dialect,
        "packs": ["core_crm", industry],
        "tables": cold[0]["tables"],
        "rounds": rounds,
        "gc_during_install": keep_gc,
        "cold_total_ms": median(cold, "total_ms"),
        "cold_plan_ms": median(cold, "plan_ms"),
        "cold_apply_ms": median(cold, "apply_ms"),
        "warm_total_ms": median(warm, "total_ms"),
        "baseline_create_all_ms": round(statistics.median(baseline), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--industry", default="manufacturing")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1/postgres")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--gc", action="store_true", help="Leave the garbage collector on.")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'tessera.sqlite3'}"
        results.append(run(sqlite_url, args.industry, args.rounds, args.gc))
    if not args.sqlite_only:
        with scratch_database(args.url) as url:
            results.append(run(url, args.industry, args.rounds, args.gc))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
