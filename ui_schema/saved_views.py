"""Saved list views: a person's filter, columns, sort and grouping, kept for them, for
everyone or for a role.

Saving checks the definition against the saver's own schema (a filter on a field they
cannot read is refused, naming the place). Listing checks it again against each
reader: a view that needs a field the reader cannot read is left out, so neither its
records nor its count can tell them anything about that field.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    coerce_input_value,
)
from graphql.utilities import validate_input_value
from sqlalchemy import Connection, and_, or_

from metadata.model import Model
from runtime.limits import Limits
from runtime.model.shape import ApiShape, ObjectShape
from runtime.query.build import condition, sorts
from runtime.query.scope import QueryError, ReadScope
from runtime.security.principal import Principal
from runtime.sql.dialect import SqlDialect
from runtime.storage.tables import system_table
from runtime.storage.view_tables import SAVED_VIEWS, VISIBILITIES
from ui_schema.fields import by_name

MAX_NAME = 100
#: At most this many saved views per person and object (each is read on every list).
MAX_PER_OBJECT = 50


class ViewError(ValueError):
    """A saved view refused: ``field`` is the argument path at fault."""

    def __init__(self, message: str, field: list[str | int], code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


@dataclass(frozen=True)
class Reader:
    """Who reads or saves views: their principal, their API shape and the tenant's
    whole model (roles)."""

    principal: Principal
    shape: ApiShape
    model: Model
    dialect: SqlDialect
    limits: Limits
    schema: GraphQLSchema
    """The reader's data API schema: a saved filter and sort are values of its types."""


def _scope(reader: Reader) -> ReadScope:
    return ReadScope(
        shape=reader.shape, dialect=reader.dialect, principal=reader.principal, limits=reader.limits
    )


def check_definition(
    reader: Reader, s: ObjectShape, definition: Any, path: list[str | int]
) -> dict[str, Any]:
    """Return the definition, normalized, or raise ViewError naming the place at fault."""
    if not isinstance(definition, Mapping):
        raise ViewError("a view definition is a JSON object", path)
    allowed = {"columns", "filter", "orderBy", "groupBy", "kanban"}
    extra = sorted(set(definition) - allowed)
    if extra:
        raise ViewError(
            f"unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})", [*path, extra[0]]
        )
    readable = by_name(s)
    columns = definition.get("columns") or []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise ViewError("columns is a list of field names", [*path, "columns"])
    if len(columns) > 50:
        raise ViewError("at most 50 columns", [*path, "columns"])
    for i, column in enumerate(columns):
        if column not in readable:
            raise ViewError(f"{s.type_name} has no field {column!r}", [*path, "columns", i])
    scope = _scope(reader)
    spec = _coerced(reader, f"{s.type_name}Filter", definition.get("filter"), [*path, "filter"])
    order = _coerced(
        reader, f"{s.type_name}OrderBy", definition.get("orderBy"), [*path, "orderBy"], many=True
    )
    try:
        if spec is not None:
            condition(scope, s, spec, [*path, "filter"])
        if order is not None:
            sorts(reader.shape, s, order, [*path, "orderBy"])
    except QueryError as exc:
        raise ViewError(str(exc), list(exc.field or path)) from None
    for key in ("groupBy", "kanban"):
        value = definition.get(key)
        if value is not None and (not isinstance(value, str) or value not in readable):
            raise ViewError(f"{s.type_name} has no field {value!r}", [*path, key])
    return {k: definition[k] for k in sorted(allowed) if definition.get(k) is not None}


def _coerced(
    reader: Reader, type_name: str, value: Any, path: list[str | int], *, many: bool = False
) -> Any:
    """Return ``value`` read as the data API reads an argument of ``type_name`` (a list of
    them with ``many``), or raise ViewError naming the first place that does not fit. A
    type the reader's schema lacks (they cannot filter that object) refuses any value."""
    if value is None:
        return None
    named = reader.schema.get_type(type_name)
    if not isinstance(named, GraphQLInputObjectType):
        raise ViewError(f"you cannot filter or sort {type_name[:-6]} records", path)
    target: Any = GraphQLList(GraphQLNonNull(named)) if many else named
    problems: list[tuple[list[str | int], str]] = []

    def failed(error: Any, at: Any) -> None:
        problems.append((list(at or ()), error.message))

    validate_input_value(value, target, failed)
    if problems:
        at, message = problems[0]
        raise ViewError(message, [*path, *at])
    return coerce_input_value(value, target)


def _usable(reader: Reader, s: ObjectShape, definition: dict[str, Any]) -> bool:
    try:
        check_definition(reader, s, definition, [])
    except ViewError:
        return False
    return True


def _visible_roles(reader: Reader) -> list[str]:
    """Roles whose views this reader sees: their own and every role below it."""
    role = reader.principal.role
    return reader.model.security.subtree(role) if role else []


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "object": row.object,
        "name": row.name,
        "visibility": row.visibility,
        "role": row.role,
        "mine": False,
        "definition": json.loads(row.definition),
    }


def list_views(
    conn: Connection, schema: str | None, reader: Reader, obj: str
) -> list[dict[str, Any]]:
    """Return the saved views of ``obj`` this reader may use, by name."""
    s = reader.shape.objects.get(obj)
    if s is None:
        return []
    table = system_table(schema, SAVED_VIEWS)
    me = reader.principal.user_id
    visible = [table.c.visibility == "public"]
    if me is not None:
        visible.append(table.c.owner_id == me)
    roles = _visible_roles(reader)
    if roles:
        visible.append(and_(table.c.visibility == "role", table.c.role.in_(roles)))
    rows = conn.execute(
        table.select()
        .where(table.c.object == obj, or_(*visible))
        .order_by(table.c.name, table.c.id)
        .limit(500)
    ).all()
    out = []
    for row in rows:
        item = _row(row)
        item["mine"] = row.owner_id == me
        if _usable(reader, s, item["definition"]):
            out.append(item)
    return out


def save_view(
    conn: Connection,
    schema: str | None,
    reader: Reader,
    obj: str,
    name: str,
    visibility: str,
    definition: Any,
    *,
    role: str | None = None,
    view_id: str | None = None,
) -> dict[str, Any]:
    """Create or (with ``view_id``) replace a saved view; return it."""
    principal = reader.principal
    if principal.user_id is None:
        raise ViewError("only a member can save views", [])
    s = reader.shape.objects.get(obj)
    if s is None:
        raise ViewError(f"there is no object {obj!r}", ["object"], "NOT_FOUND")
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise ViewError(f"a view's name has 1 to {MAX_NAME} characters", ["name"])
    if visibility not in VISIBILITIES:
        raise ViewError(f"visibility is one of {', '.join(VISIBILITIES)}", ["visibility"])
    if visibility == "role":
        if not role or role not in reader.model.security.roles:
            raise ViewError(f"there is no role {role!r}", ["role"])
        if not principal.tenant_admin and role not in _visible_roles(reader):
            raise ViewError(
                "you can share a view with your own role or a role below it", ["role"], "FORBIDDEN"
            )
    elif visibility == "public" and not principal.tenant_admin:
        raise ViewError("only tenant admins share views with everyone", ["visibility"], "FORBIDDEN")
    normalized = check_definition(reader, s, definition, ["definition"])
    table = system_table(schema, SAVED_VIEWS)
    now = dt.datetime.now(dt.UTC)
    values = {
        "object": obj,
        "name": name,
        "visibility": visibility,
        "role": role if visibility == "role" else None,
        "definition": json.dumps(normalized, ensure_ascii=False),
        "updated_at": now,
    }
    if view_id is not None:
        key = _id(view_id)
        mine = table.c.owner_id == principal.user_id
        where = and_(table.c.id == key, table.c.object == obj)
        if not principal.tenant_admin:
            where = and_(where, mine)
        if not conn.execute(table.update().where(where).values(**values)).rowcount:
            raise ViewError("there is no such view of yours", ["id"], "NOT_FOUND")
    else:
        count = conn.execute(
            table.select()
            .with_only_columns(table.c.id)
            .where(table.c.object == obj, table.c.owner_id == principal.user_id)
            .limit(MAX_PER_OBJECT)
        ).all()
        if len(count) >= MAX_PER_OBJECT:
            raise ViewError(
                f"you have {MAX_PER_OBJECT} views of {obj}, the most one person may keep",
                ["name"],
                "LIMIT_EXCEEDED",
            )
        key = uuid.uuid4()
        conn.execute(
            table.insert().values(id=key, owner_id=principal.user_id, created_at=now, **values)
        )
    return {
        "id": str(key),
        "object": obj,
        "name": name,
        "visibility": visibility,
        "role": values["role"],
        "mine": True,
        "definition": normalized,
    }


def delete_view(conn: Connection, schema: str | None, reader: Reader, view_id: str) -> bool:
    """Delete one of the reader's views (a tenant admin: anyone's); False if none."""
    table = system_table(schema, SAVED_VIEWS)
    where = table.c.id == _id(view_id)
    if not reader.principal.tenant_admin:
        where = and_(where, table.c.owner_id == reader.principal.user_id)
    return bool(conn.execute(table.delete().where(where)).rowcount)


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ViewError(f"{value!r} is not a view id", ["id"]) from None
