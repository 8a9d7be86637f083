"""SQL that converts a column's values when a field's type or size changes.

``metadata.diff.conversions`` decides whether a change is allowed; this module says how,
as one expression over the old column. PostgreSQL runs it in ``ALTER COLUMN ... TYPE ...
USING``, SQLite in the ``INSERT ... SELECT`` of a table rebuild, so both backends convert
values the same way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Date, Integer, String, Text, case, cast, func, literal, null
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

from metadata.diff.conversions import string_length
from metadata.model import Field
from runtime.storage.tables import column_type

_NUMERIC = {"integer", "decimal", "currency", "percent"}
_STRINGS = {"text", "email", "phone", "url", "picklist", "long_text", "rich_text"}


def convert(old: Field, new: Field, column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Return the expression giving ``column`` (holding ``old`` values) as ``new`` values."""
    pg = dialect == "postgresql"
    a, b = old.type, new.type
    if (a, b) == ("picklist", "multi_picklist"):
        wrap = func.jsonb_build_array(column) if pg else func.json_array(column)
        return case((column.is_(None), null()), else_=wrap)
    if (a, b) == ("multi_picklist", "picklist"):
        return column.op("->>")(literal(0)) if pg else func.json_extract(column, "$[0]")
    if (a, b) == ("date", "datetime"):
        if pg:
            return func.timezone("UTC", cast(column, postgresql.TIMESTAMP()))
        return column.concat(" 00:00:00.000000")
    if (a, b) == ("datetime", "date"):
        return cast(func.timezone("UTC", column), Date()) if pg else func.substr(column, 1, 10)
    if a in _NUMERIC and b == "integer":
        return cast(func.round(column), BigInteger() if pg else Integer())
    if a in _NUMERIC and b in _NUMERIC:
        old_scale, new_scale = old.option("scale") or 0, new.option("scale") or 0
        rounded = func.round(column, new_scale) if new_scale < old_scale else column
        return cast(rounded, column_type(new)) if pg else rounded
    if b in _STRINGS:
        limit = string_length(new)
        as_text = column if a in _STRINGS else _as_text(old, column, pg)
        old_limit = string_length(old) if a in _STRINGS else None
        # Cut unless the old values are strings known to fit (non-strings may not fit).
        if limit is not None and (old_limit is None or old_limit > limit):
            as_text = func.substr(as_text, 1, limit)
        return cast(as_text, String(limit) if limit else Text()) if pg else as_text
    return cast(column, column_type(new)) if pg else column


def _as_text(old: Field, column: ColumnElement[Any], pg: bool) -> ColumnElement[Any]:
    """Return a non-string value as text, formatted the same on both backends."""
    if old.type == "datetime":  # ISO 8601 in UTC, to the second: 2024-05-01T08:00:00Z
        if pg:
            return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        return func.strftime("%Y-%m-%dT%H:%M:%SZ", column)
    if old.type == "time":  # 08:30:00
        return func.to_char(column, "HH24:MI:SS") if pg else func.substr(column, 1, 8)
    if old.type in ("decimal", "percent", "currency"):  # as many decimals as the scale
        scale = old.option("scale") or 0
        if pg:
            return cast(column, Text())
        # printf() would turn NULL into '0.00'.
        return case((column.is_(None), null()), else_=func.printf(f"%.{scale}f", column))
    # Dates (YYYY-MM-DD), whole numbers, UUIDs and auto numbers read the same already.
    return cast(column, Text())


def render_postgres(expression: ColumnElement[Any]) -> str:
    """Return ``expression`` as PostgreSQL text, for ``ALTER COLUMN ... USING``."""
    return str(
        expression.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
