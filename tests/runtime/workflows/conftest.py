"""Workflow end-to-end harness: a tenant with the flows.yaml CRM, five members, the real
HTTP app (in-process) and a real Celery worker process on a real broker.

Brokers: Redis at 127.0.0.1:6379 and RabbitMQ at 127.0.0.1:5672 (override with
TESSERA_TEST_REDIS_URL / TESSERA_TEST_AMQP_URL). A broker that cannot be reached fails
the test in CI and skips it elsewhere; the embedded SQLite broker always runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from metadata.validation import validate_text
from runtime.server.app import create_app
from runtime.settings import Settings, WorkflowSettings
from tests.conftest import backend_for

FLOWS = Path(__file__).with_name("flows.yaml")
PASSWORD = "workflow-test-password"
HOOK_SECRET = "hook-secret-" + "x" * 20
SECRET_KEY = "workflow-test-secret-key-" + "k" * 20
BROKERS = {
    "redis": os.environ.get("TESSERA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("TESSERA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    """These tests run workers, whose beat ticks every tenant in its database: the
    PostgreSQL half uses a database of its own, apart from the in-process tests'."""
    yield from backend_for(request, tmp_path, "_processes_postgres_backend")


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except OSError:
        return False


def broker_for(kind: str, tmp_path: Path) -> str:
    if kind == "embedded":
        return f"sqla+sqlite:///{tmp_path}/broker.sqlite3"
    url = BROKERS[kind]
    if not reachable(url):
        message = f"{kind} broker not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the {kind} workflow suite: {message}")
        pytest.skip(message)
    return url


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Worker:
    database_url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    concurrency: int = 2
    processes: int = 1

    def start(self) -> Worker:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from runtime.cli.main import main; main()",
                "--database-url",
                self.database_url,
                "worker",
                "-c",
                str(self.concurrency),
                "--processes",
                str(self.processes),
                "--loglevel",
                "info",
            ],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: the embedded beat is a child process, and killing
            # "the worker" means all of it.
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """kill -9: no clean shutdown, no acknowledgements, nothing flushed."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        self.kill()  # whatever is left of the group (the beat child)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Crm:
    tenant: str
    client: TestClient[Any]
    app: Any
    service: Any
    users: dict[str, str]
    """role name → e-mail."""
    tokens: dict[str, str] = field(default_factory=dict)

    def gql(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/t/{self.tenant}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        body = self.gql(who, query, **variables)
        assert "errors" not in body, body
        return body["data"]

    def user_id(self, who: str) -> str:
        return str(self.app.state.identity.user(self.users[who]).id)


def worker_env(settings: WorkflowSettings, database_url: str, mail_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TESSERA_DATABASE_URL": database_url,
            "TESSERA_SECRET_KEY": SECRET_KEY,
            "TESSERA_BROKER_URL": settings.broker_url or "",
            "TESSERA_WORKFLOW_QUEUE": settings.queue,
            "TESSERA_WORKFLOW_TICK": str(settings.tick),
            "TESSERA_WORKFLOW_LEASE": str(settings.lease),
            "TESSERA_WORKFLOW_RETRY_BASE": str(settings.retry_base),
            "TESSERA_EMAIL_URL": f"file://{mail_dir}",
            "TESSERA_HOOK_SECRET_TEST": HOOK_SECRET,
            # The tests' webhook receivers listen on loopback, which is refused otherwise.
            "TESSERA_OUTBOUND_ALLOW": "127.0.0.1",
        }
    )
    return env


@pytest.fixture
def flows(request, service, database_url, tmp_path) -> Iterator[Callable[..., tuple[Crm, Worker]]]:
    """Return a function (broker kind, hook URL) → (crm, started worker)."""
    started: list[Worker] = []
    clients: list[Any] = []

    def make(
        kind: str = "redis",
        hook_url: str = "http://127.0.0.1:9/hook",
        *,
        start: bool = True,
        concurrency: int = 2,
        processes: int = 1,
        metadata: Path = FLOWS,
    ) -> tuple[Crm, Worker]:
        tenant = f"wf_{uuid.uuid4().hex[:10]}"
        flows_settings = WorkflowSettings(
            broker_url=broker_for(kind, tmp_path),
            queue=f"tessera-test-{tenant}",
            tick=0.5,
            lease=4.0,
            retry_base=0.5,
        )
        settings = Settings(
            password_hashing="fast",
            database_url=database_url,
            secret_key=SECRET_KEY,
            workflows=flows_settings,
        )
        app = create_app(settings, service=service)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        service.create_tenant(tenant)
        text = metadata.read_text(encoding="utf-8").replace("{hook_url}", hook_url)
        service.apply(tenant, validate_text(text, file=str(metadata)))
        identity = app.state.identity
        users = {}
        for role, handle in (
            ("director", "dir"),
            ("manager", "mgr"),
            ("rep", "rep1"),
            ("rep", "rep2"),
        ):
            email = f"{handle}.{tenant}@example.com"
            identity.create_user(email, PASSWORD)
            identity.set_membership(tenant, email, role=role)
            users[handle] = email
        admin = f"admin.{tenant}@example.com"
        identity.create_user(admin, PASSWORD)
        identity.set_membership(tenant, admin, tenant_admin=True)
        users["admin"] = admin
        crm = Crm(tenant, client, app, service, users)
        for handle, email in users.items():
            crm.tokens[handle] = identity.login(email, PASSWORD, tenant)["access_token"]
        mail_dir = tmp_path / f"mail-{tenant}"
        env = worker_env(flows_settings, database_url, mail_dir)
        # The worker's time: the wall clock until a test writes a moment here.
        crm.clock_file = tmp_path / f"clock-{tenant}"  # type: ignore[attr-defined]
        env["TESSERA_CLOCK_FILE"] = str(crm.clock_file)  # type: ignore[attr-defined]
        # Its beat ticks this test's tenant only: the PostgreSQL database is shared by
        # the workers of tests running at the same time, each with its own clock.
        env["TESSERA_WORKFLOW_TENANTS"] = tenant
        worker = Worker(
            database_url,
            env,
            tmp_path / f"worker-{tenant}.log",
            concurrency=concurrency,
            processes=processes,
        )
        if start:
            worker.start()
        started.append(worker)
        crm.mail_dir = mail_dir  # type: ignore[attr-defined]
        crm.database_url = database_url  # type: ignore[attr-defined]
        return crm, worker

    yield make
    for worker in started:
        worker.stop()
    for client in clients:
        with contextlib.suppress(Exception):
            client.__exit__(None, None, None)


def record(crm: Crm, obj: str, record_id: str, fields: str, who: str = "admin") -> dict[str, Any]:
    return crm.data(who, f"query($id: ID!) {{ r: {obj}(id: $id) {{ {fields} }} }}", id=record_id)[
        "r"
    ]
