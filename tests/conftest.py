"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import OperationalError

from metadata.source import load_file
from metadata.validation import validate_file
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService

# CI runs property tests on fixed examples so the gate is repeatable; local runs explore
# new ones each time (that is how the conversion bugs in git history were found).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Whatever a test builds without naming a data folder keeps its state in a throwaway one,
# never in the checkout or the user's own data folder.
os.environ.setdefault("TESSERA_DATA_DIR", tempfile.mkdtemp(prefix="tessera-test-data-"))
# Password hashing at full strength costs 0.1 s a hash or sign-in, and the suite signs in
# thousands of times: processes started from the tests (servers, workers, the CLI) and
# settings read from the environment hash cheaply. Settings built in a test say so too.
os.environ.setdefault("TESSERA_PASSWORD_HASHING", "fast")


def fast_hasher():
    """The hasher of TESSERA_PASSWORD_HASHING=fast, for Identities a test builds."""
    from runtime.settings import Settings, password_hasher

    return password_hasher(Settings(database_url="sqlite:////unused/x", password_hashing="fast"))


ROOT = Path(__file__).parents[1]
DEMO_METADATA = ROOT / "apps" / "demo_crm" / "metadata.yaml"


@pytest.fixture(scope="session")
def demo_model():
    """Return the demo CRM model (account, contact, opportunity)."""
    return validate_file(DEMO_METADATA).model


@pytest.fixture(scope="session")
def demo_document():
    """Return the demo CRM document as parsed data."""
    return load_file(DEMO_METADATA).data


# -- storage backends ---------------------------------------------------------------------


@contextmanager
def throwaway_database(purpose: str) -> Iterator[str]:
    """Create a throwaway database on the server TESSERA_TEST_DATABASE_URL names.

    Without the variable the PostgreSQL half of the suite is skipped locally, but fails
    in CI (CI=true), and an unreachable server always fails: a suite that quietly skips
    its production database proves nothing.
    """
    admin_url = os.environ.get("TESSERA_TEST_DATABASE_URL")
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL suite: set TESSERA_TEST_DATABASE_URL")
        pytest.skip("PostgreSQL suite not run: set TESSERA_TEST_DATABASE_URL to run it")
    url = make_url(admin_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    name = f"tessera_{purpose}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        pytest.fail(f"cannot reach PostgreSQL at {url.render_as_string()}: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """The PostgreSQL database of the in-process tests."""
    with throwaway_database("test") as url:
        yield url


@pytest.fixture(scope="session")
def processes_postgres_url():
    """A second database for tests that start worker and server processes: a worker's
    beat ticks every tenant in its database, so those tests get their own (and run one
    after another, see pytest_collection_modifyitems)."""
    with throwaway_database("proc") as url:
        yield url


def _migrated(url: str):
    backend = make_backend(Settings(database_url=url))
    backend.prepare()
    return backend


@pytest.fixture(scope="session")
def _postgres_backend(postgres_url):
    backend = _migrated(postgres_url)
    yield backend
    backend.dispose()


@pytest.fixture(scope="session")
def _processes_postgres_backend(processes_postgres_url):
    backend = _migrated(processes_postgres_url)
    yield backend
    backend.dispose()


def backend_for(request, tmp_path, shared: str):
    """Yield a migrated backend: a fresh SQLite folder, or the shared ``shared`` database
    (every tenant a test made is deleted afterwards, so tests stay independent)."""
    if request.param == "sqlite":
        backend = make_backend(Settings(database_url=f"sqlite:///{tmp_path}/tessera.sqlite3"))
        backend.prepare()
        yield backend
        backend.dispose()
        return
    backend = request.getfixturevalue(shared)
    yield backend
    service = TenantService(backend)
    for tenant in service.list_tenants():
        service.delete_tenant(tenant.name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    """Yield a migrated backend: a fresh SQLite folder, or the shared test database."""
    yield from backend_for(request, tmp_path, "_postgres_backend")


@pytest.fixture
def database_url(request, backend):
    """Return the database URL of the current backend (for the CLI and the server)."""
    if backend.dialect == "sqlite":
        return f"sqlite:///{backend.path}"
    return backend.control.url.render_as_string(hide_password=False)


@pytest.fixture
def service(backend):
    """Return a TenantService on the current backend."""
    return TenantService(backend)


# -- signed-in clients ---------------------------------------------------------------------

ADMIN_PASSWORD = "correct horse battery staple"


@contextmanager
def admin_client(service: TenantService) -> Iterator[Any]:
    """Yield a TestClient of the app signed in as a fresh platform admin (no tenant)."""
    from litestar.testing import TestClient

    from runtime.server.app import create_app

    app = create_app(service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
        identity.create_user(email, ADMIN_PASSWORD, platform_admin=True)
        token = identity.login(email, ADMIN_PASSWORD, None)["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


# Tests that start worker or server processes, and the engine's own tests, use a
# PostgreSQL database of their own, apart from the in-process suite's. Within it:
# - the engine's in-process tests use fixed tenant names, and run one after another;
# - the two-server cluster (tests/runtime/processes) runs one module at a time;
# - tests with a worker process of their own (the ``flows`` fixture) use a tenant of
#   their own whose beat ticks only it (TESSERA_WORKFLOW_TENANTS), and run beside
#   anything: they are the slow ones, so they must not queue behind the others.
_PROCESS_FOLDERS = ("tests/runtime/workflows/", "tests/runtime/processes/")
_ENGINE_FILES = ("test_time.py", "test_engine.py", "test_automation.py", "test_demo_flows.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        on_postgres = "[postgresql" in item.nodeid
        if item.nodeid.startswith(_PROCESS_FOLDERS[1]):
            item.add_marker(pytest.mark.xdist_group("processes"))
        elif item.nodeid.startswith(_PROCESS_FOLDERS[0]) and on_postgres:
            module = item.nodeid.split("::")[0].rsplit("/", 1)[-1]
            if module in _ENGINE_FILES:
                item.add_marker(pytest.mark.xdist_group("workflow-engine"))
        # The fuzzers share one demo world per backend (seconds to build): on one worker
        # each is built once.
        elif item.nodeid.startswith("tests/runtime/fuzz/"):
            # One group per backend: each backend's world is still built once, and the
            # two halves can run on different workers.
            backend = "postgresql" if "[postgresql" in item.nodeid else "sqlite"
            item.add_marker(pytest.mark.xdist_group(f"fuzz-{backend}"))
