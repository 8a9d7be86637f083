"""Gap-free auto numbers: one counter row per (object, field, period) in the tenant.

The counter moves in the same transaction as the insert that uses it, so a rolled-back
insert gives its number back and numbers never skip. The price is that inserts into one
object wait for each other on that row, which is what gap-free numbering means.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from metadata.auto_number import parse_format, period_key
from metadata.model import Field
from runtime.sql import naming
from runtime.storage.conflicts import conflict_insert
from runtime.storage.tables import system_tables


def allocate(
    conn: Connection, *, schema: str | None, obj: str, field: Field, on: dt.date, count: int = 1
) -> list[str]:
    """Return the next ``count`` numbers of ``obj.field`` for records created ``on``."""
    pattern = parse_format(field.option("format"), field.option("reset"))
    period = period_key(field.option("reset"), on)
    table = system_tables(schema).tables[
        f"{schema}.{naming.SEQUENCES_TABLE}" if schema else naming.SEQUENCES_TABLE
    ]
    statement = conflict_insert(conn, table).values(
        object=obj,
        field=field.name,
        period=period,
        next_value=field.option("start") + count,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.object, table.c.field, table.c.period],
        set_={"next_value": table.c.next_value + count},
    ).returning(table.c.next_value)
    after = conn.execute(statement).scalar_one()
    return [pattern.render(value, on) for value in range(after - count, after)]
