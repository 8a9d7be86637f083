"""The fuzzing world: the demo tenants (``make demo``'s demo CRM and the three pack
demos) on each backend, in a database of their own, built once per backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from litestar import Litestar

from runtime.demo import PACK_DEMOS, set_up_demo, set_up_pack_demos
from runtime.server.app import create_app
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService
from tests.conftest import throwaway_database

PASSWORD = "tessera-demo-2026"  # the demo users' password (runtime/demo.py)
TENANTS = ["demo", *(tenant for tenant, _, _ in PACK_DEMOS)]


@dataclass
class FuzzWorld:
    app: Litestar
    root: dict[str, str]
    """Headers of a platform admin (every operation of the admin API)."""
    members: dict[tuple[str, str], dict[str, str]]
    """(tenant, demo user) → headers of that member signed in to that tenant."""


def _world(url: str) -> Iterator[FuzzWorld]:
    settings = Settings(
        database_url=url,
        password_hashing="fast",
        secret_key="fuzz-test-secret-" + "x" * 32,
        rate_per_minute=0,
    )
    backend = make_backend(settings)
    backend.prepare()
    service = TenantService(backend)
    app = create_app(settings, service=service)
    identity = app.state.identity
    set_up_demo(service, identity=identity)
    set_up_pack_demos(service, identity=identity)
    root = f"root.{uuid.uuid4().hex[:8]}@fuzz.example"
    identity.create_user(root, PASSWORD, platform_admin=True)
    token = identity.login(root, PASSWORD, None)["access_token"]
    members = {}
    for tenant in TENANTS:
        for who in ("admin", "rep"):
            access = identity.login(f"{who}@demo.tessera.dev", PASSWORD, tenant)["access_token"]
            members[tenant, who] = {"Authorization": f"Bearer {access}"}
    yield FuzzWorld(app, {"Authorization": f"Bearer {token}"}, members)
    backend.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fuzz_world(request, tmp_path_factory) -> Iterator[FuzzWorld]:
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("fuzz")
        yield from _world(f"sqlite:///{folder}/tessera.sqlite3")
        return
    with throwaway_database("fuzz") as url:
        yield from _world(url)


def examples(default: int) -> int:
    """Cases per operation: TESSERA_FUZZ_EXAMPLES raises it for a longer local hunt."""
    return int(os.environ.get("TESSERA_FUZZ_EXAMPLES", default))
