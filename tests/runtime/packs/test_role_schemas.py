"""Every role of every pack and demo tenant gets a schema that builds and introspects.

A formula or roll-up that follows a lookup to an object a role cannot read once made
every request of that role an HTTP 500 (a KeyError while building its schema); such a
field is now left out of the role's schema. This builds them all, on both backends.
"""

from __future__ import annotations

from graphql import graphql_sync, validate_schema

from metadata.packs.catalog import Catalog
from runtime.demo import PACK_DEMOS, set_up_demo
from runtime.graphql.cache import SchemaCache
from runtime.packs.service import PackService
from runtime.security.grants import effective, sets_of
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService


def test_every_role_of_every_pack_and_demo_tenant_gets_a_working_schema(tmp_path):
    # Schemas do not depend on the backend: the embedded one, without sample data.
    backend = make_backend(Settings(database_url=f"sqlite:///{tmp_path}/t.sqlite3"))
    backend.prepare()
    service = TenantService(backend)
    set_up_demo(service)
    packs = PackService(service, Catalog())
    for tenant, _, industry in PACK_DEMOS:
        service.create_tenant(tenant)
        packs.apply(packs.plan_install(tenant, [industry], sample_data=False, sql=False))
    cache = SchemaCache()
    built = 0
    for tenant in ["demo", *(t for t, _, _ in PACK_DEMOS)]:
        _, snapshot = service.active(tenant)
        model = snapshot.model
        roles = [*model.security.roles, None]  # None: a member with no role
        assert len(roles) > 2, tenant
        for role in roles:
            grants = effective(model, sets_of(model.security, role))
            api = cache.get(snapshot, grants)
            assert validate_schema(api.schema) == [], (tenant, role)
            result = graphql_sync(api.schema, "{ __schema { types { name fields { name } } } }")
            assert not result.errors, (tenant, role, result.errors)
            built += 1
            # Every formula and roll-up the role can see computes against its own model.
            for shape in api.shape.objects.values():
                for name in shape.computed:
                    assert name in shape.obj.fields, (tenant, role, shape.name, name)
    assert built >= 16
    backend.dispose()
