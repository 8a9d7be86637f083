"""Fixtures for the GraphQL API: the demo tenant with its sample data, on each backend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from runtime.demo import DEMO_TENANT, set_up_demo
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.principal import Principal
from runtime.tenants import TenantService


@dataclass
class Api:
    """Run GraphQL against the demo tenant and count the statements it sends."""

    service: TenantService
    apis: ActiveApis
    tenant: str = DEMO_TENANT

    def raw(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        api, timezone = self.apis.get(self.tenant)
        text = run(
            api,
            self.service.backend,
            Request(
                self.tenant,
                Principal.system(self.tenant),
                query,
                variables,
                kw.get("operation"),
                timezone,
            ),
        )
        return json.loads(text)

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return ``data``, failing the test if there are errors."""
        body = self.raw(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the single error of a request that must fail."""
        body = self.raw(query, variables)
        assert len(body.get("errors", [])) == 1, body
        return body["errors"][0]

    def statements(self, query: str, variables: dict[str, Any] | None = None) -> list[str]:
        """Run ``query`` (warm) and return the SQL statements it sent to the tenant."""
        self(query, variables)  # warm the schema and document caches
        engine = self.service.backend.tenant_engine(self.tenant)
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args):
            if not statement.startswith(("BEGIN", "PRAGMA", "ROLLBACK", "COMMIT")):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            self(query, variables)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return seen


@pytest.fixture
def api(service) -> Api:
    set_up_demo(service)
    return Api(service, ActiveApis(service, SchemaCache()))


def names(nodes: list[dict[str, Any]], key: str = "name") -> list[str]:
    return [n[key] for n in nodes]
