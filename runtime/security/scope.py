"""The SQL a principal's statement is written in: bound parameters, aliases and the
principal's row predicate on every table read.

Reads (the GraphQL compiler) and writes (``runtime.records``) both build statements
through a scope, so every value reaches the database as a parameter, never as SQL text,
and no table is read without the caller's row predicate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from runtime.model.shape import ApiShape
from runtime.security.principal import Principal
from runtime.security.rows import row_predicate
from runtime.sql.dialect import SqlDialect


@dataclass(kw_only=True)
class SqlScope:
    """One principal's statements over one model, in one dialect."""

    shape: ApiShape
    dialect: SqlDialect
    principal: Principal
    """Who the statements run as; their row predicate goes wherever a table is read."""
    today: dt.date | None = None
    """The tenant's date, for TODAY() in formulas (None: the server's)."""
    timezone: str | None = None
    """The tenant's time zone, for relative date filters on datetimes (None: UTC)."""
    request_id: str | None = None
    """The HTTP request's id (or the workflow run's), carried into outbox events."""
    params: dict[str, Any] = field(default_factory=dict)
    _aliases: int = 0

    def param(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder."""
        key = f"p{len(self.params)}"
        self.params[key] = value
        return self.dialect.placeholder(key)

    def rows(self, obj: str, alias: str, *, write: bool = False) -> str | None:
        """Return the principal's row predicate on ``alias`` of ``obj`` (None: all rows)."""
        definition = self.shape.complete.objects[obj]
        return row_predicate(self, self.principal, definition, alias, write=write)

    def alias(self) -> str:
        """Return a fresh table alias."""
        self._aliases += 1
        return f"t{self._aliases}"
