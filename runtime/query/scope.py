"""What compiling a read needs beyond the SQL scope: the limits, and the refusal type.

A ReadScope is one reader's statements (``runtime.security.scope``): bound parameters,
aliases, the reader's masked shape and row predicate, plus the bounds every query keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.limits import Limits
from runtime.records.errors import RecordError
from runtime.security.scope import SqlScope


class QueryError(RecordError):
    """A read the platform refuses; the API reports it with ``extensions.code``.

    Refusals of the write path (``runtime.records``) are RecordErrors, reported the same way.
    """


@dataclass(kw_only=True)
class ReadScope(SqlScope):
    """One reader's read statements, within the limits."""

    limits: Limits
    filter_terms: int = 0
    """Conditions built from the request's filters so far (bounded by the limits)."""
    parents: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(alias, lookup field) → (alias, object) of the row that lookup names, where that
    row was read already and passed this reader's row predicate (a to-many relation's
    parent): ``runtime.query.selection`` reuses it instead of a subquery."""

    def bounded(self, size: int) -> int:
        """Return a page size, refused outside the limits: every list is bounded, a
        query built by hand (a report, an export) as much as one from a request."""
        if not 0 <= size <= self.limits.max_page_size:
            raise QueryError(
                f"a page of {size} records is outside 0-{self.limits.max_page_size}",
                "LIMIT_EXCEEDED",
            )
        return size


def dotted(path: tuple[str | int, ...] | list[str | int]) -> str:
    return ".".join(map(str, path))
