"""Column types that behave the same on PostgreSQL and SQLite.

SQLAlchemy's own Uuid stores 32 hex digits on SQLite and its DateTime drops the UTC
offset there. Records read back on either backend must look identical (the GraphQL layer
serialises them directly), so these types pin one representation: UUIDs as the usual
36-character text, datetimes as UTC.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CHAR, JSON, DateTime
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class GUID(TypeDecorator[uuid.UUID]):
    """UUID: native on PostgreSQL, 36-character text on SQLite."""

    impl = CHAR(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(CHAR(36))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(str(value))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, always returned timezone-aware in UTC.

    Naive datetimes are refused on the way in: guessing their zone is how CRMs end up
    with meetings an hour off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError(f"datetime {value.isoformat()} has no timezone")
        value = value.astimezone(dt.UTC)
        # SQLite has no timezone type: store UTC wall time, as CURRENT_TIMESTAMP does.
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def json_type() -> TypeEngine[Any]:
    """Return the JSON type: JSONB on PostgreSQL (indexable, with containment operators)."""
    return JSON().with_variant(postgresql.JSONB(), "postgresql")
