"""Mutations: create, update, soft delete, restore, bulk and upsert.

All mutation fields of a request run in order in one transaction; the first error rolls
all of them back and is reported with ``extensions.code`` and the path of the offending
input field. Values are checked here (picklist values, lengths, scales, references)
before the database sees them, so clients get a field path instead of a constraint name.
After the writes, each field's returned records are read with one compiled statement.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from graphql import FieldNode, OperationDefinitionNode
from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from metadata.field_types import TYPES
from metadata.model import Field
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.filters import col
from runtime.graphql.compiler.selection import record_json
from runtime.graphql.rules import RuleCheck
from runtime.model.shape import ObjectShape
from runtime.sql import naming
from runtime.storage.backends import bad_data, cancelled
from runtime.storage.ids import new_id
from runtime.storage.sequences import allocate
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import APPROVALS
from runtime.workflows.before_save import ActionError, apply_before_save, before_save_workflows

if TYPE_CHECKING:
    from runtime.graphql.executor import Request, TenantApi
    from runtime.storage.backends import Backend

_PATTERNS = {
    kind: re.compile(TYPES[kind].default_schema["pattern"])  # type: ignore[index]
    for kind in ("email", "phone", "url")
}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class Writer:
    """Writes for one mutation field, on one connection."""

    def __init__(
        self,
        ctx: Context,
        conn: Connection,
        s: ObjectShape,
        schema: str | None,
        timezone: str,
        *,
        origin: tuple[uuid.UUID, int] | None = None,
    ) -> None:
        self.ctx, self.conn, self.s = ctx, conn, s
        self.origin = origin
        """The workflow run (and its chain depth) this write is an action of, if any."""
        self.principal = ctx.principal
        self.model = ctx.shape.complete
        self.table: Table = ctx.shape.table(s.name, schema, conn.dialect.name)
        self.schema = schema
        self.timezone = timezone
        self.today = ctx.today or dt.datetime.now(ZoneInfo(timezone)).date()
        self.rules = RuleCheck(ctx.shape, s, conn, schema, self.today, ctx.principal)
        self.before_save = before_save_workflows(self.model, s.name)
        self.events = 0
        """Outbox events this writer appended (the caller wakes the dispatcher if any)."""

    # -- values --------------------------------------------------------------------------

    def row(self, values: Mapping[str, Any], path: list[str | int]) -> dict[str, Any]:
        """Return the column values for input ``values`` (GraphQL names), checked."""
        row: dict[str, Any] = {}
        for key, value in values.items():
            here = [*path, key]
            if key == "owner":
                row["owner"] = self.member(value, here)
                continue
            f = self.s.fields.get(key) or self.s.id_fields[key]
            if value is None:
                if f.required:
                    raise QueryError(
                        f"{key} is required and cannot be null", "REQUIRED", field=here
                    )
                row[f.name] = None
                if f.type == "currency":
                    row[naming.currency_code_column(f.name)] = None
                continue
            self._check(f, value, here)
            if f.type == "currency":
                row[f.name] = value["amount"]
                code = value.get("currencyCode") or f.option("default_currency")
                if not _CURRENCY_CODE.match(code):
                    raise QueryError(
                        f"currencyCode {code!r} is not an ISO 4217 code such as CNY or USD",
                        field=[*here, "currencyCode"],
                    )
                row[naming.currency_code_column(f.name)] = code
            elif f.is_relation or f.type == "uuid":
                row[f.name] = self._uuid(value, here)
            else:
                row[f.name] = value
        return row

    def member(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        """Return ``value`` as the id of a member of the tenant (records' owners)."""
        user = self._uuid(value, path)
        if (
            user is not None
            and self.principal.user_id is not None
            and user not in self.principal.members
        ):
            raise QueryError(f"{value} is not a member of this tenant", "INVALID_VALUE", field=path)
        return user

    def _uuid(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        if value is None:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise QueryError(f"{value!r} is not a valid ID (a UUID)", field=path) from None

    def _check(self, f: Field, value: Any, path: list[str | int]) -> None:
        kind = f.type
        name = path[-1]
        if TYPES[kind].is_string and len(value) > f.option("max_length"):
            raise QueryError(
                f"{name} is {len(value)} characters long; the limit is {f.option('max_length')}",
                "VALUE_TOO_LONG",
                field=path,
            )
        if kind in _PATTERNS and not _PATTERNS[kind].match(value):
            raise QueryError(f"{name}: {value!r} is not a valid {kind}", field=path)
        if kind in ("picklist", "multi_picklist"):
            allowed = [v.value for v in f.values if not v.inactive]
            chosen = [value] if kind == "picklist" else value
            for item in chosen:
                if item not in allowed:
                    raise QueryError(
                        f"{name}: {item!r} is not one of {', '.join(allowed)}",
                        "INVALID_VALUE",
                        field=path,
                    )
            if kind == "multi_picklist" and len(set(value)) != len(value):
                raise QueryError(f"{name} lists a value twice", "INVALID_VALUE", field=path)
        if kind in ("decimal", "percent", "currency"):
            amount: Decimal = value["amount"] if kind == "currency" else value
            scale, precision = f.option("scale"), f.option("precision")
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > scale:
                raise QueryError(
                    f"{name} has more than {scale} decimal places; round it first",
                    "INVALID_VALUE",
                    field=path,
                )
            # adjusted(): the exponent of the leading digit, with no arithmetic that could
            # overflow the decimal context (1e1000000 is a valid GraphQL Decimal).
            if amount and amount.adjusted() >= precision - scale:
                raise QueryError(
                    f"{name} is too large: at most {precision - scale} digits before the point",
                    "INVALID_VALUE",
                    field=path,
                )
        if kind == "duration" and value < 0:
            raise QueryError(f"{name} cannot be negative", "INVALID_VALUE", field=path)

    def check_references(
        self, rows: list[dict[str, Any]], path: list[str | int], index: bool
    ) -> None:
        """Refuse references to records that do not exist or are deleted."""
        for f in self.s.obj.fields.values():
            if not f.is_relation:
                continue
            ids = {r[f.name] for r in rows if r.get(f.name) is not None}
            if not ids:
                continue
            found = {i for i, _ in self.accessible(f.target or "", ids)}
            for i, r in enumerate(rows):
                if r.get(f.name) is not None and r[f.name] not in found:
                    key = next(k for k, v in self.s.id_fields.items() if v.name == f.name)
                    raise QueryError(
                        f"{key}: no live {f.target} has id {r[f.name]}",
                        "REFERENCE_NOT_FOUND",
                        field=[*path, i, key] if index else [*path, key],
                    )

    def accessible(
        self, obj: str, ids: set[uuid.UUID], *, deleted: bool = False
    ) -> list[tuple[uuid.UUID, bool]]:
        """Return which of ``ids`` the principal can read, each with whether they can
        edit it; rows are locked until the transaction ends (PostgreSQL)."""
        ctx, d = self.ctx, self.ctx.dialect
        saved = ctx.params
        ctx.params = {}
        try:
            alias = ctx.alias()
            id_field = self.model.objects[obj].field("id")
            placeholders = ", ".join(ctx.param(d.bind(id_field, i)) for i in ids)
            state = f"{col(alias, 'deleted_at')} IS {'NOT ' if deleted else ''}NULL"
            read = ctx.rows(obj, alias)
            write = ctx.rows(obj, alias, write=True)
            lock = " FOR UPDATE" if d.name == "postgresql" else ""
            sql = (
                f"SELECT {col(alias, 'id')}, {write or '1 = 1'} FROM {d.table(obj)} {alias} "
                f"WHERE {col(alias, 'id')} IN ({placeholders}) AND {state}"
                f"{' AND ' + read if read else ''}{lock}"
            )
            rows = self.conn.exec_driver_sql(sql, ctx.params).all()
        finally:
            ctx.params = saved
        return [(uuid.UUID(str(r[0])), bool(r[1])) for r in rows]

    def check_edit(
        self, record_id: uuid.UUID, path: list[str | int], *, deleted: bool = False
    ) -> None:
        """Refuse a change to a record the principal cannot see (NOT_FOUND, so ids cannot
        be probed) or can see but not edit (FORBIDDEN)."""
        found = self.accessible(self.s.name, {record_id}, deleted=deleted)
        label = self.s.obj.label.get("en")
        if not found:
            state = "deleted " if deleted else ""
            raise QueryError(f"no {state}{label} has id {record_id}", "NOT_FOUND", field=path)
        if not found[0][1]:
            raise QueryError(
                f"you can read {label} {record_id} but not change it", "FORBIDDEN", field=path
            )

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
            self.rules.before(record_id, values, always=bool(self.before_save))
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
        label = self.s.obj.label.get("en")
        if current is None or (current.deleted_at is None) == deleted:
            state = "deleted " if deleted else ""
            raise QueryError(
                f"no {state}{label} has id {record_id}",
                "NOT_FOUND",
                field=[*path[:-1], "id"] if path else None,
            )
        raise QueryError(
            f"{label} {record_id} changed since you read it (rowVersion is now "
            f"{current.row_version}, you sent {version}); read it again and retry",
            "STALE_ROW_VERSION",
            field=[*path[:-1], "rowVersion"],
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
        self.conn.execute(
            insert(self._system(naming.OUTBOX_TABLE)).values(
                object=self.s.name,
                record_id=record_id,
                kind=kind,
                changes=json.dumps(changes, default=str, ensure_ascii=False, sort_keys=True),
                actor=self.principal.user_id,
                created_at=dt.datetime.now(dt.UTC),
                run_id=self.origin[0] if self.origin else None,
                depth=self.origin[1] if self.origin else 0,
                request_id=self.ctx.request_id,
            )
        )
        self.events += 1

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
                self.ctx.shape,
                self.s.name,
                self.before_save,
                record,
                prior,
                event,
                self.today,
                self.rules._load,
            )
        except ActionError as exc:
            raise QueryError(str(exc), "WORKFLOW_FAILED", field=list(path)) from None

    def check_unlocked(self, record_id: uuid.UUID, path: list[str | int]) -> None:
        """Refuse changes to a record an approval has locked (tenant admins and workflow
        actions, which run as the platform, may still change it)."""
        if self.principal.tenant_admin or not self.model.automation.locking(self.s.name):
            return
        approvals = self._system(APPROVALS)
        locking = [
            name
            for name, p in self.model.automation.approvals.items()
            if p.object == self.s.name and p.lock
        ]
        pending = self.conn.execute(
            select(approvals.c.id).where(
                approvals.c.object == self.s.name,
                approvals.c.record_id == record_id,
                approvals.c.status == "pending",
                approvals.c.process.in_(locking),
            )
        ).first()
        if pending is not None:
            raise QueryError(
                f"{self.s.obj.label.get('en')} {record_id} is locked while its approval is "
                "pending; recall the approval to change it",
                "RECORD_LOCKED",
                field=list(path),
                extra={"approvalId": str(pending.id)},
            )

    def _system(self, name: str) -> Table:
        return system_table(self.schema, name)

    def share(self, record_id: uuid.UUID, args: dict[str, Any], key: str, *, remove: bool) -> None:
        """Add or remove a manual share of a record with one member or one role."""
        user, role = args.get("userId"), args.get("role")
        if (user is None) == (role is None):
            raise QueryError("give exactly one of userId and role", field=[key, "userId"])
        table = self._system(naming.SHARES_TABLE)
        if user is not None:
            who = table.c.user_id == self.member(user, [key, "userId"])
        else:
            known = self.model.security.roles
            if role not in known:
                raise QueryError(
                    f"no role named {role!r}; roles: {', '.join(known) or 'none'}",
                    "INVALID_VALUE",
                    field=[key, "role"],
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
                    user_id=self.member(user, [key, "userId"]) if user is not None else None,
                    role=role if user is None else None,
                    access=args.get("access") or "read",
                    shared_by=self.principal.user_id,
                    shared_at=dt.datetime.now(dt.UTC),
                )
            )

    def check_delete(self, record_id: uuid.UUID, path: list[str | int]) -> None:
        """Refuse to delete a record that live records refer to with on_delete restrict.

        The refusal names a referring record only when the caller can read it: that some
        record refers to this one is the rule's answer, but which one is not theirs to
        learn otherwise (docs/security.md, "What an error may tell").
        """
        for obj in self.model.objects.values():
            for f in obj.fields.values():
                if f.target != self.s.name or f.option("on_delete") != "restrict":
                    continue
                child = self.ctx.shape.table(obj.name, self.schema, self.conn.dialect.name)
                blocking = {
                    uuid.UUID(str(i))
                    for i in self.conn.execute(
                        select(child.c.id)
                        .where(child.c[f.name] == record_id, child.c.deleted_at.is_(None))
                        .limit(20)
                    ).scalars()
                }
                if not blocking:
                    continue
                # Name one the caller can read, if any of the first few is.
                readable = (
                    sorted(i for i, _ in self.accessible(obj.name, blocking))
                    if obj.name in self.ctx.shape.objects
                    else []
                )
                example = f" (e.g. {readable[0]})" if readable else ""
                raise QueryError(
                    f"{self.s.obj.label.get('en')} {record_id} is still referred to by "
                    f"{obj.name}.{f.name}{example}; delete or reassign those first",
                    "DELETE_RESTRICTED",
                    field=path,
                )

    def _run(self, statement: Any, path: list[str | int]) -> Any:
        # No savepoint: any error rolls back the whole request anyway.
        try:
            return self.conn.execute(statement)
        except IntegrityError as exc:
            raise self._integrity(exc, path) from None

    def _integrity(self, exc: IntegrityError, path: list[str | int]) -> QueryError:
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
        label = self.s.obj.label.get("en")
        for key, f in {**self.s.fields, **self.s.id_fields}.items():
            named = f"{self.s.name}.{f.name}" in columns
            if unique and (named or constraint == naming.index_name("uq", self.s.name, [f.name])):
                return QueryError(
                    f"another live {label} already has this {key}",
                    "UNIQUE_VIOLATION",
                    field=[*path, key],
                )
            if not_null and named:
                return QueryError(f"{key} is required", "REQUIRED", field=[*path, key])
        if unique:
            return QueryError(
                f"the values conflict with a unique index of {label}",
                "UNIQUE_VIOLATION",
                field=path,
            )
        return QueryError(
            f"the change breaks a data rule of {label}", "CONSTRAINT_VIOLATION", field=path
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


def _plural_type(s: ObjectShape) -> str:
    return s.plural[:1].upper() + s.plural[1:]


def _find(api: TenantApi, name: str) -> tuple[str, ObjectShape]:
    for s in api.shape.objects.values():
        t, p = s.type_name, _plural_type(s)
        for verb, target in (
            ("create", t),
            ("create", p),
            ("update", t),
            ("update", p),
            ("delete", t),
            ("delete", p),
            ("restore", t),
            ("upsert", t),
            ("transfer", p),
            ("share", t),
            ("unshare", t),
        ):
            if name == verb + target:
                if verb == "transfer":
                    return verb, s
                return verb + ("_many" if target == p and p != t else ""), s
    raise QueryError(f"unknown mutation {name!r}", "GRAPHQL_VALIDATION_FAILED")


def _bulk(ctx: Context, items: list[Any], path: list[str | int]) -> None:
    if len(items) > ctx.limits.max_bulk_size:
        raise QueryError(
            f"{len(items)} records in one bulk mutation; the limit is {ctx.limits.max_bulk_size}",
            "LIMIT_EXCEEDED",
            field=path,
        )


def _mutate(ctx: Context, w: Writer, verb: str, args: dict[str, Any], key: str) -> list[uuid.UUID]:
    """Run one mutation field's writes; return the ids of the records it returns."""
    if verb == "create":
        row = w.row(args["input"], [key, "input"])
        w.check_references([row], [key, "input"], index=False)
        return [w.insert(row, [key, "input"])]
    if verb == "create_many":
        _bulk(ctx, args["inputs"], [key, "inputs"])
        rows = [w.row(v, [key, "inputs", i]) for i, v in enumerate(args["inputs"])]
        w.check_references(rows, [key, "inputs"], index=True)
        return [w.insert(row, [key, "inputs", i]) for i, row in enumerate(rows)]
    if verb == "update":
        record_id = w._uuid(args["id"], [key, "id"])
        assert record_id is not None
        w.check_edit(record_id, [key, "id"])
        row = w.row(args["input"], [key, "input"])
        w.check_references([row], [key, "input"], index=False)
        w.update(record_id, row, args.get("rowVersion"), [key, "input"])
        return [record_id]
    if verb == "transfer":
        _bulk(ctx, args["ids"], [key, "ids"])
        owner = w.member(args["ownerId"], [key, "ownerId"])
        if owner is None:
            raise QueryError("ownerId is required", "REQUIRED", field=[key, "ownerId"])
        ids = []
        for i, value in enumerate(args["ids"]):
            record_id = w._uuid(value, [key, "ids", i])
            assert record_id is not None
            w.check_edit(record_id, [key, "ids", i])
            w.update(record_id, {"owner": owner}, None, [key, "ids", i])
            ids.append(record_id)
        return ids
    if verb in ("share", "unshare"):
        record_id = w._uuid(args["id"], [key, "id"])
        assert record_id is not None
        w.check_edit(record_id, [key, "id"])
        w.share(record_id, args, key, remove=verb == "unshare")
        return [record_id]
    if verb == "update_many":
        _bulk(ctx, args["inputs"], [key, "inputs"])
        ids = []
        for i, item in enumerate(args["inputs"]):
            here: list[str | int] = [key, "inputs", i]
            record_id = w._uuid(item["id"], [*here, "id"])
            assert record_id is not None
            w.check_edit(record_id, [*here, "id"])
            row = w.row(item["input"], [*here, "input"])
            w.check_references([row], [*here, "input"], index=False)
            w.update(record_id, row, item.get("rowVersion"), [*here, "input"])
            ids.append(record_id)
        return ids
    if verb in ("delete", "delete_many", "restore"):
        raw = args["ids"] if verb == "delete_many" else [args["id"]]
        _bulk(ctx, raw, [key, "ids"])
        ids = []
        for i, value in enumerate(raw):
            here = [key, "ids", i] if verb == "delete_many" else [key, "id"]
            record_id = w._uuid(value, here)
            assert record_id is not None
            if verb == "restore":
                w.check_edit(record_id, here, deleted=True)
                w.update(
                    record_id, {"deleted_at": None}, None, [key, "x"], deleted=True, validate=False
                )
            else:
                w.check_edit(record_id, here)
                w.check_delete(record_id, here)
                now = dt.datetime.now(dt.UTC)
                w.update(
                    record_id,
                    {"deleted_at": now},
                    args.get("rowVersion"),
                    [key, "x"],
                    validate=False,
                )
            ids.append(record_id)
        return ids
    # upsert
    on = args["on"]
    f = w.s.obj.fields[on]
    gql_key = next(k for k, v in w.s.fields.items() if v.name == on)
    value = args["input"].get(gql_key)
    if value is None:
        raise QueryError(
            f"upsert on {gql_key} needs input.{gql_key}", "REQUIRED", field=[key, "input", gql_key]
        )
    row = w.row(args["input"], [key, "input"])
    w.check_references([row], [key, "input"], index=False)
    t = w.table
    # FOR UPDATE on PostgreSQL; SQLAlchemy writes nothing on SQLite, whose write
    # transaction already holds the file's lock.
    query = (
        select(t.c.id).where(t.c[f.name] == row[f.name], t.c.deleted_at.is_(None)).with_for_update()
    )
    existing = w.conn.execute(query).scalar()
    if existing is None:
        return [w.insert(row, [key, "input"])]
    if not w.accessible(w.s.name, {existing}):
        # The value is taken by a record the caller cannot read: say so, as creating it
        # would, without naming the record.
        raise QueryError(
            f"another live {w.s.obj.label.get('en')} already has this {gql_key}",
            "UNIQUE_VIOLATION",
            field=[key, "input", gql_key],
        )
    w.check_edit(existing, [key, "input", gql_key])
    w.update(existing, row, None, [key, "input"])
    return [existing]


def _read(
    ctx: Context,
    conn: Connection,
    s: ObjectShape,
    node: FieldNode,
    key: str,
    ids: list[uuid.UUID],
    many: bool,
) -> str:
    """Return the JSON of the records ``ids`` with ``node``'s selection, in that order."""
    if not ids:
        return "[]" if many else "null"
    ctx.params = {}
    alias = ctx.alias()
    body = record_json(ctx, s, alias, [node], [key])
    id_field = s.obj.field("id")
    placeholders = ", ".join(ctx.param(ctx.dialect.bind(id_field, i)) for i in ids)
    rows = ctx.rows(s.name, alias)
    sql = (
        f"SELECT {col(alias, 'id')}, {ctx.dialect.as_text(body)} FROM {ctx.dialect.table(s.name)} "
        f"{alias} WHERE {col(alias, 'id')} IN ({placeholders}){' AND ' + rows if rows else ''}"
    )
    found = {str(row[0]): row[1] for row in conn.exec_driver_sql(sql, ctx.params)}
    # A record given away (transfer) may no longer be readable: it comes back as null.
    texts = [found.get(str(i), "null") for i in ids]
    if many:
        texts = [t for t in texts if t != "null"]
    return "[" + ",".join(texts) + "]" if many else texts[0]


def run_mutations(
    api: TenantApi,
    backend: Backend,
    request: Request,
    ctx: Context,
    operation: OperationDefinitionNode,
    document: Any = None,
) -> str:
    """Run a mutation operation in one transaction and return the response JSON text."""
    from runtime.graphql.automation import MUTATIONS, Resolver
    from runtime.graphql.executor import _response, collect_root, error_json, shape_value

    root = api.schema.mutation_type
    assert root is not None
    selected = collect_root(ctx, root, operation.selection_set)
    data: list[tuple[str, str]] = []
    schema = backend.schema(request.tenant)
    events = 0
    started: list[uuid.UUID] = []
    try:
        with backend.begin_tenant(request.tenant) as conn, request.watching(conn):
            for key, nodes in selected.items():
                node = nodes[0]
                name = node.name.value
                if name == "__typename":
                    data.append((key, json.dumps(root.name)))
                    continue
                args = ctx.arguments(root.fields[name], node)
                if name in MUTATIONS:
                    resolver = Resolver(ctx, conn, schema, request.hooks)
                    try:
                        value = resolver.mutate(name, args)
                    except QueryError as exc:
                        exc.field = [key, *(exc.field or [])[1:]] if exc.field else [key]
                        raise
                    started += resolver.started
                    data.append(
                        (
                            key,
                            shape_value(
                                api.schema,
                                document_of(operation),
                                operation,
                                ctx.variables,
                                key,
                                nodes,
                                name,
                                value,
                            ),
                        )
                    )
                    continue
                verb, s = _find(api, name)
                writer = Writer(ctx, conn, s, schema, request.timezone)
                try:
                    ids = _mutate(ctx, writer, verb, args, key)
                finally:
                    events += writer.events
                many = verb.endswith("_many") or verb == "transfer"
                data.append(
                    (key, _read(ctx, conn, s, node, key, ids, many) if ids or many else "null")
                )
    except QueryError as exc:
        path = [exc.field[0]] if exc.field else None
        error = error_json(exc.message, exc.code, path, field=exc.field, **exc.extra)
        return _response(None, [error], executed=True)
    except DBAPIError as exc:
        if cancelled(exc):
            message = (
                "the mutations ran longer than the server allows and were stopped; none happened"
            )
            return _response(None, [error_json(message, "TIMEOUT")], executed=True)
        if bad_data(exc):
            message = "a value does not fit the field it is written to; nothing was changed"
            return _response(None, [error_json(message, "BAD_USER_INPUT")], executed=True)
        raise
    # Wake the dispatcher only when some workflow could react to the events.
    if events and not api.shape.complete.automation.triggered_by("record"):
        events = 0
    if request.hooks is not None and (events or started):
        request.hooks.after_commit(request.tenant, events, started)
    return _response(data, [])


def document_of(operation: OperationDefinitionNode) -> Any:
    """Return a document holding only ``operation`` (automation roots use no fragments
    that matter here: fragments are resolved by collect_root before)."""
    from graphql import DocumentNode

    return DocumentNode(definitions=(operation,))
