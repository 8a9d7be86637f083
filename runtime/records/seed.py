"""Seeding records from files: pack sample data and the demo's data, as the platform.

Seeds go through the same Writer as every other write, in bulk: kinds read their JSON
values, fields are checked, references must exist, auto numbers are taken, validation
rules hold. They arrive in the state they are in (a state machine's initial states do
not bind them), and append no outbox events: seeded records were not created by anyone,
so no workflow reacts to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from runtime.model.shape import ApiShape
from runtime.records.errors import RecordError
from runtime.records.writer import Writer
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.sql.dialect import dialect_for


class Seeder:
    """Seeds records into one tenant on one connection (the caller's transaction)."""

    def __init__(
        self, conn: Connection, shape: ApiShape, schema: str | None, *, timezone: str = "UTC"
    ) -> None:
        self.conn, self.shape, self.schema, self.timezone = conn, shape, schema, timezone
        self.scope = SqlScope(
            shape=shape,
            dialect=dialect_for(conn.dialect.name, schema),
            principal=Principal.system(schema or "tenant", actor="seed"),
        )

    def insert(self, obj: str, records: list[Mapping[str, Any]]) -> list[uuid.UUID]:
        """Insert ``records`` (metadata field names → JSON values, ``owner`` allowed) into
        ``obj``; return their ids in order."""
        s = self.shape.objects[obj]
        keys = {f.name: key for key, f in {**s.fields, **s.id_fields}.items()}
        inputs = []
        for i, record in enumerate(records):
            row = {}
            for name, value in record.items():
                if name == "owner":
                    row["owner"] = value
                    continue
                f = s.obj.fields.get(name)
                if f is None or name not in keys or f.system:
                    raise RecordError(
                        f"{obj} has no field {name!r} a record can set",
                        "BAD_USER_INPUT",
                        field=[obj, i, name],
                        zh=f"{obj} 没有可填写的字段 {name!r}",
                    )
                if f.computed or f.type == "auto_number":
                    raise RecordError(
                        f"{obj}.{name} is a {f.type} field and cannot be set",
                        "BAD_USER_INPUT",
                        field=[obj, i, name],
                        zh=f"{obj}.{name} 是{f.type}字段，不能填写",
                    )
                row[keys[name]] = value
            inputs.append(row)
        writer = Writer(
            self.scope, self.conn, s, self.schema, self.timezone, announce=False, arriving=True
        )
        return writer.create_many(inputs, [obj])
