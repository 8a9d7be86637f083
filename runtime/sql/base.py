"""The dialect base class: what every backend must spell, and what it can do.

The classes per backend are ``postgres.py`` and ``sqlite.py`` (as Alembic keeps an
``impl`` per dialect); ``dialect.py`` picks one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import IntegrityError

from metadata.model import Field


class BadValue(ValueError):
    """An input value does not fit the field it is compared with or written to."""


#: json_build_object takes at most 100 arguments; SQLite's json_object 127 by default.
_MAX_PAIRS = 50


#: The Earth's mean radius (IUGG), in kilometres.
_EARTH_KM = 6371.0088


class SqlDialect(ABC):
    """What the compiler needs to know about one database."""

    name: str

    def __init__(self, schema: str | None) -> None:
        self.schema = schema

    # -- names and parameters --------------------------------------------------------

    @staticmethod
    def q(identifier: str) -> str:
        """Quote an identifier. Metadata names are validated identifiers already."""
        return f'"{identifier}"'

    def table(self, name: str) -> str:
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    @abstractmethod
    def placeholder(self, key: str) -> str:
        """Return the driver's placeholder for the parameter named ``key``."""

    # -- JSON ----------------------------------------------------------------------------

    @abstractmethod
    def _object(self, pairs: list[tuple[str, str]]) -> str: ...

    def json_object(self, pairs: list[tuple[str, str]]) -> str:
        """Return SQL building a JSON object with ``pairs`` (key, SQL) in order."""
        if len(pairs) <= _MAX_PAIRS:
            return self._object(pairs)
        chunks = [self._object(pairs[i : i + _MAX_PAIRS]) for i in range(0, len(pairs), _MAX_PAIRS)]
        return self._concat_objects(chunks)

    @abstractmethod
    def _concat_objects(self, chunks: list[str]) -> str: ...

    @abstractmethod
    def embed(self, sql: str) -> str:
        """Return ``sql`` (JSON text from a subquery) so it nests as JSON, not a string."""

    @abstractmethod
    def json_array(self, element: str, source: str, order: str) -> str:
        """Return a scalar subquery aggregating ``element`` over ``source`` into a JSON
        array ordered by ``order`` (columns of ``source``), ``[]`` when empty."""

    @abstractmethod
    def as_text(self, sql: str) -> str:
        """Return the final JSON value as text for the response."""

    @abstractmethod
    def json_bool(self, sql: str) -> str: ...

    def json_text(self, sql: str) -> str:
        """Return a text column holding JSON as a JSON value that nests unquoted."""
        return f"CAST({sql} AS json)" if self.name == "postgresql" else f"json({sql})"

    def literal(self, text: str) -> str:
        """Return a string literal; only used for GraphQL names (no quotes or percent)."""
        assert "'" not in text and "%" not in text
        return f"'{text}'"

    # -- values --------------------------------------------------------------------------

    def output(self, field: Field, col: str) -> str:
        """Return SQL formatting ``col`` of ``field`` for the response."""
        kind = field.type
        if kind in ("decimal", "currency", "percent"):
            return self.decimal_text(col, field.option("scale"))
        if kind == "datetime":
            return self.datetime_text(col)
        if kind == "date":
            return self.date_text(col)
        if kind == "time":
            return self.time_text(col)
        if kind == "boolean":
            return self.json_bool(col)
        if kind in ("json", "multi_picklist"):
            return self.embed(col)
        return col

    @abstractmethod
    def decimal_text(self, col: str, scale: int) -> str: ...

    @abstractmethod
    def datetime_text(self, col: str) -> str: ...

    @abstractmethod
    def date_text(self, col: str) -> str: ...

    @abstractmethod
    def time_text(self, col: str) -> str: ...

    @abstractmethod
    def round_float(self, sql: str, places: int) -> str: ...

    @abstractmethod
    def date_bucket(self, col: str, granularity: str) -> str:
        """Return SQL for the first day (as YYYY-MM-DD text) of ``col``'s bucket."""

    def bind(self, field: Field, value: Any) -> Any:
        """Return ``value`` (as GraphQL parsed it) in the form the driver compares with
        ``field``'s column. Raise BadValue when it cannot be."""
        if value is None:
            return None
        kind = field.type
        if kind in ("uuid", "lookup", "master_detail"):
            try:
                return self.bind_uuid(uuid.UUID(str(value)))
            except ValueError:
                raise BadValue(f"{value!r} is not a valid ID (a UUID)") from None
        if kind in ("decimal", "currency", "percent"):
            number = Decimal(str(value))
            whole = field.option("precision") - field.option("scale")
            # A number the column cannot hold is refused here, not by the database
            # (PostgreSQL would fail the statement; SQLite would compare it as a float).
            if not number.is_finite() or (number and number.adjusted() >= whole):
                raise BadValue(
                    f"{value} is outside the range of {field.name} (at most {whole} digits "
                    "before the point)"
                )
            return self.bind_decimal(number)
        if kind == "datetime":
            return self.bind_datetime(value)
        if kind in ("date", "time"):
            return value if self.name == "postgresql" else value.isoformat()
        if kind == "boolean":
            return self.bind_bool(value)
        return value

    @abstractmethod
    def bind_uuid(self, value: uuid.UUID) -> Any: ...

    @abstractmethod
    def bind_decimal(self, value: Decimal) -> Any: ...

    @abstractmethod
    def bind_datetime(self, value: dt.datetime) -> Any: ...

    @abstractmethod
    def bind_bool(self, value: bool) -> Any: ...

    # -- text matching -------------------------------------------------------------------

    @abstractmethod
    def like(self, col: str, param: str) -> str:
        """Case-sensitive LIKE (``%`` and ``_`` wildcards, ``\\`` escapes)."""

    @abstractmethod
    def ilike(self, col: str, param: str) -> str: ...

    @abstractmethod
    def starts_with(self, col: str, param: str) -> str: ...

    @abstractmethod
    def contains(self, col: str, param: str) -> str:
        """Case-sensitive substring test (no wildcards)."""

    @abstractmethod
    def contains_folded(self, col: str, param: str) -> str:
        """Substring test of lowercased ``col`` (the parameter is lowercased already)."""

    @abstractmethod
    def picklist_any(self, col: str, params: list[str]) -> str: ...

    @abstractmethod
    def picklist_all(self, col: str, params: list[str]) -> str: ...

    def like_param(self, pattern: str) -> str:
        return pattern

    def prefix_param(self, prefix: str) -> str:
        return prefix

    # -- features: what a backend can do (after Django's ``features.py``) ----------------

    listen_notify: bool = False
    """Processes can push invalidation messages through the database."""
    advisory_locks: bool = False
    """Session-level advisory locks exist (the beat's leadership)."""
    snapshot_reads: bool = False
    """A read transaction can be made REPEATABLE READ (exports read one snapshot)."""
    sequences: bool = False
    """Identity columns count with sequences that an import must move past its rows."""
    for_update: str = ""
    """What locks the rows a SELECT reads until the transaction ends (SQLite's write
    transaction already holds the whole file)."""

    @abstractmethod
    def upsert(self, table: Table) -> Any:
        """Return an INSERT into ``table`` that takes ``on_conflict_do_update`` and
        ``on_conflict_do_nothing``."""

    @abstractmethod
    def member_of(self, col: str, ids: list[uuid.UUID], param: Callable[[Any], str]) -> str:
        """SQL testing that ``col`` is one of ``ids`` (one bound parameter)."""

    @abstractmethod
    def json_array_text(self, values: list[str]) -> str:
        """SQL building the text of a JSON array of ``values`` (keyset cursors)."""

    def within_km(
        self, latitude: str, longitude: str, lat: str, lng: str, km: str, radius: float
    ) -> str:
        """SQL: the point (``latitude``, ``longitude`` columns) is at most ``km`` (a
        parameter; ``radius`` its value) from (``lat``, ``lng``), by the haversine formula.
        A latitude band first, so an index on the column can narrow the rows."""
        band = radius / 111.19 + 0.01  # degrees of latitude, with a margin
        return (
            f"({latitude} BETWEEN {lat} - {band!r} AND {lat} + {band!r}) AND "
            f"2 * {_EARTH_KM} * asin(sqrt("
            f"power(sin(radians({latitude} - {lat}) / 2), 2) + "
            f"cos(radians({lat})) * cos(radians({latitude})) * "
            f"power(sin(radians({longitude} - {lng}) / 2), 2))) <= {km}"
        )

    # -- expressions: the functions of docs/expressions.md ------------------------------

    def bind_date(self, value: dt.date) -> Any:
        return value

    @abstractmethod
    def divide(self, left: str, right: str) -> str:
        """Exact division, null when dividing by zero."""

    def ordered_text(self, sql: str) -> str:
        """Text compared by code point, as Python compares strings."""
        return sql

    @abstractmethod
    def text_length(self, sql: str) -> str: ...

    @abstractmethod
    def trim_spaces(self, sql: str) -> str: ...

    @abstractmethod
    def take(self, text: str, count: str, *, right: bool) -> str:
        """The first (or last) ``count`` characters; none for a count below one."""

    @abstractmethod
    def contains_text(self, text: str, part: str) -> str: ...

    @abstractmethod
    def begins_with(self, text: str, start: str) -> str: ...

    def text_of_date(self, sql: str) -> str:
        return sql

    def text_of_id(self, sql: str) -> str:
        return sql

    @abstractmethod
    def round_to(self, sql: str, digits: int) -> str: ...

    @abstractmethod
    def add_days(self, date: str, days: str) -> str: ...

    @abstractmethod
    def days_between(self, start: str, end: str) -> str: ...

    @abstractmethod
    def add_seconds(self, moment: str, seconds: str) -> str:
        """A datetime ``seconds`` (a number, may be fractional or negative) later."""

    @abstractmethod
    def date_part(self, sql: str, part: str) -> str:
        """``YEAR``, ``MONTH`` or ``DAY`` of a date, as an integer."""

    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (all with the same keys) in as few round trips as the driver
        allows: SQLite's executemany is a loop in C."""
        conn.execute(insert(table), rows)

    @property
    def integrity_errors(self) -> tuple[type[Exception], ...]:
        """Exceptions ``insert_rows`` raises for a broken constraint."""
        return (IntegrityError,)


#: PostgreSQL type names of the column types Tessera stores (binary COPY needs them).
_BINARY_TYPES = {
    "VARCHAR": "varchar",
    "CHAR": "bpchar",
    "TEXT": "text",
    "NUMERIC": "numeric",
    "FLOAT": "float8",
    "DOUBLE": "float8",
    "DOUBLE PRECISION": "float8",
    "REAL": "float4",
    "BIGINT": "int8",
    "INTEGER": "int4",
    "SMALLINT": "int2",
    "BOOLEAN": "bool",
    "DATE": "date",
    "TIME": "time",
    "TIME WITHOUT TIME ZONE": "time",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP WITHOUT TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp",
    "UUID": "uuid",
    "JSONB": "jsonb",
    "JSON": "json",
}


def _binary_type(column_type: Any, conn: Connection) -> str:
    compiled = column_type.compile(dialect=conn.dialect).split("(")[0].strip().upper()
    return _BINARY_TYPES[compiled]


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
