"""Bulk insert through the record service against hand-written inserts, on PostgreSQL.

Inserts the same 100,000 leads three ways into a fresh tenant, in the same run:

- ``records``: the record service's bulk path (``Writer.create_many``), as an import
  will: each value read and checked by its field kind, references checked, an auto
  number per row, system fields, and an outbox event per row, 1,000 rows per chunk;
- ``executemany``: psycopg's ``executemany`` of a hand-written INSERT with the rows
  already typed (ids, timestamps, auto numbers made in Python), and no events;
- ``COPY``: psycopg's ``COPY ... FROM STDIN`` of the same typed rows.

Each round truncates the table first; rounds alternate so drift hits all three alike.
Prints rows per second and the ratios. The bar (issue 16): records ≥ 0.5× executemany.

    python benchmarks/bulk_insert.py [--rows 100000] [--rounds 3] [--url postgresql://...]

Uses a throwaway database on the server (default: the local one), dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.add_field_no_rewrite import scratch_database
from metadata.validation import validate_data
from runtime.model.shape import build_shape
from runtime.records.writer import Writer
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.settings import Settings
from runtime.sql.dialect import dialect_for
from runtime.storage.backends import make_backend
from runtime.storage.ids import new_id
from runtime.tenants import TenantService

META = {
    "objects": {
        "lead": {
            "fields": {
                "name": {"type": "text", "required": True},
                "company": {"type": "text"},
                "email": {"type": "email"},
                "phone": {"type": "phone"},
                "status": {"type": "picklist", "values": ["new", "contacted", "qualified"]},
                "budget": {"type": "currency"},
                "employees": {"type": "integer"},
                "score": {"type": "decimal", "precision": 8, "scale": 2},
                "next_call": {"type": "date"},
                "vip": {"type": "boolean"},
                "number": {"type": "auto_number", "format": "L-{000000}"},
            }
        }
    }
}
STATUSES = ("new", "contacted", "qualified")


def inputs(n: int) -> list[dict[str, Any]]:
    """The leads as an import hands them to the record service (API names, JSON values)."""
    return [
        {
            "name": f"线索 {i}",
            "company": f"华信科技 {i % 997}",
            "email": f"lead{i}@example.cn",
            "phone": f"+86 138 {i % 10000:04d} {i % 7919:04d}",
            "status": STATUSES[i % 3],
            "budget": {"amount": f"{i % 100000}.50", "currencyCode": "CNY"},
            "employees": i % 5000,
            "score": f"{i % 100}.25",
            "nextCall": f"2027-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "vip": i % 11 == 0,
        }
        for i in range(n)
    ]


COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "name",
    "company",
    "email",
    "phone",
    "status",
    "budget",
    "budget__currency",
    "employees",
    "score",
    "next_call",
    "vip",
    "number",
)


def typed_rows(n: int) -> list[tuple[Any, ...]]:
    """The same leads as hand-written code would send them: typed, system columns set."""
    now = dt.datetime.now(dt.UTC)
    out = []
    for i, lead in enumerate(inputs(n)):
        out.append(
            (
                new_id(),
                now,
                now,
                lead["name"],
                lead["company"],
                lead["email"],
                lead["phone"],
                lead["status"],
                Decimal(lead["budget"]["amount"]),
                "CNY",
                lead["employees"],
                Decimal(lead["score"]),
                dt.date.fromisoformat(lead["nextCall"]),
                lead["vip"],
                f"L-{i + 1:06d}",
            )
        )
    return out


def run(url: str, n: int, rounds: int) -> dict[str, Any]:
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    service = TenantService(backend)
    valid = validate_data(META)
    service.create_tenant("bench")
    service.apply("bench", valid)
    schema = backend.schema("bench")
    shape = build_shape(valid.model, None, full=valid.model)
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    table = f'"{schema}"."lead"'
    columns = ", ".join(f'"{c}"' for c in COLUMNS)

    def truncate() -> None:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(
                f'TRUNCATE {table}, "{schema}"."_tessera_outbox", "{schema}"."_tessera_sequences"'
            )

    def records() -> float:
        data = inputs(n)
        started = time.perf_counter()
        with backend.begin_tenant("bench") as conn:
            scope = SqlScope(
                shape=shape,
                dialect=dialect_for(backend.dialect, schema),
                principal=Principal.system("bench", actor="import"),
            )
            writer = Writer(scope, conn, shape.objects["lead"], schema, "Asia/Shanghai")
            ids = writer.create_many(data, ["rows"])
        assert len(ids) == n
        return time.perf_counter() - started

    def executemany() -> float:
        rows = typed_rows(n)
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        started = time.perf_counter()
        with psycopg.connect(libpq) as conn, conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
        return time.perf_counter() - started

    def copy() -> float:
        rows = typed_rows(n)
        started = time.perf_counter()
        with (
            psycopg.connect(libpq) as conn,
            conn.cursor() as cur,
            cur.copy(f"COPY {table} ({columns}) FROM STDIN") as out,
        ):
            for row in rows:
                out.write_row(row)
        return time.perf_counter() - started

    ways = {"records": records, "executemany": executemany, "COPY": copy}
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            truncate()
            times[name].append(way())
            print(f"{name:12s} {n / times[name][-1]:10,.0f} rows/s", flush=True)
    backend.dispose()
    best = {name: statistics.median(t) for name, t in times.items()}
    return {
        "rows": n,
        "rounds": rounds,
        "rows_per_second": {name: round(n / t) for name, t in best.items()},
        "records_vs_executemany": round(best["executemany"] / best["records"], 2),
        "records_vs_copy": round(best["COPY"] / best["records"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with scratch_database(args.url) as url:
        print(json.dumps(run(url, args.rows, args.rounds), indent=2))


if __name__ == "__main__":
    main()
