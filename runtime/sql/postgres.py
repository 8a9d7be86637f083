"""PostgreSQL's spellings and features."""

from __future__ import annotations

import datetime as dt
import operator
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from runtime.sql.base import SqlDialect, _binary_type, escape_like


class Postgres(SqlDialect):
    name = "postgresql"

    listen_notify = advisory_locks = snapshot_reads = sequences = True
    for_update = " FOR UPDATE"

    def upsert(self, table: Table) -> Any:
        return postgresql.insert(table)

    def member_of(self, col: str, ids: list[uuid.UUID], param: Callable[[Any], str]) -> str:
        return f"{col} = ANY({param(list(ids))})"

    def json_array_text(self, values: list[str]) -> str:
        return f"CAST(json_build_array({', '.join(values)}) AS text)"

    def divide(self, left: str, right: str) -> str:
        return f"(CAST({left} AS numeric) / NULLIF({right}, 0))"

    def ordered_text(self, sql: str) -> str:
        return f'{sql} COLLATE "C"'

    def text_length(self, sql: str) -> str:
        return f"char_length({sql})"

    def trim_spaces(self, sql: str) -> str:
        return f"btrim({sql}, ' ')"

    def take(self, text: str, count: str, *, right: bool) -> str:
        n = f"CAST(trunc({count}) AS integer)"
        return f"{'right' if right else 'left'}({text}, GREATEST({n}, 0))"

    def contains_text(self, text: str, part: str) -> str:
        return f"(strpos({text}, {part}) > 0)"

    def begins_with(self, text: str, start: str) -> str:
        return f"(left({text}, char_length({start})) = {start})"

    def text_of_date(self, sql: str) -> str:
        return f"to_char({sql}, 'YYYY-MM-DD')"

    def text_of_id(self, sql: str) -> str:
        return f"CAST({sql} AS text)"

    def round_to(self, sql: str, digits: int) -> str:
        # round(numeric, numeric) does not exist in PostgreSQL: digits are SQL text.
        return f"round(CAST({sql} AS numeric), {digits})"

    def add_days(self, date: str, days: str) -> str:
        return f"({date} + CAST(trunc({days}) AS integer))"

    def days_between(self, start: str, end: str) -> str:
        return f"({end} - {start})"

    def add_seconds(self, moment: str, seconds: str) -> str:
        return f"({moment} + CAST({seconds} AS double precision) * interval '1 second')"

    def date_part(self, sql: str, part: str) -> str:
        return f"CAST(EXTRACT({part} FROM {sql}) AS integer)"

    def insert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        """Binary COPY: the rows stream in one round trip, each value dumped by the
        driver straight into its column's binary form. Measured per row on 100,000
        leads: psycopg's pipelined executemany 13 µs, text COPY 8 µs, binary COPY about
        half of that; one JSON parameter through ``json_populate_recordset`` 15 µs."""
        if not rows:
            return
        names = list(rows[0])
        types = [_binary_type(table.c[n].type.dialect_impl(conn.dialect), conn) for n in names]
        quote = conn.dialect.identifier_preparer.quote
        target = f"{quote(table.schema)}.{quote(table.name)}" if table.schema else quote(table.name)
        columns = ", ".join(quote(n) for n in names)
        values = operator.itemgetter(*names)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(types)
            if len(names) == 1:
                for row in rows:
                    copy.write_row((row[names[0]],))
            else:
                for row in rows:
                    copy.write_row(values(row))

    @property
    def integrity_errors(self) -> tuple[type[Exception], ...]:
        import psycopg

        return (IntegrityError, psycopg.IntegrityError)

    def placeholder(self, key: str) -> str:
        return f"%({key})s"

    def _object(self, pairs: list[tuple[str, str]]) -> str:
        return "json_build_object(" + ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs) + ")"

    def _concat_objects(self, chunks: list[str]) -> str:
        # Text splicing keeps key order (jsonb's || would sort the keys).
        inner = " || ', ' || ".join(
            f"substr(({c})::text, 2, length(({c})::text) - 2)" for c in chunks
        )
        return f"('{{' || {inner} || '}}')::json"

    def embed(self, sql: str) -> str:
        return sql

    def json_array(self, element: str, source: str, order: str) -> str:
        return f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) FROM {source})"

    def as_text(self, sql: str) -> str:
        return f"({sql})::text"

    def json_bool(self, sql: str) -> str:
        return sql

    def decimal_text(self, col: str, scale: int) -> str:
        return f"CAST(CAST({col} AS numeric(38, {scale})) AS text)"

    def datetime_text(self, col: str) -> str:
        return f"""to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

    def date_text(self, col: str) -> str:
        return f"to_char({col}, 'YYYY-MM-DD')"

    def time_text(self, col: str) -> str:
        return f"to_char({col}, 'HH24:MI:SS')"

    def round_float(self, sql: str, places: int) -> str:
        return f"CAST(round(CAST({sql} AS numeric), {places}) AS float8)"

    def date_bucket(self, col: str, granularity: str) -> str:
        return f"to_char(date_trunc('{granularity}', {col}), 'YYYY-MM-DD')"

    def bind_uuid(self, value: uuid.UUID) -> Any:
        return value

    def bind_decimal(self, value: Decimal) -> Any:
        return value

    def bind_datetime(self, value: dt.datetime) -> Any:
        return value

    def bind_bool(self, value: bool) -> Any:
        return value

    def like(self, col: str, param: str) -> str:
        return f"{col} LIKE {param}"

    def ilike(self, col: str, param: str) -> str:
        return f"{col} ILIKE {param}"

    def starts_with(self, col: str, param: str) -> str:
        return f"{col} LIKE {param}"

    def prefix_param(self, prefix: str) -> str:
        return escape_like(prefix) + "%"

    def contains(self, col: str, param: str) -> str:
        return f"strpos({col}, {param}) > 0"

    def contains_folded(self, col: str, param: str) -> str:
        return f"strpos(lower({col}), {param}) > 0"

    def picklist_any(self, col: str, params: list[str]) -> str:
        return f"jsonb_exists_any({col}, ARRAY[{', '.join(params)}]::text[])"

    def picklist_all(self, col: str, params: list[str]) -> str:
        return f"jsonb_exists_all({col}, ARRAY[{', '.join(params)}]::text[])"
