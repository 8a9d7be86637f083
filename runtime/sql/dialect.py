"""SQL fragments that differ between PostgreSQL and SQLite.

The compiler writes one query shape for both databases and asks this module for the
pieces that differ: building JSON, formatting values, date buckets and text matching.
Values are formatted in SQL so that both backends produce byte-identical JSON:

* decimals are strings with the field's scale (``"1234.50"``): exact on PostgreSQL; SQLite
  stores them as 64-bit floats, exact to 15 significant digits;
* datetimes are UTC with microseconds (``2024-01-31T01:30:00.000000Z``);
* booleans are JSON booleans, ids are lowercase UUID strings.

Everything that differs between the backends comes from here: the dialect classes
(``base.py``, ``postgres.py``, ``sqlite.py``) spell JSON building, value formatting,
date buckets, text matching and folding, expression functions, upserts, row locks and
bulk inserts, and say what each backend can do (``listen_notify``, ``advisory_locks``,
``snapshot_reads``, ``sequences``). No module outside ``runtime/sql`` and
``runtime/storage`` asks which database it runs on (a test holds it).
"""

from __future__ import annotations

from metadata.model import Field
from runtime.sql import naming
from runtime.sql.base import BadValue, SqlDialect, escape_like
from runtime.sql.postgres import Postgres
from runtime.sql.sqlite import Sqlite

__all__ = [
    "BadValue",
    "Postgres",
    "SqlDialect",
    "Sqlite",
    "currency_code",
    "dialect_for",
    "escape_like",
]


def dialect_for(name: str, schema: str | None) -> SqlDialect:
    """Return the dialect for a backend's name and a tenant's schema."""
    return Postgres(schema) if name == "postgresql" else Sqlite(schema)


def currency_code(col_alias: str, field: Field) -> str:
    """Return the SQL column of a currency field's code."""
    return f'{col_alias}."{naming.currency_code_column(field.name)}"'
