"""Adding a field to a 1,000,000-row table on PostgreSQL does not rewrite the table.

Loads one million accounts into a fresh tenant, then adds fields through Tessera's apply
(nullable, with a constant default, required with a default, a lookup) and checks the
table's file node and size before and after: a rewrite gives the table a new file node.
Baselines in the same run: the same ADD COLUMN written by hand, and a change that does
rewrite (ALTER COLUMN ... TYPE), to show what a rewrite would have cost.

    python benchmarks/add_field_no_rewrite.py [--rows 1000000] [--url postgresql://...]

Uses a throwaway database on the server (default: the local one), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

from metadata.validation import validate_data
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService

ACCOUNT = {
    "name": {"type": "text", "required": True, "label": "Name"},
    "industry": {"type": "picklist", "values": ["retail", "finance"]},
}


@contextmanager
def scratch_database(server_url: str):
    url = make_url(server_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"tessera_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def table_file(conn, table: str) -> tuple[int, int]:
    """Return (file node, size in bytes) of a table: a rewrite changes the file node."""
    row = conn.execute(
        text("SELECT pg_relation_filenode(:t), pg_table_size(:t)"), {"t": table}
    ).one()
    return int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--url",
        default=os.environ.get(
            "TESSERA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--json", action="store_true", help="Print results as JSON.")
    args = parser.parse_args()

    with scratch_database(args.url) as url:
        backend = make_backend(Settings(database_url=url))
        backend.prepare()
        service = TenantService(backend)
        service.create_tenant("bench")
        fields = dict(ACCOUNT)
        objects = {"account": {"fields": fields}, "region": {}}
        service.apply("bench", validate_data({"objects": objects}))
        table = "tenant_bench.account"
        with backend.control.begin() as conn:
            started = time.perf_counter()
            conn.execute(
                text(
                    f"INSERT INTO {table} (id, name, industry, created_at, updated_at, row_version)"
                    " SELECT gen_random_uuid(), 'Account ' || g, 'retail', now(), now(), 1"
                    " FROM generate_series(1, :n) AS g"
                ),
                {"n": args.rows},
            )
            load_seconds = time.perf_counter() - started
        steps = [
            ("nullable text field", "website", {"type": "url"}),
            (
                "field with a constant default",
                "tier",
                {"type": "picklist", "values": ["gold", "silver"], "default": "silver"},
            ),
            (
                "required field with a default",
                "active",
                {"type": "boolean", "required": True, "default": True},
            ),
            ("lookup (foreign key + index)", "region", {"type": "lookup", "to": "region"}),
        ]
        results = []
        for label, name, definition in steps:
            with backend.control.connect() as conn:
                before = table_file(conn, table)
            fields[name] = definition
            started = time.perf_counter()
            service.apply("bench", validate_data({"objects": objects}))
            seconds = time.perf_counter() - started
            with backend.control.connect() as conn:
                after = table_file(conn, table)
            results.append(
                {
                    "change": f"Tessera apply: {label}",
                    "seconds": seconds,
                    "rewritten": before[0] != after[0],
                    "size_mb": after[1] / 2**20,
                }
            )
        for label, sql in (
            (
                "baseline: hand-written ALTER TABLE ADD COLUMN",
                f"ALTER TABLE {table} ADD COLUMN hand_written varchar(40)",
            ),
            (
                "baseline: a change that rewrites (ALTER COLUMN TYPE)",
                f"ALTER TABLE {table} ALTER COLUMN row_version TYPE bigint",
            ),
        ):
            with backend.control.begin() as conn:
                before = table_file(conn, table)
                started = time.perf_counter()
                conn.execute(text(sql))
                seconds = time.perf_counter() - started
                after = table_file(conn, table)
            results.append(
                {
                    "change": label,
                    "seconds": seconds,
                    "rewritten": before[0] != after[0],
                    "size_mb": after[1] / 2**20,
                }
            )
        with backend.control.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        backend.dispose()

    if args.json:
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "load_seconds": load_seconds,
                    "postgres": version,
                    "results": results,
                },
                indent=2,
            )
        )
        return
    print(f"PostgreSQL {version}; {args.rows:,} rows loaded in {load_seconds:.1f} s\n")
    print(f"| {'change':<52} | {'time':>9} | table rewritten | table size |")
    print(f"|{'-' * 54}|{'-' * 11}|-----------------|------------|")
    for r in results:
        print(
            f"| {r['change']:<52} | {r['seconds'] * 1000:>6.1f} ms | "
            f"{'YES' if r['rewritten'] else 'no':<15} | {r['size_mb']:>7.0f} MB |"
        )
    tessera = [r for r in results if r["change"].startswith("Tessera")]
    if any(r["rewritten"] for r in tessera):
        raise SystemExit("a Tessera field addition rewrote the table")


if __name__ == "__main__":
    main()
