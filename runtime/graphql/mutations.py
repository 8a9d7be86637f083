"""Mutations: create, update, soft delete, restore, bulk and upsert, as GraphQL fields.

All mutation fields of a request run in order in one transaction; the first error rolls
all of them back and is reported with ``extensions.code`` and the path of the offending
input field. The writes themselves, and every check on them, are the record service's
(``runtime.records``): this module maps a field's arguments to its operations, and after
the writes reads each field's returned records with one compiled statement.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, OperationDefinitionNode
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from runtime.graphql.api import Request, TenantApi
from runtime.graphql.automation import MUTATIONS, Resolver
from runtime.graphql.compiler.context import Context, QueryError
from runtime.graphql.compiler.translate import record_select
from runtime.graphql.responses import collect_root, error_json, response, shape_value
from runtime.model.shape import ObjectShape
from runtime.query.filters import col
from runtime.query.selection import record_json
from runtime.records.errors import RecordError
from runtime.records.writer import Writer
from runtime.storage.backends import bad_data, cancelled

if TYPE_CHECKING:
    from runtime.storage.backends import Backend


def _find(api: TenantApi, name: str) -> tuple[str, ObjectShape]:
    for s in api.shape.objects.values():
        t, p = s.type_name, s.plural_type
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
        return [w.create(args["input"], [key, "input"])]
    if verb == "create_many":
        _bulk(ctx, args["inputs"], [key, "inputs"])
        return w.create_many(args["inputs"], [key, "inputs"])
    if verb == "update":
        record_id = w.id_of(args["id"], [key, "id"])
        return [
            w.change(record_id, args["input"], args.get("rowVersion"), [key, "id"], [key, "input"])
        ]
    if verb == "update_many":
        _bulk(ctx, args["inputs"], [key, "inputs"])
        ids = []
        for i, item in enumerate(args["inputs"]):
            here: list[str | int] = [key, "inputs", i]
            record_id = w.id_of(item["id"], [*here, "id"])
            w.change(
                record_id, item["input"], item.get("rowVersion"), [*here, "id"], [*here, "input"]
            )
            ids.append(record_id)
        return ids
    if verb == "transfer":
        _bulk(ctx, args["ids"], [key, "ids"])
        owner = w.member(args["ownerId"], [key, "ownerId"])
        if owner is None:
            raise QueryError("ownerId is required", "REQUIRED", field=[key, "ownerId"])
        return [
            w.transfer(w.id_of(value, [key, "ids", i]), owner, [key, "ids", i])
            for i, value in enumerate(args["ids"])
        ]
    if verb in ("share", "unshare"):
        record_id = w.id_of(args["id"], [key, "id"])
        w.check_edit(record_id, [key, "id"])
        w.share(
            record_id,
            user=args.get("userId"),
            role=args.get("role"),
            access=args.get("access"),
            path=[key],
            remove=verb == "unshare",
        )
        return [record_id]
    if verb == "delete_many":
        _bulk(ctx, args["ids"], [key, "ids"])
        return [
            w.delete(
                w.id_of(value, [key, "ids", i]), args.get("rowVersion"), [key, "ids", i], base=[key]
            )
            for i, value in enumerate(args["ids"])
        ]
    if verb == "delete":
        record_id = w.id_of(args["id"], [key, "id"])
        return [w.delete(record_id, args.get("rowVersion"), [key, "id"], base=[key])]
    if verb == "restore":
        record_id = w.id_of(args["id"], [key, "id"])
        return [w.restore(record_id, [key, "id"], base=[key])]
    # upsert: ``on`` names the metadata field; the input names it as the API does
    on = next(k for k, v in w.s.fields.items() if v.name == args["on"])
    return [w.upsert(on, args["input"], [key, "input"])]


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
    body = record_json(ctx, record_select(ctx, s, [node], [key]), alias)
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
                    resolver = Resolver(ctx, conn, schema, request.hooks, request.timezone)
                    try:
                        value = resolver.mutate(name, args)
                    except RecordError as exc:
                        exc.field = [key, *(exc.field or [])[1:]] if exc.field else [key]
                        raise
                    started += resolver.started
                    events += resolver.events
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
    except RecordError as exc:
        path = [exc.field[0]] if exc.field else None
        extra = {**({"messages": exc.messages} if exc.zh else {}), **exc.extra}
        error = error_json(exc.message, exc.code, path, field=exc.field, **extra)
        return response(None, [error], executed=True)
    except DBAPIError as exc:
        if cancelled(exc):
            message = (
                "the mutations ran longer than the server allows and were stopped; none happened"
            )
            return response(None, [error_json(message, "TIMEOUT")], executed=True)
        if bad_data(exc):
            message = "a value does not fit the field it is written to; nothing was changed"
            return response(None, [error_json(message, "BAD_USER_INPUT")], executed=True)
        raise
    # Wake the dispatcher only when some workflow could react to the events.
    if events and not api.shape.complete.automation.triggered_by("record"):
        events = 0
    if request.hooks is not None and (events or started):
        request.hooks.after_commit(request.tenant, events, started)
    return response(data, [])


def document_of(operation: OperationDefinitionNode) -> Any:
    """Return a document holding only ``operation`` (automation roots use no fragments
    that matter here: fragments are resolved by collect_root before)."""
    from graphql import DocumentNode

    return DocumentNode(definitions=(operation,))
