"""Identifier rules shared by every layer: the pattern, reserved words and API name forms.

Metadata names become table names, column names and GraphQL names, so one rule set keeps
all three safe: a name that passes here never needs quoting tricks and never collides with
a SQL keyword, a GraphQL built-in or a column the platform adds itself.
"""

from __future__ import annotations

import re

IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)

#: Columns every object gets; user fields may not reuse these names.
SYSTEM_FIELD_NAMES = frozenset(
    {
        "id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "owner",
        "deleted_at",
        "row_version",
    }
)

#: Field names the generated API gives objects itself (``fieldHistory``).
API_FIELD_NAMES = frozenset({"field_history"})

#: PostgreSQL's reserved key words (both "reserved" columns of its key word table) plus the
#: SQL words SQLite refuses as bare identifiers. Quoting would make them legal, but a name
#: people must quote in every hand-written report query is a trap, so we refuse it.
SQL_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "binary",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "commit",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "escape",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "glob",
        "grant",
        "group",
        "having",
        "if",
        "ilike",
        "in",
        "index",
        "indexed",
        "initially",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "match",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "raise",
        "references",
        "regexp",
        "returning",
        "right",
        "rollback",
        "select",
        "session_user",
        "set",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "transaction",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "vacuum",
        "values",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
    ]
)

#: Names GraphQL or our generated API already uses at the type level. An object named
#: ``query`` would generate a type ``Query`` and shadow the root operation type.
GRAPHQL_RESERVED = frozenset(
    [
        "field_change",
        "share_access",
        "query",
        "mutation",
        "subscription",
        "fragment",
        "schema",
        "type",
        "interface",
        "union",
        "enum",
        "input",
        "scalar",
        "directive",
        "extend",
        "implements",
        "string",
        "int",
        "float",
        "boolean",
        "id",
        "node",
        "edge",
        "edges",
        "nodes",
        "cursor",
        "page_info",
        "connection",
        "json",
        "date",
        "datetime",
        "time",
        "decimal",
        "uuid",
        "duration",
        "currency_amount",
        "big_int",
        "long",
        "upload",
        "void",
        "any",
        "date_time",
        "big_int",
        "search",
        "search_hit",
        "search_record",
        "order_direction",
        "date_granularity",
    ]
)

#: Suffixes the GraphQL layer appends to type names (``AccountConnection``,
#: ``AccountFilter`` ...). An object called ``account_filter`` would collide with them.
GENERATED_TYPE_SUFFIXES = (
    "_connection",
    "_edge",
    "_filter",
    "_order_by",
    "_input",
    "_patch",
    "_aggregate",
    "_aggregates",
    "_group",
    "_group_by",
    "_group_key",
    "_group_field",
    "_unique_field",
    "_payload",
)


def identifier_schema(description: str) -> dict[str, object]:
    """Return the JSON Schema of one identifier, with its description."""
    return {"type": "string", "pattern": IDENTIFIER_PATTERN, "description": description}


def identifiers_schema(description: str) -> dict[str, object]:
    """Return the JSON Schema of a list of distinct identifiers."""
    return {
        "type": "array",
        "uniqueItems": True,
        "items": {"type": "string", "pattern": IDENTIFIER_PATTERN},
        "description": description,
    }


def is_identifier(name: object) -> bool:
    """Return whether ``name`` matches the identifier pattern."""
    return isinstance(name, str) and bool(_IDENTIFIER.match(name))


def identifier_problem(name: str, *, kind: str) -> str | None:
    """Return a plain explanation of why ``name`` is not a usable ``kind`` name, or None."""
    if not is_identifier(name):
        return (
            f"{kind} name {name!r} is not a valid identifier: use 1-63 lowercase letters, "
            "digits and underscores, starting with a letter (pattern "
            f"{IDENTIFIER_PATTERN})"
        )
    if "__" in name:
        return (
            f"{kind} name {name!r} contains '__', which is reserved for columns the platform "
            "generates (such as a currency field's code column)"
        )
    if name.endswith("_"):
        return f"{kind} name {name!r} ends with '_'; drop the trailing underscore"
    if name in SQL_RESERVED:
        return f"{kind} name {name!r} is a reserved SQL word; choose another name"
    if kind == "field" and name in SYSTEM_FIELD_NAMES:
        return f"field name {name!r} is a system field every object already has"
    if kind == "field" and name in API_FIELD_NAMES:
        return f"field name {name!r} is taken by the GraphQL API; choose another name"
    if kind == "object":
        if name in GRAPHQL_RESERVED:
            return f"object name {name!r} is reserved by the GraphQL API; choose another name"
        for suffix in GENERATED_TYPE_SUFFIXES:
            if name.endswith(suffix):
                return (
                    f"object name {name!r} ends with {suffix!r}, which the GraphQL API uses "
                    "for generated types; choose another name"
                )
    return None


def camel_case(name: str) -> str:
    """Return the GraphQL field form of a snake_case identifier (``annual_revenue`` →
    ``annualRevenue``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def pascal_case(name: str) -> str:
    """Return the GraphQL type form of a snake_case identifier (``sales_order`` →
    ``SalesOrder``)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def default_plural(name: str) -> str:
    """Return the English plural used for API names when an object declares none."""
    if name.endswith("y") and len(name) > 1 and name[-2] not in "aeiou":
        return name[:-1] + "ies"
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    return name + "s"


def humanize(name: str) -> str:
    """Return a readable English label for an identifier (``annual_revenue`` → ``Annual
    revenue``)."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]
