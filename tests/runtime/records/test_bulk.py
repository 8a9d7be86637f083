"""The record service's bulk path: thousands of rows per statement, with every guarantee
of a single write (checks, references, auto numbers, rules, events), and errors that
name the input row."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from metadata.validation import validate_data
from runtime.model.shape import build_shape
from runtime.records.errors import RecordError
from runtime.records.writer import Writer
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.sql import naming
from runtime.sql.dialect import dialect_for
from runtime.storage.tables import system_table

META = {
    "objects": {
        "account": {"fields": {"name": {"type": "text", "required": True}}},
        "lead": {
            "fields": {
                "name": {"type": "text", "required": True},
                "email": {"type": "email", "unique": True},
                "number": {"type": "auto_number", "format": "L-{00000}"},
                "budget": {"type": "currency"},
                "employees": {"type": "integer"},
                "account": {"type": "lookup", "to": "account"},
            },
            "validation_rules": {
                "no_huge_teams": {
                    "condition": "employees > 100000",
                    "message": {"en": "too many employees", "zh-CN": "员工过多"},
                }
            },
        },
    }
}


@pytest.fixture
def tenant(service):
    valid = validate_data(META)
    service.create_tenant("bulk")
    service.apply("bulk", valid)
    return service, build_shape(valid.model, None, full=valid.model)


def writer(service, shape, conn, obj: str = "lead") -> Writer:
    backend = service.backend
    schema = backend.schema("bulk")
    scope = SqlScope(
        shape=shape,
        dialect=dialect_for(backend.dialect, schema),
        principal=Principal.system("bulk"),
    )
    return Writer(scope, conn, shape.objects[obj], schema, "Asia/Shanghai")


def leads(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"name": f"线索 {i}", "email": f"l{i}@example.cn", "employees": i, **extra}
        for i in range(n)
    ]


def test_thousands_of_rows_go_in_a_few_statements_with_their_events(tenant):
    service, shape = tenant
    n = 1000 * 2 + 500
    engine = service.backend.tenant_engine("bulk")
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with service.backend.begin_tenant("bulk") as conn:
        w = writer(service, shape, conn)
        w.chunk = 1000  # three chunks, the last one short
        event.listen(engine, "before_cursor_execute", count)
        try:
            ids = w.create_many(leads(n, budget={"amount": "12.50"}), ["inputs"])
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(ids) == len(set(ids)) == n
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    # Per chunk: the auto-number counter, the rows, the events (SQLAlchemy may split a
    # multi-row INSERT into batches of its own; never one statement per row).
    assert len(seen) < n / 50, len(seen)
    assert len(inserts) <= 3 * 2 * 3 + 6, len(inserts)
    schema = service.backend.schema("bulk")
    table = shape.table("lead", schema, service.backend.dialect)
    outbox = system_table(schema, naming.OUTBOX_TABLE)
    with service.backend.read_tenant("bulk") as conn:
        rows = conn.execute(
            select(table.c.id, table.c.number, table.c.budget, table.c.budget__currency)
        ).all()
        events = conn.execute(select(func.count()).select_from(outbox)).scalar()
    assert events == n
    by_id = {r.id: r for r in rows}
    # Numbers follow the input order, without gaps; currency got its default code.
    assert [by_id[i].number for i in ids[:3]] == ["L-00001", "L-00002", "L-00003"]
    assert by_id[ids[-1]].number == f"L-{n:05d}"
    assert {(str(r.budget), r.budget__currency) for r in rows} == {("12.50", "CNY")}


def test_a_duplicate_inside_a_chunk_names_its_row_and_nothing_is_written(tenant):
    service, shape = tenant
    batch = leads(1500)
    batch[1200]["email"] = batch[3]["email"]
    with pytest.raises(RecordError) as caught, service.backend.begin_tenant("bulk") as conn:
        writer(service, shape, conn).create_many(batch, ["inputs"])
    assert caught.value.code == "UNIQUE_VIOLATION"
    assert caught.value.field == ["inputs", 1200, "email"]
    table = shape.table("lead", service.backend.schema("bulk"), service.backend.dialect)
    with service.backend.read_tenant("bulk") as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0


def test_bad_values_references_and_rules_name_their_row(tenant):
    service, shape = tenant
    cases = [
        (1100, {"employees": "many"}, "BAD_USER_INPUT", ["inputs", 1100, "employees"]),
        (
            1300,
            {"accountId": "0f8fad5b-d9cb-469f-a165-70867728950e"},
            "REFERENCE_NOT_FOUND",
            ["inputs", 1300, "accountId"],
        ),
        (1700, {"employees": 200000}, "VALIDATION_RULE", ["inputs", 1700]),
    ]
    for row, change, code, path in cases:
        batch = leads(1800)
        batch[row].update(change)
        with pytest.raises(RecordError) as caught, service.backend.begin_tenant("bulk") as conn:
            writer(service, shape, conn).create_many(batch, ["inputs"])
        assert (caught.value.code, caught.value.field) == (code, path), caught.value.message


def test_references_to_existing_records_are_checked_per_chunk_and_kept(tenant):
    service, shape = tenant
    with service.backend.begin_tenant("bulk") as conn:
        [account] = writer(service, shape, conn, "account").create_many(
            [{"name": "华信"}], ["inputs"]
        )
        ids = writer(service, shape, conn).create_many(leads(1200, accountId=account), ["inputs"])
    table = shape.table("lead", service.backend.schema("bulk"), service.backend.dialect)
    with service.backend.read_tenant("bulk") as conn:
        linked = conn.execute(
            select(func.count()).select_from(table).where(table.c.account == account)
        ).scalar()
    assert linked == len(ids) == 1200


def test_bulk_writers_at_once_share_the_numbers_without_gaps_or_twins(tenant):
    """Four writers create 600 leads each at the same time: every lead is there once, and
    the auto numbers are 1..2400 with no gap and no number twice (the counter row is
    locked per chunk; on SQLite the file's write lock orders the writers)."""
    import threading

    service, shape = tenant
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(worker: int) -> None:
        try:
            start.wait()
            with service.backend.begin_tenant("bulk") as conn:
                batch = [
                    {"name": f"w{worker}-{i}", "email": f"w{worker}.{i}@example.cn"}
                    for i in range(600)
                ]
                writer(service, shape, conn).create_many(batch, ["inputs"])
        except BaseException as exc:  # reported below, with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    table = shape.table("lead", service.backend.schema("bulk"), service.backend.dialect)
    with service.backend.read_tenant("bulk") as conn:
        numbers = sorted(conn.execute(select(table.c.number)).scalars())
    assert numbers == [f"L-{n:05d}" for n in range(1, 2401)]
