"""Compiled queries, kept: a request asked again runs its SQL without being compiled.

Compiling a query (variables coerced, limits checked, the selection translated into the
query IR and written as SQL) is about a tenth of a small read's server time. A plan is
the result: each root field's response key and its statement with its bound values. It
is kept in its TenantApi (one per metadata content hash and grants, so the reader's
field mask is fixed) under a key holding everything else the SQL depends on:

- the document, operation and variables (as canonical JSON);
- the tenant's schema (tenants with the same metadata share the TenantApi, not tables);
- the tenant's date (relative dates, ``TODAY()``);
- the reader's row predicate: user, role, team and the sharing rules that reach them.

Two readers whose predicates or masks differ never share a plan. Only queries whose every
root field is data (or ``__typename``) are kept; introspection and automation queries
run as before.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any

import msgspec

from runtime.security.principal import Principal


@dataclass(frozen=True)
class Root:
    """One root field of a plan: its response key, and its SQL with its parameters, or
    its JSON text when it needs no statement (``__typename``)."""

    key: str
    sql: str | None
    params: Mapping[str, Any]
    text: str = "null"


#: Largest document plus variables (characters) whose plan is kept: with the entries
#: bounded by count, a bound on each keeps a cache filled with large one-off requests
#: (a body may be megabytes) within ~2048 x 16 KB per schema.
MAX_KEPT_REQUEST = 16_384


def plan_key(
    query: str,
    operation: str | None,
    variables: Mapping[str, Any] | None,
    schema: str | None,
    today: dt.date,
    reader: Hashable,
    locale: str = "en",
) -> Hashable | None:
    """Return the key of a request's plan (None: not kept: variables that are not plain
    JSON, or a request over ``MAX_KEPT_REQUEST``); ``reader`` is ``reader_of`` the
    request's principal; ``locale`` the caller's language (picklist labels differ)."""
    if len(query) > MAX_KEPT_REQUEST:
        return None
    try:
        given = msgspec.json.encode(variables, order="sorted") if variables else b""
    except (TypeError, ValueError, msgspec.EncodeError):
        return None
    if len(query) + len(given) > MAX_KEPT_REQUEST:
        return None
    return (query, operation, given, schema, today, reader, locale)


def reader_of(principal: Principal) -> Hashable:
    """What of a principal its plans' SQL depends on: grants (the field mask), user,
    role, team and the sharing rules that reach it (the row predicate)."""
    rules = tuple(
        sorted((obj, tuple(rule.name for rule in rules)) for obj, rules in principal.rules.items())
    )
    return (principal.grants.key, principal.user_id, principal.role, principal.team, rules)


class Plans:
    """A TenantApi's plans, least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._plans: OrderedDict[Hashable, tuple[Root, ...]] = OrderedDict()
        self._lock = Lock()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._plans)

    def of(self, query: str) -> list[tuple[Root, ...]]:
        """The plans kept for ``query`` (any variables and reader), newest first: for
        tools that look at the SQL (benchmarks/explain_workloads.py)."""
        with self._lock:
            return [plan for key, plan in reversed(self._plans.items()) if key[0] == query]  # type: ignore[index]

    def get(self, key: Hashable) -> tuple[Root, ...] | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
                self.hits += 1
            return plan

    def put(self, key: Hashable, plan: tuple[Root, ...]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._plans[key] = plan
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)
