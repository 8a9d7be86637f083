"""A pack's data in a tenant: archives restored on reinstall, and sample data.

The record of which packs are installed is ``runtime.tenants.packs``.

Everything here runs on a tenant connection inside an apply's storage transaction, so a
pack's record, the data it brings back and its sample records commit with its DDL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, inspect, select

from metadata.model import Model
from runtime.model.shape import build_shape
from runtime.records.errors import RecordError
from runtime.records.seed import Seeder
from runtime.sql import naming
from runtime.storage.tables import build_table, system_table


class SampleDataError(RuntimeError):
    """Sample records could not be created; the install rolls back."""

    status, code = 409, "sample_data"


def _quoted(conn: Connection, schema: str | None, name: str) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return f"{quote(schema)}.{quote(name)}" if schema else quote(name)


def archive_rows(conn: Connection, schema: str | None, names: list[str]) -> dict[str, int]:
    """Return the row count recorded for each archive that still exists."""
    archives = system_table(schema, naming.ARCHIVES_TABLE)
    rows = conn.execute(
        select(archives.c.name, archives.c.row_count).where(archives.c.name.in_(names))
    )
    return {name: count or 0 for name, count in rows}


def restore_archives(
    conn: Connection, schema: str | None, model: Model, names: list[str]
) -> dict[str, int]:
    """Copy archived rows back into the tables they came from; return rows per archive.

    An object's archive fills its (just recreated, empty) table with the columns both
    have; a field's archive sets that column on the rows whose ids match. Restored
    archives are dropped; any archive whose object or field is not in ``model`` stays.
    """
    archives = system_table(schema, naming.ARCHIVES_TABLE)
    found = conn.execute(
        select(archives.c.name, archives.c.object, archives.c.field).where(
            archives.c.name.in_(names)
        )
    ).all()
    restored: dict[str, int] = {}
    # Objects first (parents before children would matter on PostgreSQL: the tables are
    # new, so restore in dependency order), then fields onto rows that now exist.
    ordered = sorted(found, key=lambda a: (a.field is not None, _depth(model, a.object)))
    for name, obj_name, field_name in ordered:
        if obj_name not in model.objects:
            continue
        target = build_table(model, obj_name, schema=schema, dialect=conn.dialect.name)
        source = _quoted(conn, schema, name)
        archived = _columns(conn, schema, name)
        if field_name is None:
            shared = [c for c in archived if c in target.c]
            cols = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in shared)
            result = conn.exec_driver_sql(
                f"INSERT INTO {_quoted(conn, schema, target.name)} ({cols}) "
                f"SELECT {cols} FROM {source}"
            )
        else:
            if field_name not in model.objects[obj_name].fields:
                continue
            data_columns = [c for c in archived if c != "id" and c in target.c]
            quote = conn.dialect.identifier_preparer.quote
            sets = ", ".join(
                f"{quote(c)} = (SELECT a.{quote(c)} FROM {source} a WHERE a.id = t.id)"
                for c in data_columns
            )
            result = conn.exec_driver_sql(
                f"UPDATE {_quoted(conn, schema, target.name)} AS t SET {sets} "
                f"WHERE t.id IN (SELECT id FROM {source})"
            )
        restored[name] = result.rowcount
        conn.exec_driver_sql(f"DROP TABLE {source}")
        conn.execute(delete(archives).where(archives.c.name == name))
    return restored


def drop_archives(conn: Connection, schema: str | None, names: list[str]) -> None:
    """Delete archives for good (an uninstall with purge)."""
    archives = system_table(schema, naming.ARCHIVES_TABLE)
    for name in names:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_quoted(conn, schema, name)}")
        conn.execute(delete(archives).where(archives.c.name == name))


def _columns(conn: Connection, schema: str | None, name: str) -> list[str]:
    """Return the names of an archive table's columns."""
    return [c["name"] for c in inspect(conn).get_columns(name, schema=schema)]


def _depth(model: Model, obj_name: str, seen: frozenset[str] = frozenset()) -> int:
    """How many lookups deep ``obj_name`` sits (objects it points at come first)."""
    obj = model.objects.get(obj_name)
    if obj is None or obj_name in seen:
        return 0
    targets = {t for f in obj.fields.values() for t in (f.target, *f.targets) if t}
    targets.discard(obj_name)
    return 1 + max((_depth(model, t, seen | {obj_name}) for t in targets), default=0)


def count_rows(
    conn: Connection, schema: str | None, model: Model, obj_name: str, field: str | None = None
) -> int:
    """Return how many records ``obj_name`` has (with a value in ``field``, if given)."""
    target = build_table(model, obj_name, schema=schema, dialect=conn.dialect.name)
    query = select(func.count()).select_from(target)
    if field is not None and field in target.c:
        query = query.where(target.c[field].is_not(None))
    return conn.execute(query).scalar_one()


def insert_sample_data(
    conn: Connection,
    schema: str | None,
    model: Model,
    data: Mapping[str, list[dict[str, Any]]],
    *,
    keys: dict[str, Any],
    skip: set[str],
    owners: Mapping[str, Any] | None = None,
    timezone: str = "UTC",
) -> dict[str, int]:
    """Insert sample records, except into the objects in ``skip`` (they had records before
    the install: sample data never mixes into real data); return counts per object.

    A lookup's value is the ``_key`` of an earlier record (of this pack or, through
    ``keys``, of one installed before); ``_owner`` names a key of ``owners``. New keys are
    added to ``keys``.
    """
    shape = build_shape(model, None, full=model)
    seeder = Seeder(conn, shape, schema, timezone=timezone)
    counts: dict[str, int] = {}
    for obj_name, records in data.items():
        if obj_name not in model.objects or obj_name in skip:
            continue
        obj = model.objects[obj_name]
        batch: list[dict[str, Any]] = []
        batch_keys: list[str | None] = []
        for record in records:
            row = {k: v for k, v in record.items() if k not in ("_key", "_owner")}
            if owners and record.get("_owner") in owners:
                row["owner"] = owners[record["_owner"]]
            for name, value in row.items():
                f = obj.fields.get(name)
                if f is not None and f.type == "polymorphic_lookup" and isinstance(value, dict):
                    # {object: account, id: <_key>}: the key names a record of that object.
                    if value.get("id") in batch_keys:
                        _flush(seeder, obj_name, batch, batch_keys, keys)
                    if value.get("id") not in keys:
                        raise SampleDataError(
                            f"a sample {obj_name} refers to {value.get('id')!r} in {name}, "
                            "and no sample record has that key"
                        )
                    row[name] = {"object": value.get("object"), "id": keys[value["id"]]}
                elif f is not None and f.is_relation and value is not None:
                    if value in batch_keys:
                        # It refers to a record of this batch: write those first.
                        _flush(seeder, obj_name, batch, batch_keys, keys)
                    if value not in keys:
                        raise SampleDataError(
                            f"a sample {obj_name} refers to {value!r} in {name}, and no "
                            f"sample record has that key (its object had records already)"
                        )
                    row[name] = keys[value]
            batch.append(row)
            batch_keys.append(record.get("_key"))
        if batch:
            _flush(seeder, obj_name, batch, batch_keys, keys)
        counts[obj_name] = len(records)
    return counts


def _flush(
    seeder: Seeder,
    obj_name: str,
    batch: list[dict[str, Any]],
    batch_keys: list[str | None],
    keys: dict[str, Any],
) -> None:
    """Insert the batched sample records and remember their keys; empty the batch."""
    try:
        ids = seeder.insert(obj_name, batch)
    except RecordError as exc:
        raise SampleDataError(f"sample {obj_name}: {exc.message}") from None
    for key, record_id in zip(batch_keys, ids, strict=True):
        if key is not None:
            keys[key] = record_id
    batch.clear()
    batch_keys.clear()
