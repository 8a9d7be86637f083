"""Reading as one reader through the query IR, for the tests of runtime/query."""

from __future__ import annotations

from runtime.graphql.cache import ActiveApis
from runtime.query.scope import ReadScope
from runtime.security.principal import Principal
from runtime.sql.dialect import dialect_for
from runtime.tenants import TenantService


def scope_of(service: TenantService, apis: ActiveApis, tenant: str, who: Principal) -> ReadScope:
    """The read scope of ``who`` in ``tenant``: its shape (the field mask), its limits."""
    api, _ = apis.get(tenant, who.grants)
    backend = service.backend
    return ReadScope(
        shape=api.shape,
        dialect=dialect_for(backend.dialect, backend.schema(tenant)),
        principal=who,
        limits=api.limits,
    )
