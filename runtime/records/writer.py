"""The one write path: create, update, delete, restore, transfer, share and upsert.

GraphQL mutations, workflow actions and approvals all write through a Writer, so every
write gets the same coercion, access checks, validation rules and state machines,
before-save automation, approval locks, auto numbers, field history and outbox event.
All writes of one caller run in the caller's transaction; the first refusal (a
RecordError carrying a code and the input's path) rolls all of them back.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from metadata.model import Field
from runtime.model.shape import ObjectShape
from runtime.records.access import Access
from runtime.records.before_save import ActionError, apply_before_save, before_save_workflows
from runtime.records.bulk import Bulk
from runtime.records.coercion import Values
from runtime.records.errors import RecordError
from runtime.records.rules import RuleCheck
from runtime.security.scope import SqlScope
from runtime.sql import naming
from runtime.storage.ids import new_id
from runtime.storage.sequences import allocate
from runtime.storage.tables import system_table

#: Outbox changes as JSON: keys sorted, Decimal as text, moments in ISO 8601 UTC.
_EVENTS = msgspec.json.Encoder(order="sorted")


class Writer(Values, Access, Bulk):
    """Writes to one object by one principal, on one connection (one transaction)."""

    def __init__(
        self,
        scope: SqlScope,
        conn: Connection,
        s: ObjectShape,
        schema: str | None,
        timezone: str,
        *,
        origin: tuple[uuid.UUID, int] | None = None,
        announce: bool = True,
        arriving: bool = False,
    ) -> None:
        self.scope, self.conn, self.s = scope, conn, s
        self.announce = announce
        """Append outbox events (False only for seeding: sample data is not news)."""
        self.arriving = arriving
        """Records come from elsewhere (seeds, imports) in the state they are in: a state
        machine's initial states do not bind their creation (its transitions still bind
        later changes, and validation rules always hold)."""
        self.origin = origin
        """The workflow run (and its chain depth) this write is an action of, if any."""
        self.principal = scope.principal
        self.model = scope.shape.complete
        self.table: Table = scope.shape.table(s.name, schema, conn.dialect.name)
        self.schema = schema
        self.timezone = timezone
        self.today = scope.today or dt.datetime.now(ZoneInfo(timezone)).date()
        self.rules = RuleCheck(
            scope.shape, s, conn, schema, self.today, scope.principal, arriving=arriving
        )
        self.before_save = before_save_workflows(self.model, s.name)
        self.events = 0
        """Outbox events this writer appended (the caller wakes the dispatcher if any)."""

    # -- statements ----------------------------------------------------------------------

    def insert(self, row: dict[str, Any], path: list[str | int]) -> uuid.UUID:
        now = dt.datetime.now(dt.UTC)
        record_id = new_id()
        me = self.principal.user_id
        full = {
            "id": record_id,
            "created_at": now,
            "updated_at": now,
            "created_by": me,
            "updated_by": me,
            "owner": me,
            **row,
        }
        today = dt.datetime.now(ZoneInfo(self.timezone)).date()
        for f in self.s.obj.fields.values():
            if f.type == "auto_number":
                [full[f.name]] = allocate(
                    self.conn, schema=self.schema, obj=self.s.name, field=f, on=today
                )
        if self.before_save:
            changed = self._before_save(full, None, "created", path)
            full.update(changed)
            row = {**row, **changed}
        self._run(insert(self.table).values(full), path)
        self.rules.enforce(record_id, None, path, created=True)
        self._event("created", record_id, {name: [None, value] for name, value in row.items()})
        return record_id

    def update(
        self,
        record_id: uuid.UUID,
        values: dict[str, Any],
        version: int | None,
        path: list[str | int],
        *,
        deleted: bool = False,
        validate: bool = True,
        known: Mapping[str, Any] | None = None,
    ) -> None:
        """Update a live (or, with ``deleted``, a deleted) record; unless ``validate`` is
        False (deleting, restoring), the object's validation rules check the result.
        ``known`` is the record as the caller read it in this transaction, if it did: its
        values are the old ones, so they need not be read again."""
        t = self.table
        self.check_unlocked(record_id, path)
        prior = (
            self.rules.before(record_id, values, always=bool(self.before_save), path=path)
            if validate
            else None
        )
        if validate and self.before_save and prior is not None:
            values = {**values, **self._before_save({**prior, **values}, prior, "updated", path)}
        statement = (
            update(t)
            .where(
                t.c.id == record_id,
                t.c.deleted_at.isnot(None) if deleted else t.c.deleted_at.is_(None),
            )
            .values(
                **values,
                updated_at=dt.datetime.now(dt.UTC),
                updated_by=self.principal.user_id,
                row_version=t.c.row_version + 1,
            )
        )
        if version is not None:
            statement = statement.where(t.c.row_version == version)
        # The changed columns' old values, for field history and the outbox event.
        # The rules' (or the caller's) read of the whole record already holds them.
        names = list(values)
        whole = prior if prior is not None else known
        old = (
            [whole[n] for n in names]
            if whole is not None
            else self.conn.execute(
                select(*(t.c[n] for n in names)).where(t.c.id == record_id)
            ).first()
        )
        if self._run(statement, path).rowcount == 1:
            assert old is not None
            before = dict(zip(names, old, strict=True))
            tracked = [n for n in self.model.objects[self.s.name].history if n in values]
            if tracked:
                self._record_history(record_id, tracked, [before[n] for n in tracked], values)
            if validate:
                self.rules.enforce(record_id, prior, path, created=False)
            kind = "updated"
            if "deleted_at" in values:
                kind = "deleted" if values["deleted_at"] is not None else "restored"
            changes = {n: [before[n], values[n]] for n in names if before[n] != values[n]}
            self._event(kind, record_id, changes)
            return
        current = self.conn.execute(
            select(t.c.row_version, t.c.deleted_at).where(t.c.id == record_id)
        ).first()
        label, zh = self.s.obj.label.get("en"), self.s.obj.label.get("zh-CN")
        if current is None or (current.deleted_at is None) == deleted:
            state = "deleted " if deleted else ""
            raise RecordError(
                f"no {state}{label} has id {record_id}",
                "NOT_FOUND",
                field=[*path[:-1], "id"] if path else None,
                zh=f"不存在 id 为 {record_id} 的{'已删除' if deleted else ''}{zh}",
            )
        raise RecordError(
            f"{label} {record_id} changed since you read it (rowVersion is now "
            f"{current.row_version}, you sent {version}); read it again and retry",
            "STALE_ROW_VERSION",
            field=[*path[:-1], "rowVersion"],
            zh=f"{zh} {record_id} 在你读取之后已被修改（rowVersion 现为 {current.row_version}，"
            f"你提交的是 {version}）；请重新读取后再试",
        )

    def _record_history(
        self, record_id: uuid.UUID, tracked: list[str], before: Any, values: dict[str, Any]
    ) -> None:
        """Append a field-history row per tracked field whose value changed."""
        obj = self.model.objects[self.s.name]
        now = dt.datetime.now(dt.UTC)
        rows = []
        for name, old in zip(tracked, before, strict=True):
            new = values[name]
            if _history_value(obj.fields[name], old) == _history_value(obj.fields[name], new):
                continue
            rows.append(
                {
                    "id": new_id(),
                    "object": self.s.name,
                    "record_id": record_id,
                    "field": name,
                    "old_value": _history_value(obj.fields[name], old),
                    "new_value": _history_value(obj.fields[name], new),
                    "changed_by": self.principal.user_id,
                    "changed_at": now,
                }
            )
        if rows:
            self.conn.execute(insert(self._system(naming.HISTORY_TABLE)), rows)

    def _event(self, kind: str, record_id: uuid.UUID, changes: dict[str, list[Any]]) -> None:
        """Append the write's event to the outbox, in the write's transaction."""
        if not self.announce:
            return
        outbox = self._system(naming.OUTBOX_TABLE)
        self.conn.execute(insert(outbox).values(self._event_row(kind, record_id, changes)))
        self.events += 1

    @staticmethod
    def _encode_changes(changes: dict[str, list[Any]]) -> str:
        return _EVENTS.encode(changes).decode()

    def _event_row(
        self, kind: str, record_id: uuid.UUID, changes: dict[str, list[Any]]
    ) -> dict[str, Any]:
        return {
            "object": self.s.name,
            "record_id": record_id,
            "kind": kind,
            "changes": self._encode_changes(changes),
            "actor": self.principal.user_id,
            "created_at": dt.datetime.now(dt.UTC),
            "run_id": self.origin[0] if self.origin else None,
            "depth": self.origin[1] if self.origin else 0,
            "request_id": self.scope.request_id,
        }

    def _before_save(
        self,
        record: dict[str, Any],
        prior: dict[str, Any] | None,
        event: str,
        path: list[str | int],
    ) -> dict[str, Any]:
        """Return the columns before-save workflows set on ``record`` (already checked)."""
        try:
            return apply_before_save(
                self.scope.shape,
                self.s.name,
                self.before_save,
                record,
                prior,
                event,
                self.today,
                self.rules._load,
            )
        except ActionError as exc:
            raise RecordError(
                str(exc), "WORKFLOW_FAILED", field=list(path), zh=f"保存前的自动化未能完成：{exc}"
            ) from None

    def _system(self, name: str) -> Table:
        return system_table(self.schema, name)

    def share(
        self,
        record_id: uuid.UUID,
        *,
        user: Any,
        role: str | None,
        access: str | None,
        path: list[str | int],
        remove: bool,
    ) -> None:
        """Add or remove a manual share of a record with one member or one role."""
        if (user is None) == (role is None):
            raise RecordError(
                "give exactly one of userId and role",
                field=[*path, "userId"],
                zh="userId 和 role 须给且只给一个",
            )
        table = self._system(naming.SHARES_TABLE)
        member = self.member(user, [*path, "userId"]) if user is not None else None
        if user is not None:
            who = table.c.user_id == member
        else:
            known = self.model.security.roles
            if role not in known:
                raise RecordError(
                    f"no role named {role!r}; roles: {', '.join(known) or 'none'}",
                    "INVALID_VALUE",
                    field=[*path, "role"],
                    zh=f"没有名为 {role!r} 的角色；现有角色：{'、'.join(known) or '无'}",
                )
            who = table.c.role == role
        match = (table.c.record_id == record_id, table.c.object == self.s.name, who)
        self.conn.execute(delete(table).where(*match))
        if not remove:
            self.conn.execute(
                insert(table).values(
                    id=new_id(),
                    object=self.s.name,
                    record_id=record_id,
                    user_id=member,
                    role=role if user is None else None,
                    access=access or "read",
                    shared_by=self.principal.user_id,
                    shared_at=dt.datetime.now(dt.UTC),
                )
            )

    # -- operations: what a caller asks for, checked and written -------------------------

    def create(self, values: Mapping[str, Any], path: list[str | int]) -> uuid.UUID:
        """Create one record from input ``values`` (API field names)."""
        row = self.row(values, path)
        self.check_references([row], path, index=False)
        return self.insert(row, path)

    def create_many(
        self, inputs: list[Mapping[str, Any]], path: list[str | int]
    ) -> list[uuid.UUID]:
        """Create records in order, with thousands of rows per statement; every input of
        a chunk is checked before any of it is written (``runtime.records.bulk``)."""
        ids: list[uuid.UUID] = []
        size = self.chunk
        for start in range(0, len(inputs), size):
            chunk = inputs[start : start + size]
            rows = [self.row(v, [*path, start + i]) for i, v in enumerate(chunk)]
            self.check_references(rows, path, index=True, offset=start)
            ids += self.insert_many(rows, path, offset=start)
        return ids

    def id_of(self, value: Any, path: list[str | int]) -> uuid.UUID:
        record_id = self._uuid(value, path)
        if record_id is None:
            raise RecordError("an id is required", "REQUIRED", field=path, zh="缺少 id")
        return record_id

    def change(
        self,
        record_id: uuid.UUID,
        values: Mapping[str, Any],
        version: int | None,
        id_path: list[str | int],
        path: list[str | int],
    ) -> uuid.UUID:
        """Update one record the principal may edit with input ``values``."""
        self.check_edit(record_id, id_path)
        row = self.row(values, path)
        self.check_references([row], path, index=False)
        self.update(record_id, row, version, path)
        return record_id

    def transfer(self, record_id: uuid.UUID, owner: uuid.UUID, path: list[str | int]) -> uuid.UUID:
        """Give a record the principal may edit to another member."""
        self.check_edit(record_id, path)
        self.update(record_id, {"owner": owner}, None, path)
        return record_id

    def delete(
        self,
        record_id: uuid.UUID,
        version: int | None,
        path: list[str | int],
        *,
        base: list[str | int],
    ) -> uuid.UUID:
        """Soft-delete a record, unless live records refer to it with on_delete restrict.
        ``path``: the id's input; ``base``: the call's, where a stale version is named."""
        self.check_edit(record_id, path)
        self.check_delete(record_id, path)
        now = dt.datetime.now(dt.UTC)
        self.update(record_id, {"deleted_at": now}, version, [*base, "x"], validate=False)
        return record_id

    def restore(
        self, record_id: uuid.UUID, path: list[str | int], *, base: list[str | int]
    ) -> uuid.UUID:
        """Bring a soft-deleted record back."""
        self.check_edit(record_id, path, deleted=True)
        self.update(
            record_id, {"deleted_at": None}, None, [*base, "x"], deleted=True, validate=False
        )
        return record_id

    def upsert(self, on: str, values: Mapping[str, Any], path: list[str | int]) -> uuid.UUID:
        """Update the live record whose unique field ``on`` (API name) has the input's
        value, or create one."""
        f = self.s.fields[on]
        if values.get(on) is None:
            raise RecordError(
                f"upsert on {on} needs input.{on}",
                "REQUIRED",
                field=[*path, on],
                zh=f"按 {on} 更新或创建时，输入须包含 {on}",
            )
        row = self.row(values, path)
        self.check_references([row], path, index=False)
        t = self.table
        # FOR UPDATE on PostgreSQL; SQLAlchemy writes nothing on SQLite, whose write
        # transaction already holds the file's lock.
        query = (
            select(t.c.id)
            .where(t.c[f.name] == row[f.name], t.c.deleted_at.is_(None))
            .with_for_update()
        )
        existing = self.conn.execute(query).scalar()
        if existing is None:
            return self.insert(row, path)
        if not self.accessible(self.s.name, {existing}):
            # The value is taken by a record the caller cannot read: say so, as creating
            # it would, without naming the record.
            raise RecordError(
                f"another live {self.s.obj.label.get('en')} already has this {on}",
                "UNIQUE_VIOLATION",
                field=[*path, on],
                zh=f"已有另一条{self.s.obj.label.get('zh-CN')}使用此 {on}",
            )
        self.check_edit(existing, [*path, on])
        self.update(existing, row, None, path)
        return existing

    def _run(self, statement: Any, path: list[str | int]) -> Any:
        # No savepoint: any error rolls back the whole request anyway.
        try:
            return self.conn.execute(statement)
        except IntegrityError as exc:
            raise self._integrity(exc, path) from None

    def _integrity(self, exc: IntegrityError, path: list[str | int]) -> RecordError:
        """Translate a constraint failure into an error naming the input field.

        PostgreSQL names the constraint (or column); SQLite's message names the columns,
        as in ``UNIQUE constraint failed: contact.email``.
        """
        text = str(exc.orig)
        diag = getattr(exc.orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        sqlstate = getattr(exc.orig, "sqlstate", None)
        not_null = sqlstate == "23502" or text.startswith("NOT NULL constraint failed")
        unique = sqlstate == "23505" or text.startswith("UNIQUE constraint failed")
        columns = text.split("failed: ")[-1].split(", ") if "failed: " in text else []
        if diag is not None and getattr(diag, "column_name", None):
            columns = [f"{self.s.name}.{diag.column_name}"]
        label, zh = self.s.obj.label.get("en"), self.s.obj.label.get("zh-CN")
        for key, f in {**self.s.fields, **self.s.id_fields}.items():
            named = f"{self.s.name}.{f.name}" in columns
            if unique and (named or constraint == naming.index_name("uq", self.s.name, [f.name])):
                return RecordError(
                    f"another live {label} already has this {key}",
                    "UNIQUE_VIOLATION",
                    field=[*path, key],
                    zh=f"已有另一条{zh}使用此 {key}",
                )
            if not_null and named:
                return RecordError(
                    f"{key} is required", "REQUIRED", field=[*path, key], zh=f"{key} 为必填项"
                )
        if unique:
            return RecordError(
                f"the values conflict with a unique index of {label}",
                "UNIQUE_VIOLATION",
                field=path,
                zh=f"这些值与{zh}的唯一索引冲突",
            )
        return RecordError(
            f"the change breaks a data rule of {label}",
            "CONSTRAINT_VIOLATION",
            field=path,
            zh=f"此修改违反了{zh}的数据规则",
        )


def _history_value(f: Field, value: Any) -> str | None:
    """Return a value as the JSON text field history keeps (the API's own format)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        out: Any = str(value.quantize(Decimal(1).scaleb(-(f.option("scale") or 0))))
    elif isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        out = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif isinstance(value, dt.date | dt.time):
        out = value.isoformat()
    elif isinstance(value, uuid.UUID):
        out = str(value)
    else:
        out = value
    return json.dumps(out, ensure_ascii=False)
