"""Custom scalars: how input values are parsed. Output is formatted by the database.

The compiler never hands values to these scalars' ``serialize`` on the data path; the SQL
formats each value (see ``dialects``), so the functions below matter for input parsing
and for tools that print default values.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import (
    BooleanValueNode,
    FloatValueNode,
    GraphQLError,
    GraphQLScalarType,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    ValueNode,
)

from metadata.field_types import BIGINT_MAX, BIGINT_MIN


def _big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise GraphQLError(f"BigInt cannot represent {value!r}: give a whole number")
    try:
        number = int(value)
    except ValueError:
        raise GraphQLError(f"BigInt cannot represent {value!r}: give a whole number") from None
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise GraphQLError(f"BigInt {number} is outside the 64-bit range")
    return number


def _literal(node: ValueNode, _variables: Any = None) -> Any:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return node.value
    raise GraphQLError(f"expected a string or number, found {type(node).__name__}")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise GraphQLError(f"Decimal cannot represent {value!r}: give a number or a string")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise GraphQLError(f"Decimal cannot represent {value!r}") from None
    if not number.is_finite():
        raise GraphQLError(f"Decimal cannot represent {value!r}: it must be finite")
    return number


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise GraphQLError(f"Date must be a string like 2024-01-31, not {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Date {value!r} is not an ISO 8601 date (YYYY-MM-DD)") from None


def _datetime(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be a string like 2024-01-31T09:30:00Z, not {value!r}")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"DateTime {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise GraphQLError(
            f"DateTime {value!r} has no time zone: add Z or an offset such as +08:00"
        )
    return moment.astimezone(dt.UTC)


def _time(value: Any) -> dt.time:
    if not isinstance(value, str):
        raise GraphQLError(f"Time must be a string like 09:30:00, not {value!r}")
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Time {value!r} is not an ISO 8601 time (HH:MM[:SS])") from None


def _json_literal(node: ValueNode, variables: Any = None) -> Any:
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, StringValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    if isinstance(node, ListValueNode):
        return [_json_literal(item, variables) for item in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _json_literal(f.value, variables) for f in node.fields}
    raise GraphQLError("JSON literals cannot contain variables")


def _string_of(parse: Any) -> Any:
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        return parse(_literal(node))

    return parse_literal


BigInt = GraphQLScalarType(
    "BigInt",
    description="A 64-bit whole number, as a JSON number.",
    serialize=int,
    parse_value=_big_int,
    parse_literal=lambda node, _v=None: _big_int(
        node.value if isinstance(node, IntValueNode | StringValueNode) else None
    ),
)
DecimalScalar = GraphQLScalarType(
    "Decimal",
    description="An exact decimal number. Output is a string with the field's scale "
    '("1234.50"), so no digits are lost to floating point; input may be a string or a '
    "number.",
    serialize=str,
    parse_value=_decimal,
    parse_literal=_string_of(_decimal),
)
Date = GraphQLScalarType(
    "Date",
    description="A calendar date in ISO 8601 form: 2024-01-31.",
    serialize=str,
    parse_value=_date,
    parse_literal=_string_of(_date),
)
DateTime = GraphQLScalarType(
    "DateTime",
    description="A point in time in ISO 8601 form. Output is always UTC with microseconds "
    "(2024-01-31T01:30:00.000000Z); input needs a zone (Z or an offset).",
    serialize=str,
    parse_value=_datetime,
    parse_literal=_string_of(_datetime),
)
Time = GraphQLScalarType(
    "Time",
    description="A time of day, HH:MM:SS.",
    serialize=str,
    parse_value=_time,
    parse_literal=_string_of(_time),
)
JSONScalar = GraphQLScalarType(
    "JSON",
    description="Any JSON value.",
    serialize=lambda value: json.loads(value) if isinstance(value, str) else value,
    parse_value=lambda value: value,
    parse_literal=_json_literal,
)

SCALARS = (BigInt, DecimalScalar, Date, DateTime, Time, JSONScalar)
