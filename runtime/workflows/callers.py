"""The person an automation expression is judged for: USERID(), ROLE(), ISMEMBER() and
COUNT() of the records they own.

A manual workflow's condition and limit are judged for whoever starts it (in the
request, to refuse at once, and again when the run executes, under a lock, so two
claims at once cannot both slip under a limit); a run's actions see the person who
caused the run. COUNT is one bounded statement: ``count(*)`` of their live records of
an object meeting a condition compiled to SQL as a formula is, its values bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from metadata.expressions.checker import Typed
from metadata.model import Model
from runtime.expressions.evaluate import Caller
from runtime.expressions.sql import to_sql
from runtime.model.shape import ApiShape
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.sql.dialect import dialect_for


def caller_of(
    conn: Connection,
    shape: ApiShape,
    schema: str | None,
    tenant: str,
    user_id: Any,
    role_of: Callable[[], str | None],
    today: dt.date,
) -> Caller | None:
    """Return the facts expressions know of ``user_id`` (None: nobody, the system);
    ``role_of`` reads their role, only if an expression asks for it."""
    if user_id is None:
        return None
    model: Model = shape.complete

    def facts() -> tuple[str | None, frozenset[str]]:
        role = role_of()
        return role, frozenset(model.security.subtree(role)) if role else frozenset()

    def count(obj: str, condition: Typed) -> int:
        dialect = dialect_for(conn.dialect.name, schema)
        scope = SqlScope(
            shape=shape, dialect=dialect, principal=Principal.system(tenant), today=today
        )
        owner = scope.param(dialect.bind_uuid(user_id))
        where = to_sql(condition, "t", scope, today=today)
        sql = (
            f"SELECT count(*) FROM {dialect.table(obj)} t "
            f'WHERE t."deleted_at" IS NULL AND t."owner" = {owner} AND {where}'
        )
        return int(conn.exec_driver_sql(sql, scope.params).scalar_one())

    return Caller(user_id=user_id, facts=facts, count=count)
