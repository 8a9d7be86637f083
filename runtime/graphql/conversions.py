"""Conversions through the data API: ``conversionMatches`` and ``convertRecord``.

``conversionMatches(conversion, id)`` computes the targets' values from the record and
returns, for each target with ``match`` fields, the existing records (that the caller
can read) with an equal value in any of them: the duplicate check (查重) shown before
converting. ``convertRecord(conversion, id, use)`` then makes the targets in order, in
the caller's transaction and with the caller's permissions: a target named in ``use``
is that existing record instead (its empty fields are filled from the map), every other
one is created; lookups between them are set; the source record is updated last. Any
refusal rolls all of it back.

See metadata/conversions.py for the metadata.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from graphql import GraphQLArgument, GraphQLField, GraphQLID, GraphQLNonNull, GraphQLString
from sqlalchemy import or_, select

from metadata.conversions import SOURCE, Conversion
from metadata.expressions.checker import BOOLEAN
from runtime.expressions.evaluate import Scope, evaluate
from runtime.graphql.compiler.context import QueryError
from runtime.graphql.scalars import JSONScalar
from runtime.records.values import compile_values, compute
from runtime.records.writer import Writer
from runtime.storage.records import read_record
from runtime.workflows.callers import caller_of

#: At most this many possible duplicates per target.
MAX_MATCHES = 10


def query_fields() -> dict[str, GraphQLField]:
    return {
        "conversionMatches": GraphQLField(
            GraphQLNonNull(JSONScalar),
            {
                "conversion": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                "id": GraphQLArgument(GraphQLNonNull(GraphQLID)),
            },
            description="Before converting: each target's values and the existing records "
            "that may be duplicates ([{target, object, values, matches: [{id, title, "
            "fields}]}]).",
        )
    }


def mutation_fields() -> dict[str, GraphQLField]:
    return {
        "convertRecord": GraphQLField(
            GraphQLNonNull(JSONScalar),
            {
                "conversion": GraphQLArgument(GraphQLNonNull(GraphQLString)),
                "id": GraphQLArgument(GraphQLNonNull(GraphQLID)),
                "use": GraphQLArgument(
                    JSONScalar,
                    description="Target → the id of an existing record to use instead of "
                    "creating one (a duplicate the person chose).",
                ),
            },
            description="Convert a record (a lead into an account, a contact and an "
            "opportunity): returns {target: {id, object, created}}.",
        )
    }


NAMES = frozenset({*query_fields(), *mutation_fields()})


class _Conversion:
    """One conversion of one record, for one resolver (its caller and transaction)."""

    def __init__(self, resolver: Any, args: dict[str, Any]) -> None:
        self.r = resolver
        self.ctx, self.conn, self.model = resolver.ctx, resolver.conn, resolver.model
        found = self.model.automation.conversions.get(args["conversion"])
        if found is None:
            raise QueryError(
                f"there is no conversion {args['conversion']!r}", "NOT_FOUND", field=["conversion"]
            )
        self.c: Conversion = found
        self.allowed()
        self.id = resolver._uuid(args["id"], "id")
        resolver._readable(self.c.object, self.id, edit=True)
        self.today = self.ctx.today or dt.date.today()
        self.record = self.read(self.c.object, self.id, lock=True)
        self.scope = self.scope_of(self.record)

    def allowed(self) -> None:
        p = self.r.principal
        if not self.c.roles or p.tenant_admin:
            return
        reach = set(self.model.security.subtree(p.role)) if p.role else set()
        if not reach & set(self.c.roles):
            raise QueryError(
                f"only {', '.join(self.c.roles)} (or roles above them) may convert with "
                f"{self.c.name}",
                "FORBIDDEN",
                field=["conversion"],
                zh=f"只有 {'、'.join(self.c.roles)}（或其上级角色）可以执行此转换",
            )

    def read(self, obj: str, record_id: Any, *, lock: bool = False) -> dict[str, Any]:
        table = self.ctx.shape.table(obj, self.r.schema, self.conn.dialect.name)
        row = read_record(self.conn, table, record_id, lock=lock)
        assert row is not None  # _readable found it in this transaction
        return row

    def scope_of(self, record: dict[str, Any]) -> Scope:
        p = self.r.principal
        shape = self.ctx.shape
        return Scope(
            record=record,
            today=self.today,
            calendar=self.model.automation.calendar,
            load=lambda o, i: read_record(
                self.conn, shape.table(o, self.r.schema, self.conn.dialect.name), i
            ),
            caller=caller_of(
                self.conn, shape, self.r.schema, p.tenant, p.user_id, lambda: p.role, self.today
            ),
        )

    def check_condition(self) -> None:
        if not self.c.condition:
            return
        typed = self.ctx.shape.typed(self.c.condition, self.c.object, expect=BOOLEAN)
        if evaluate(typed, self.scope) is True:
            return
        label = self.c.label.to_json()
        given = self.c.message.to_json() if self.c.message is not None else {}
        messages = {
            "en": given.get("en")
            or f"{label.get('en')}: this record does not meet {self.c.condition}",
            "zh-CN": given.get("zh-CN") or f"此记录不满足「{label.get('zh-CN')}」的条件",
        }
        raise QueryError(
            messages["en"],
            "CONDITION_NOT_MET",
            field=["id"],
            zh=messages["zh-CN"],
            extra={"messages": messages},
        )

    def values(self, target: Any) -> dict[str, Any]:
        typed = compile_values(self.ctx.shape, self.c.object, dict(target.values))
        return compute(self.model, target.object, typed, self.scope)

    def matches(self, target: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Existing records the caller can read with an equal value in a match field."""
        wanted = {f: values.get(f) for f in target.match if values.get(f) not in (None, "")}
        if not wanted or target.object not in self.ctx.shape.objects:
            return []
        table = self.ctx.shape.table(target.object, self.r.schema, self.conn.dialect.name)
        obj = self.model.objects[target.object]
        title = next((n for n in (*obj.search, "name") if n in obj.fields), "id")
        alias = self.ctx.alias()
        rows_sql = self.ctx.rows(target.object, alias)
        ids = [
            row.id
            for row in self.conn.execute(
                select(table.c.id)
                .where(
                    table.c.deleted_at.is_(None),
                    or_(*(table.c[f] == _clean(v) for f, v in wanted.items())),
                )
                .limit(200)
            ).all()
        ]
        if not ids:
            return []
        if rows_sql:
            # The caller's row predicate decides which of them they may see.
            ids = self._visible(target.object, ids)
        out = []
        for record_id in ids[:MAX_MATCHES]:
            row = read_record(self.conn, table, record_id)
            if row is None:
                continue
            fields = [f for f, v in wanted.items() if row.get(f) == _clean(v)]
            out.append({"id": str(record_id), "title": row.get(title), "fields": fields})
        return out

    def _visible(self, obj: str, ids: list[Any]) -> list[Any]:
        d, saved = self.ctx.dialect, self.ctx.params
        self.ctx.params = {}
        try:
            alias = self.ctx.alias()
            id_field = self.model.objects[obj].field("id")
            where = [
                f'{alias}."id" IN ({", ".join(self.ctx.param(d.bind(id_field, i)) for i in ids)})',
                self.ctx.rows(obj, alias) or "1 = 1",
            ]
            found = self.conn.exec_driver_sql(
                f'SELECT {alias}."id" FROM {d.table(obj)} {alias} WHERE {" AND ".join(where)}',
                self.ctx.params,
            ).all()
        finally:
            self.ctx.params = saved
        keep = {str(uuid.UUID(str(r[0]))) for r in found}
        return [i for i in ids if str(i) in keep]

    def writer(self, obj: str) -> Writer:
        s = self.ctx.shape.objects.get(obj)
        if s is None:
            raise QueryError(f"you cannot read {obj} records", "FORBIDDEN", field=["conversion"])
        return Writer(self.ctx, self.conn, s, self.r.schema, self.r.timezone)

    def writable(self, obj: str, fields: list[str], action: str) -> None:
        s = self.ctx.shape.objects.get(obj)
        if s is None or action not in s.allow:
            raise QueryError(
                f"you may not {action} {obj} records", "FORBIDDEN", field=["conversion"]
            )
        readable = {f.name for f in s.fields.values()} | {f.name for f in s.id_fields.values()}
        denied = [f for f in fields if f not in readable or f in s.read_only]
        if denied:
            raise QueryError(
                f"you may not set {obj}.{', '.join(denied)}", "FORBIDDEN", field=["conversion"]
            )

    def convert(self, use: dict[str, Any]) -> dict[str, Any]:
        self.check_condition()
        unknown = sorted(set(use) - {t.name for t in self.c.targets})
        if unknown:
            raise QueryError(f"there is no target {unknown[0]!r}", field=["use", unknown[0]])
        made: dict[str, Any] = {SOURCE: self.id}
        out: dict[str, Any] = {}
        for target in self.c.targets:
            values = self.values(target)
            values.update({field: made[other] for field, other in target.links.items()})
            writer = self.writer(target.object)
            path: list[str | int] = ["targets", target.name]
            if use.get(target.name):
                existing = self.r._uuid(use[target.name], "use")
                self.r._readable(target.object, existing, edit=True)
                row = self.read(target.object, existing, lock=True)
                fill = {k: v for k, v in values.items() if row.get(k) in (None, "")}
                if fill:
                    self.writable(target.object, list(fill), "update")
                    writer.update(existing, fill, None, path, known=row)
                made[target.name] = existing
                out[target.name] = {"id": str(existing), "object": target.object, "created": False}
            else:
                self.writable(target.object, list(values), "create")
                new = writer.insert(values, path)
                made[target.name] = new
                out[target.name] = {"id": str(new), "object": target.object, "created": True}
            self.r.events += writer.events
        if self.c.update:
            typed = compile_values(self.ctx.shape, self.c.object, dict(self.c.update))
            changes = compute(self.model, self.c.object, typed, self.scope)
            writer = self.writer(self.c.object)
            writer.update(self.id, changes, None, ["id"], known=self.record)
            self.r.events += writer.events
        return out


def _clean(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def resolve(resolver: Any, name: str, args: dict[str, Any]) -> Any:
    """Answer ``conversionMatches`` or ``convertRecord`` for the resolver's caller."""
    conversion = _Conversion(resolver, args)
    if name == "convertRecord":
        use = args.get("use") or {}
        if not isinstance(use, dict):
            raise QueryError("use is an object: {target: id}", field=["use"])
        return conversion.convert(use)
    out = []
    for target in conversion.c.targets:
        values = conversion.values(target)
        out.append(
            {
                "target": target.name,
                "object": target.object,
                "matches": conversion.matches(target, values),
            }
        )
    return out
