"""Write records straight into tenant tables, for seeding demo and test data, and read
one back by id.

This is the storage-level path: it fills system fields, splits currency values into
amount and code, and assigns auto numbers, but trusts its caller on permissions. The
GraphQL API's mutations are the way applications write.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, insert, select

from metadata.kinds import ValueProblem, kind_of
from metadata.model import Field, Model
from runtime.storage.ids import new_id
from runtime.storage.sequences import allocate
from runtime.storage.tables import build_table


class RecordError(ValueError):
    """A value does not fit its field; the message names the object and field."""


def _columns(obj: str, field: Field, value: Any) -> dict[str, Any]:
    """Return the columns storing ``value`` (JSON or Python) in ``field``, read and
    checked by the field's kind."""
    kind = kind_of(field.type)
    try:
        read = kind.from_json(field, value)
        if read is not None:
            kind.check(field, read, f"{obj}.{field.name}")
    except ValueProblem as problem:
        where = f"{obj}.{field.name}"
        message = problem.en if problem.en.startswith(where) else f"{where}: {problem.en}"
        raise RecordError(message) from None
    return kind.to_columns(field, read)


def insert_records(
    conn: Connection,
    model: Model,
    obj_name: str,
    records: Iterable[Mapping[str, Any]],
    *,
    schema: str | None,
    timezone: str = "UTC",
    actor: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Insert ``records`` (field name → value) into ``obj_name``; return their ids.

    Values are JSON as the field's kind reads it: a currency value is a number (in the
    field's default currency) or ``{"amount": ..., "currency_code": "USD"}``.
    """
    obj = model.objects[obj_name]
    table = build_table(model, obj_name, schema=schema, dialect=conn.dialect.name)
    today = dt.datetime.now(ZoneInfo(timezone)).date()
    rows, ids = [], []
    for record in records:
        unknown = set(record) - set(obj.fields) - {"id", "owner"}
        if unknown:
            raise RecordError(f"{obj_name} has no field {sorted(unknown)[0]!r}")
        record_id = uuid.UUID(str(record["id"])) if "id" in record else new_id()
        now = dt.datetime.now(dt.UTC)
        row: dict[str, Any] = {
            "id": record_id,
            "created_at": now,
            "updated_at": now,
            "created_by": actor,
            "updated_by": actor,
            "owner": record.get("owner", actor),
        }
        for field in obj.fields.values():
            if field.computed:
                if field.name in record:
                    raise RecordError(
                        f"{obj_name}.{field.name} is a {field.type} field and cannot be set"
                    )
                continue
            if field.type == "auto_number":
                [row[field.name]] = allocate(
                    conn, schema=schema, obj=obj_name, field=field, on=today
                )
                continue
            if field.name not in record:
                continue
            row.update(_columns(obj_name, field, record[field.name]))
        rows.append(row)
        ids.append(record_id)
    if rows:
        # Rows differ in which columns they set; insert each so defaults apply per row.
        for row in rows:
            conn.execute(insert(table).values(row))
    return ids


def read_record(
    conn: Connection, table: Table, record_id: Any, *, live: bool = True, lock: bool = False
) -> dict[str, Any] | None:
    """Return one record's stored columns by id, or None if it does not exist (or, when
    ``live``, is in the recycle bin). ``lock``: hold the row until the transaction ends
    (FOR UPDATE; SQLite's write transaction already excludes other writers)."""
    query = select(table).where(table.c.id == record_id)
    if live:
        query = query.where(table.c.deleted_at.is_(None))
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return dict(row._mapping) if row is not None else None
