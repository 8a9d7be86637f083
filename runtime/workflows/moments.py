"""The moments time triggers count from, read in pages, and when each record fires.

A moment is a date or datetime: a stored field, ``created_at`` or ``updated_at``, a
formula or a roll-up (computed in SQL exactly as a read computes it, so "the latest
follow-up" is the same value a list view shows). A date's moment is the start of that
day in the tenant's time zone. A repeating trigger fires at the moment, then every
``every`` after it, ``times`` times in all; a scan that finds several firings past (the
beat was down) makes one run, for the latest.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from metadata.automation import Workflow
from metadata.expressions.checker import Typed
from metadata.expressions.syntax import ExpressionError
from metadata.model import Field
from runtime.expressions.sql import to_sql
from runtime.model.shape import ApiShape
from runtime.query.filters import field_sql
from runtime.security.principal import Principal
from runtime.security.scope import SqlScope
from runtime.sql.dialect import dialect_for


@dataclass(frozen=True)
class TimerClock:
    """A time trigger's arithmetic."""

    field: Field
    kind: str
    """``date`` or ``datetime``."""
    tz: dt.tzinfo
    offset: dt.timedelta
    every: dt.timedelta
    times: int

    @property
    def span(self) -> dt.timedelta:
        """From the first firing to the last."""
        return self.every * (self.times - 1)

    def base(self, moment: dt.date | dt.datetime) -> dt.datetime:
        """The moment as a point in time (a date begins where the tenant is)."""
        if isinstance(moment, dt.datetime):
            return moment
        return dt.datetime.combine(moment, dt.time(0), self.tz).astimezone(dt.UTC)

    def bound(self, moment: dt.datetime) -> dt.date | dt.datetime:
        """A bound to compare the field's values with, in SQL."""
        return moment.astimezone(self.tz).date() if self.kind == "date" else moment

    def parse(self, raw: Any) -> dt.date | dt.datetime:
        """A value as SQL gave it (SQLite gives computed moments as text)."""
        if self.kind == "date":
            if isinstance(raw, dt.datetime):
                return raw.date()
            return raw if isinstance(raw, dt.date) else dt.date.fromisoformat(str(raw)[:10])
        if not isinstance(raw, dt.datetime):
            raw = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        return raw.replace(tzinfo=dt.UTC) if raw.tzinfo is None else raw.astimezone(dt.UTC)


@dataclass(frozen=True)
class TimerScan:
    """One scan of one time workflow."""

    workflow: Workflow
    clock: TimerClock
    now: dt.datetime
    floor: dt.datetime | None
    """catch_up: skip: firings due at or before this are never made."""
    low: dt.datetime | None
    """The last scan's due moment: firings due by then were looked at then."""

    def occurrence(
        self, moment: dt.date | dt.datetime, *, fresh: bool
    ) -> tuple[int, dt.datetime] | None:
        """Return (index, time) of the latest firing past by now, or None if there is
        none yet, it is before the floor, or (``fresh``) an earlier scan saw it."""
        c = self.clock
        first = c.base(moment) + c.offset
        if first > self.now:
            return None
        k = 0
        if c.times > 1 and c.every:
            k = min(c.times - 1, int((self.now - first) / c.every))
        at = first + c.every * k
        due = at - c.offset
        if self.floor is not None and due <= self.floor:
            return None
        if fresh and self.low is not None and due <= self.low:
            return None
        return k, at


def moments_page(
    conn: Connection,
    shape: ApiShape,
    schema: str | None,
    tenant: str,
    obj: str,
    clock: TimerClock,
    low: dt.datetime | None,
    high: dt.datetime,
    changed_since: dt.datetime | None,
    after: tuple[Any, Any] | None,
    limit: int,
    today: dt.date,
    condition: Typed | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[Any, Any, dt.date | dt.datetime]]:
    """Return up to ``limit`` (id, value as SQL gave it, moment) of live records with
    ``low < moment <= high`` (and changed since ``changed_since``, and meeting
    ``condition``, compiled to SQL), after ``after`` in (moment, id) order. One
    statement, its values bound."""
    dialect = dialect_for(conn.dialect.name, schema)
    scope = SqlScope(shape=shape, dialect=dialect, principal=Principal.system(tenant), today=today)
    f = clock.field
    moment = (
        field_sql(scope, shape.objects[obj], "t", f)  # type: ignore[arg-type]
        if f.computed
        else f't."{f.name}"'
    )

    def bind(value: dt.date | dt.datetime) -> str:
        if isinstance(value, dt.datetime):
            return scope.param(dialect.bind_datetime(value))
        return scope.param(dialect.bind_date(value))

    where = [
        't."deleted_at" IS NULL',
        f"{moment} IS NOT NULL",
        f"{moment} <= {bind(clock.bound(high))}",
    ]
    if low is not None:
        where.append(f"{moment} > {bind(clock.bound(low))}")
    if condition is not None:
        where.append(to_sql(condition, "t", scope, today=today, now=now))
    if changed_since is not None:
        where.append(f't."updated_at" >= {scope.param(dialect.bind_datetime(changed_since))}')
    if after is not None:
        last = scope.param(after[0])
        where.append(
            f'({moment} > {last} OR ({moment} = {last} AND t."id" > '
            f"{scope.param(dialect.bind_uuid(after[1]))}))"
        )
    sql = (
        f'SELECT t."id", {moment} FROM {dialect.table(obj)} t WHERE '
        + " AND ".join(where)
        + f' ORDER BY 2, t."id" LIMIT {int(limit)}'
    )
    rows = conn.exec_driver_sql(sql, scope.params).all()
    return [(_id(r[0]), r[1], clock.parse(r[1])) for r in rows]


def _id(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def read_records(conn: Connection, table: Any, ids: list[Any]) -> dict[str, dict[str, Any]]:
    """The live records with ``ids``, typed as the table's columns give them, by id."""
    if not ids:
        return {}
    rows = conn.execute(select(table).where(table.c.id.in_(ids), table.c.deleted_at.is_(None)))
    return {str(r.id): dict(r._mapping) for r in rows}


def in_sql(condition: Typed | None, shape: ApiShape, schema: str | None, dialect: str) -> bool:
    """Whether a trigger condition can be judged in the page query (no function only the
    engine evaluates, such as ADDWORKDAYS): then no record is read into Python."""
    if condition is None:
        return False
    scope = SqlScope(
        shape=shape,
        dialect=dialect_for(dialect, schema),
        principal=Principal.system(""),
        today=dt.date.today(),
    )
    try:
        to_sql(condition, "t", scope, today=dt.date.today())
    except ExpressionError:
        return False
    return True
