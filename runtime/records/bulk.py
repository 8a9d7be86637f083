"""Writing many new records at once, with the guarantees of one.

Imports, pack sample data and ``createMany`` insert through here: the rows of a chunk
(``CHUNK``) are checked first, their auto numbers are taken in one counter update, and
they go to the database in one multi-row statement per set of columns, then their
outbox events in one more. Validation rules and state machines still look at each
record as stored, and a constraint failure still names the input row: the chunk runs
under a savepoint, and on a failure it is rolled back and replayed row by row until the
offending row speaks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, insert

from runtime.records.errors import RecordError
from runtime.sql import naming
from runtime.storage.ids import new_ids
from runtime.storage.sequences import allocate

if TYPE_CHECKING:
    from runtime.model.shape import ObjectShape
    from runtime.records.rules import RuleCheck
    from runtime.security.principal import Principal
    from runtime.security.scope import SqlScope

#: Rows checked and written together: thousands per round trip, bounded memory (5,000
#: rather than 1,000: the end of each COPY waits on the server; benchmarks/README.md).
CHUNK = 5000


class Bulk:
    """The many-rows half of a Writer (which provides ``_before_save``, ``_event_row``,
    ``_encode_changes``, ``_system`` and ``_run``, as it does for single writes)."""

    conn: Connection
    scope: SqlScope
    s: ObjectShape
    schema: str | None
    table: Table
    timezone: str
    principal: Principal
    rules: RuleCheck
    before_save: list[Any]
    announce: bool
    events: int
    chunk: int = CHUNK
    """Rows per chunk (a test may make chunks small to cross their borders cheaply)."""

    def insert_many(
        self, rows: list[dict[str, Any]], path: list[str | int], *, offset: int = 0
    ) -> list[uuid.UUID]:
        """Insert checked ``rows`` (column values); return their ids, in order. Errors
        name ``[*path, offset + i]`` for the row at ``i``."""
        if not rows:
            return []
        now = dt.datetime.now(dt.UTC)
        me = self.principal.user_id
        today = dt.datetime.now(ZoneInfo(self.timezone)).date()
        ids = new_ids(len(rows))
        full = [
            {
                "id": record_id,
                "created_at": now,
                "updated_at": now,
                "created_by": me,
                "updated_by": me,
                "owner": me,
                **row,
            }
            for record_id, row in zip(ids, rows, strict=True)
        ]
        for f in self.s.obj.fields.values():
            if f.type == "auto_number":
                numbers = allocate(
                    self.conn,
                    schema=self.schema,
                    obj=self.s.name,
                    field=f,
                    on=today,
                    count=len(rows),
                )
                for record, number in zip(full, numbers, strict=True):
                    record[f.name] = number
        changed_rows = rows
        if self.before_save:
            changed_rows = []
            for i, (record, row) in enumerate(zip(full, rows, strict=True)):
                changed = self._before_save(record, None, "created", [*path, offset + i])
                record.update(changed)
                changed_rows.append({**row, **changed})
        # Rows that set the same columns share a statement; a column a row leaves out
        # keeps its database default.
        groups: dict[frozenset[str], list[int]] = defaultdict(list)
        for i, record in enumerate(full):
            groups[frozenset(record)].append(i)
        for positions in groups.values():
            self._insert_group([full[i] for i in positions], positions, path, offset)
        self.rules.enforce_created(ids, [[*path, offset + i] for i in range(len(ids))])
        self.announce_created(ids, changed_rows)
        return ids

    def announce_created(self, ids: list[uuid.UUID], rows: list[dict[str, Any]]) -> None:
        """Append the outbox events of records just inserted, in one statement.

        (Building the changes in SQL from the stored rows was tried: PostgreSQL's JSON
        and number formatting cost 21 µs a record, against 11 µs for msgspec and COPY.)
        """
        if not self.announce or not ids:
            return
        # What the chunk's events share is made once; each adds its record and changes.
        common = self._event_row("created", ids[0], {})
        encode = self._encode_changes
        events = [
            {**common, "record_id": i, "changes": encode({n: [None, v] for n, v in row.items()})}
            for i, row in zip(ids, rows, strict=True)
        ]
        self.scope.dialect.insert_rows(self.conn, self._system(naming.OUTBOX_TABLE), events)
        self.events += len(events)

    def _insert_group(
        self,
        records: list[dict[str, Any]],
        positions: list[int],
        path: list[str | int],
        offset: int,
    ) -> None:
        savepoint = self.conn.begin_nested()
        try:
            self.scope.dialect.insert_rows(self.conn, self.table, records)
        except self.scope.dialect.integrity_errors:
            savepoint.rollback()
        else:
            savepoint.commit()
            return
        # Which row? Replay them one by one: the first that fails raises with its path.
        for record, i in zip(records, positions, strict=True):
            self._run(insert(self.table).values(record), [*path, offset + i])
        # Every row alone went in: what failed was the statement as a whole.
        raise RecordError(
            f"the rows break a data rule of {self.s.obj.label.get('en')}",
            "CONSTRAINT_VIOLATION",
            field=path,
            zh=f"这些记录违反了{self.s.obj.label.get('zh-CN')}的数据规则",
        )
