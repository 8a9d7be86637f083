"""SQLite's spellings and features."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite

from metadata.model import Field
from runtime.sql.base import SqlDialect


class Sqlite(SqlDialect):
    name = "sqlite"

    def upsert(self, table: Table) -> Any:
        return sqlite.insert(table)

    def member_of(self, col: str, ids: list[uuid.UUID], param: Callable[[Any], str]) -> str:
        values = param(json.dumps([str(u) for u in ids]))
        return f"{col} IN (SELECT value FROM json_each({values}))"

    def json_array_text(self, values: list[str]) -> str:
        return f"(json_array({', '.join(values)}) || '')"

    def bind_date(self, value: dt.date) -> Any:
        return value.isoformat()

    def divide(self, left: str, right: str) -> str:
        return f"(CAST({left} AS REAL) / NULLIF({right}, 0))"

    def text_length(self, sql: str) -> str:
        return f"length({sql})"

    def trim_spaces(self, sql: str) -> str:
        return f"trim({sql}, ' ')"

    def take(self, text: str, count: str, *, right: bool) -> str:
        n = f"CAST({count} AS INTEGER)"
        if not right:
            return f"substr({text}, 1, max({n}, 0))"
        return f"(CASE WHEN {n} <= 0 THEN '' ELSE substr({text}, -{n}) END)"

    def contains_text(self, text: str, part: str) -> str:
        return f"(instr({text}, {part}) > 0)"

    def begins_with(self, text: str, start: str) -> str:
        return f"(substr({text}, 1, length({start})) = {start})"

    def round_to(self, sql: str, digits: int) -> str:
        return f"round({sql}, {digits})"

    def add_days(self, date: str, days: str) -> str:
        return f"date({date}, CAST(CAST({days} AS INTEGER) AS TEXT) || ' days')"

    def days_between(self, start: str, end: str) -> str:
        return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"

    def add_seconds(self, moment: str, seconds: str) -> str:
        # Stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'; strftime keeps milliseconds.
        return (
            f"strftime('%Y-%m-%d %H:%M:%f', {moment}, "
            f"CAST(CAST({seconds} AS REAL) AS TEXT) || ' seconds')"
        )

    def date_part(self, sql: str, part: str) -> str:
        code = {"YEAR": "%Y", "MONTH": "%m", "DAY": "%d"}[part]
        return f"CAST(strftime('{code}', {sql}) AS INTEGER)"

    def placeholder(self, key: str) -> str:
        return f":{key}"

    def _object(self, pairs: list[tuple[str, str]]) -> str:
        return "json_object(" + ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs) + ")"

    def _concat_objects(self, chunks: list[str]) -> str:
        inner = " || ',' || ".join(f"substr({c}, 2, length({c}) - 2)" for c in chunks)
        return f"json('{{' || {inner} || '}}')"

    def embed(self, sql: str) -> str:
        # Values lose their JSON subtype when they leave a subquery; json() restores it.
        return f"json({sql})"

    def json_array(self, element: str, source: str, order: str) -> str:
        # SQLite 3.40 has no ORDER BY inside aggregates; it aggregates in the order the
        # ordered subquery yields its rows.
        return (
            f"(SELECT coalesce(json_group_array(json({element})), json('[]')) "
            f"FROM (SELECT * FROM {source} ORDER BY {order}))"
        )

    def as_text(self, sql: str) -> str:
        return sql

    def json_bool(self, sql: str) -> str:
        return (
            f"CASE WHEN {sql} IS NULL THEN NULL WHEN {sql} THEN json('true') ELSE json('false') END"
        )

    def decimal_text(self, col: str, scale: int) -> str:
        fmt = f"%.{scale}f" if scale else "%d"
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE printf('{fmt}', {col}) END"

    def datetime_text(self, col: str) -> str:
        return (
            f"substr({col}, 1, 10) || 'T' || substr({col}, 12, 8) || '.' || "
            f"substr(substr({col}, 21) || '000000', 1, 6) || 'Z'"
        )

    def date_text(self, col: str) -> str:
        return col

    def time_text(self, col: str) -> str:
        return f"substr({col}, 1, 8)"

    def round_float(self, sql: str, places: int) -> str:
        # Print like PostgreSQL prints float8 (900000, not 900000.0).
        return (
            f"CASE WHEN ({sql}) IS NULL THEN NULL "
            f"ELSE json(printf('%.15g', round({sql}, {places}))) END"
        )

    def date_bucket(self, col: str, granularity: str) -> str:
        if granularity == "day":
            return f"date({col})"
        if granularity == "week":
            return f"date({col}, 'weekday 0', '-6 days')"
        if granularity == "month":
            return f"strftime('%Y-%m-01', {col})"
        if granularity == "quarter":
            return (
                f"strftime('%Y', {col}) || '-' || printf('%02d', "
                f"((CAST(strftime('%m', {col}) AS INTEGER) - 1) / 3) * 3 + 1) || '-01'"
            )
        return f"strftime('%Y-01-01', {col})"

    def bind_uuid(self, value: uuid.UUID) -> Any:
        return str(value)

    def bind_decimal(self, value: Decimal) -> Any:
        return float(value)

    def bind_datetime(self, value: dt.datetime) -> Any:
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def bind_bool(self, value: bool) -> Any:
        return 1 if value else 0

    def bind(self, field: Field, value: Any) -> Any:
        if field.type == "time" and value is not None:
            return value.strftime("%H:%M:%S.%f")
        return super().bind(field, value)

    def like(self, col: str, param: str) -> str:
        # SQLite's LIKE ignores ASCII case; GLOB does not, so LIKE patterns become globs.
        return f"{col} GLOB {param}"

    def like_param(self, pattern: str) -> str:
        out, escaped = [], False
        for ch in pattern:
            if escaped:
                out.append(_glob_literal(ch))
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "%":
                out.append("*")
            elif ch == "_":
                out.append("?")
            else:
                out.append(_glob_literal(ch))
        return "".join(out)

    def ilike(self, col: str, param: str) -> str:
        return f"{col} LIKE {param} ESCAPE '\\'"

    def starts_with(self, col: str, param: str) -> str:
        return f"{col} GLOB {param}"

    def prefix_param(self, prefix: str) -> str:
        return "".join(_glob_literal(ch) for ch in prefix) + "*"

    def contains(self, col: str, param: str) -> str:
        return f"instr({col}, {param}) > 0"

    def contains_folded(self, col: str, param: str) -> str:
        return f"instr(lower({col}), {param}) > 0"

    def picklist_any(self, col: str, params: list[str]) -> str:
        return f"EXISTS (SELECT 1 FROM json_each({col}) WHERE value IN ({', '.join(params)}))"

    def picklist_all(self, col: str, params: list[str]) -> str:
        return (
            f"(SELECT count(DISTINCT value) FROM json_each({col}) "
            f"WHERE value IN ({', '.join(params)})) = {len(set(params))}"
        )


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in "*?[" else ch
