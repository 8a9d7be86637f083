"""Values in a portable archive: every column value as JSON, whatever the database.

A column is described by a *kind* (uuid, datetime, date, time, decimal, integer, boolean,
json, binary, text), read from its SQLAlchemy type, so an archive made on SQLite loads
into PostgreSQL and back. Tables that metadata does not describe (archives of dropped
fields) travel with their columns' kinds and are re-created with generic types.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    Time,
    Uuid,
)
from sqlalchemy.types import TypeEngine

from runtime.storage.types import GUID, UTCDateTime, json_type


def kind_of(type_: TypeEngine[Any]) -> str:
    """Return the portable kind of a column type."""
    if isinstance(type_, GUID | Uuid):
        return "uuid"
    if isinstance(type_, UTCDateTime | DateTime):
        return "datetime"
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, Time):
        return "time"
    if isinstance(type_, Boolean):
        return "boolean"
    if isinstance(type_, Integer):
        return "integer"
    if isinstance(type_, Float):  # a subclass of Numeric: ask first
        return "float"
    if isinstance(type_, Numeric):
        return "decimal"
    if isinstance(type_, JSON):
        return "json"
    if isinstance(type_, LargeBinary):
        return "binary"
    return "text"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_DUMP: dict[str, Callable[[Any], Any]] = {
    "uuid": str,
    "datetime": lambda v: _aware(v).isoformat() if isinstance(v, dt.datetime) else str(v),
    "date": lambda v: v.isoformat() if isinstance(v, dt.date) else str(v),
    "time": lambda v: v.isoformat() if isinstance(v, dt.time) else str(v),
    "decimal": str,
    "float": float,
    "integer": int,
    "boolean": bool,
    "json": lambda v: v,
    "binary": lambda v: base64.b64encode(bytes(v)).decode(),
    "text": lambda v: v if isinstance(v, str) else str(v),
}

_LOAD: dict[str, Callable[[Any], Any]] = {
    "uuid": lambda v: uuid.UUID(str(v)),
    "datetime": lambda v: _aware(dt.datetime.fromisoformat(str(v))),
    "date": lambda v: dt.date.fromisoformat(str(v)[:10]),
    "time": lambda v: dt.time.fromisoformat(str(v)),
    "decimal": lambda v: decimal.Decimal(str(v)),
    "float": float,
    "integer": int,
    "boolean": bool,
    "json": lambda v: v,
    "binary": lambda v: base64.b64decode(v),
    "text": lambda v: v if isinstance(v, str) else str(v),
}


def dump(kind: str, value: Any) -> Any:
    """Return ``value`` as JSON data."""
    return None if value is None else _DUMP[kind](value)


def load(kind: str, value: Any) -> Any:
    """Return the Python value a JSON value of ``kind`` stands for."""
    return None if value is None else _LOAD[kind](value)


def generic_column(name: str, kind: str, primary_key: bool = False) -> Column[Any]:
    """Return a column of ``kind`` for a table metadata does not describe."""
    types: dict[str, TypeEngine[Any]] = {
        "uuid": GUID(),
        "datetime": UTCDateTime(),
        "date": Date(),
        "time": Time(),
        "decimal": Numeric(),
        "float": Double(),
        "integer": BigInteger(),
        "boolean": Boolean(),
        "json": json_type(),
        "binary": LargeBinary(),
        "text": Text(),
    }
    return Column(name, types.get(kind, String()), primary_key=primary_key)
