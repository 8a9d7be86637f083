"""A tenant's built API, and one request to it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from sqlalchemy import Connection

from runtime.graphql.plans import Plans
from runtime.graphql.validation import RULES
from runtime.limits import Limits
from runtime.model.shape import ApiShape
from runtime.security.principal import Principal
from runtime.storage.cancel import Cancellation

#: Longest document (characters) kept parsed: the cache is bounded by count, so each
#: entry is bounded too, or 512 one-off megabyte documents would hold gigabytes.
MAX_KEPT_DOCUMENT = 65_536


@dataclass
class TenantApi:
    """A built schema with its shape and its cache of parsed, validated documents.

    Tenants with the same metadata content hash share one TenantApi.
    """

    shape: ApiShape
    schema: GraphQLSchema
    limits: Limits
    _documents: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = field(
        default_factory=OrderedDict
    )
    _lock: Lock = field(default_factory=Lock)
    plans: Plans = field(init=False)

    def __post_init__(self) -> None:
        self.plans = Plans(self.limits.plan_cache_size)

    def document(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Return ``query`` parsed and validated (cached), or the errors that stop it."""
        with self._lock:
            hit = self._documents.get(query)
            if hit is not None:
                self._documents.move_to_end(query)
                return hit
        try:
            document: DocumentNode | None = parse(query)
            errors = validate(self.schema, document, RULES)
        except GraphQLError as exc:
            document, errors = None, [exc]
        entry = (document if not errors else None, list(errors))
        if len(query) > MAX_KEPT_DOCUMENT:
            return entry  # parsed for this request only: see MAX_KEPT_DOCUMENT
        with self._lock:
            self._documents[query] = entry
            while len(self._documents) > self.limits.document_cache_size:
                self._documents.popitem(last=False)
        return entry


@dataclass(frozen=True)
class Request:
    """One GraphQL request for one tenant, run as ``principal``."""

    tenant: str
    principal: Principal
    query: str
    variables: Mapping[str, Any] | None = None
    operation_name: str | None = None
    timezone: str = "UTC"
    hooks: Any = None
    """AutomationHooks (runtime/graphql/automation.py): members for approvals, and what to
    do after a commit (start runs, wake the dispatcher). None: nothing after commits."""
    request_id: str | None = None
    """Carried into the outbox events the request's writes append."""
    cancellation: Cancellation | None = None
    """Lets the server stop the request's statements when its client goes away."""
    locale: str = "en"
    """The caller's language (Accept-Language): picklist values' ``...Label`` fields."""

    def watching(self, conn: Connection) -> AbstractContextManager[Connection]:
        """Run the block with ``conn`` open to cancellation (if the request has one)."""
        if self.cancellation is None:
            return nullcontext(conn)
        return self.cancellation.watching(conn)
