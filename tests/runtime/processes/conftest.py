"""A real deployment in miniature: separate OS processes started with the `tessera`
command, as an operator starts them, on PostgreSQL and Redis.

Two servers (``a`` and ``b``), a worker and a beat share one database, one Redis for
their shared state and one broker queue. Tests talk to the servers over HTTP and to the
database directly, and may kill and restart processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from metadata.validation import validate_data
from runtime.settings import Settings
from runtime.wiring import Platform
from tests.conftest import backend_for
from tests.runtime.workflows.conftest import BROKERS, reachable, wait_for

SECRET_KEY = "cluster-test-secret-key-" + "c" * 24
PASSWORD = "cluster-test-password"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path):
    """These tests run workers, whose beat ticks every tenant in its database: the
    PostgreSQL half uses a database of its own, apart from the in-process tests'."""
    yield from backend_for(request, tmp_path, "_processes_postgres_backend")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        out = self.log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli.main", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=15)
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    database_url: str
    env: dict[str, str]
    folder: Path
    platform: Platform
    processes: dict[str, Process] = field(default_factory=dict)

    def spawn(self, name: str, *args: str, serve: bool = False) -> Process:
        port = free_port() if serve else None
        env = dict(self.env)
        if port is not None:
            env["TESSERA_PORT"] = str(port)
        process = Process(name, list(args), env, self.folder / f"{name}.log", port).start()
        self.processes[name] = process
        if serve:
            self.wait_serving(process)
        return process

    def wait_serving(self, process: Process) -> None:
        def up() -> bool:
            if not process.running():
                raise AssertionError(f"{process.name} exited:\n{process.output()[-3000:]}")
            try:
                return httpx.get(f"{process.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, f"{process.name} to serve")

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill(signal.SIGTERM)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.output()[-4000:]}" for p in self.processes.values())


def redis_for_state() -> str:
    url = BROKERS["redis"]
    if not reachable(url):
        message = f"Redis not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the multi-process suite: {message}")
        pytest.skip(message)
    return url.rsplit("/", 1)[0] + "/3"


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory) -> Iterator[Cluster]:
    """Two servers, a worker and a beat on PostgreSQL and Redis (started once per module)."""
    database_url = request.getfixturevalue("processes_postgres_url")
    redis = redis_for_state()
    folder = tmp_path_factory.mktemp("cluster")
    queue = f"tessera-cluster-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "TESSERA_ENV": "production",
        "TESSERA_PASSWORD_HASHING": "standard",  # production refuses anything else
        "TESSERA_DATABASE_URL": database_url,
        "TESSERA_DATA_DIR": str(folder / "data"),
        "TESSERA_SECRET_KEY": SECRET_KEY,
        "TESSERA_REDIS_URL": redis,
        "TESSERA_BROKER_URL": BROKERS["redis"],
        "TESSERA_WORKFLOW_QUEUE": queue,
        "TESSERA_WORKFLOW_TICK": "0.5",
        # The cluster's tenants only (tests with workers of their own share the database).
        "TESSERA_WORKFLOW_TENANTS": "c_*",
        "TESSERA_RATE_PER_MINUTE": "600",
        "TESSERA_LOG_FORMAT": "json",
        "TESSERA_LOG_LEVEL": "info",
    }
    settings = Settings.from_env(env)
    platform = Platform(settings)
    cluster = Cluster(database_url, env, folder, platform)
    try:
        for name in ("a", "b"):
            cluster.spawn(name, "serve", serve=True)
        cluster.spawn("worker", "worker", "--no-beat", "--concurrency", "4")
        cluster.spawn("beat", "beat")
        yield cluster
    finally:
        cluster.stop()
        platform.close()


@dataclass
class Tenant:
    name: str
    admin_token: str
    member_token: str
    member_email: str


LEADS = {
    "objects": {
        "lead": {
            "fields": {
                "name": {"type": "text", "required": True},
                "touched": {"type": "integer"},
            }
        },
    },
    "roles": {"rep": {"label": {"en": "Rep", "zh-CN": "销售"}}},
    "permission_sets": {
        "reps": {
            "roles": ["rep"],
            "objects": {"lead": {"allow": ["create", "update"], "access": "tenant"}},
        }
    },
    "workflows": {
        "touch_new_leads": {
            "object": "lead",
            "trigger": {"on": ["created"]},
            "actions": [{"score": {"field": "touched", "add": "1"}}],
        },
        "every_minute": {
            "trigger": {"schedule": "* * * * *"},
            "actions": [{"notify": {"to": {"role": "rep"}, "message": "Minute report"}}],
        },
    },
}


@pytest.fixture
def tenant(cluster) -> Tenant:
    """A tenant with leads, a workflow per new lead and a cron workflow; an admin and a rep."""
    name = f"c_{uuid.uuid4().hex[:8]}"
    service, identity = cluster.platform.service, cluster.platform.identity
    service.create_tenant(name)
    service.apply(name, validate_data(LEADS))
    admin, rep = f"admin.{name}@example.com", f"rep.{name}@example.com"
    identity.create_user(admin, PASSWORD)
    identity.create_user(rep, PASSWORD)
    identity.set_membership(name, admin, tenant_admin=True)
    identity.set_membership(name, rep, role="rep")
    return Tenant(
        name,
        identity.login(admin, PASSWORD, name)["access_token"],
        identity.login(rep, PASSWORD, name)["access_token"],
        rep,
    )
