"""`tessera demo` starts a worker beside the server and stops it again: on Ctrl+C
(SIGINT), on SIGTERM, and (by the kernel's parent-death signal) when the server is
killed outright. No traceback, no orphan."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.runtime.processes.conftest import free_port, wait_for


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose; read its state.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_demo_stops_its_worker_with_it(tmp_path_factory, stop):
    data = tmp_path_factory.getbasetemp() / "demo-data"  # shared: set up once, reused
    port = free_port()
    log = tmp_path_factory.mktemp("demo") / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "runtime.cli.main", "demo", "--port", str(port)],
            env={
                **os.environ,
                "TESSERA_DATA_DIR": str(data),
                "COLUMNS": "200",
                "PYTHONPATH": str(Path(__file__).parents[3]),
            },
            cwd=log.parent,  # its own folder: what it leaves behind is seen below
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def serving():
            assert demo.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(serving, 120, "the demo to serve")
        text = log.read_text()
        # It prints its own links, the web pages included.
        for link in ("/t/demo/graphql", "/schema/swagger", "/t/demo_auto/graphql"):
            assert f"http://127.0.0.1:{port}{link}" in text
        worker = int(re.search(r"Workflow worker: pid (\d+)", text).group(1))
        wait_for(lambda: alive(worker), 10, "the worker")
        time.sleep(1.0)  # the worker is up and connected to its broker
        demo.send_signal(getattr(signal, stop))  # the server process alone, as a terminal would
        demo.wait(timeout=40)
        wait_for(lambda: not alive(worker), 30, f"the worker to stop after {stop}")
        output = log.read_text()
        assert "Traceback" not in output, output[-3000:]
        # The beat keeps its schedule in memory: no celerybeat-schedule file for two demos
        # started in one folder to trip over.
        assert [p.name for p in log.parent.iterdir()] == ["demo.log"]
        if stop != "SIGKILL":
            assert demo.returncode == 0, output[-3000:]
            assert "Stopped the server and the workflow worker." in output
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)


def test_serve_starts_several_server_processes_that_log_their_requests(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli.main",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env={
                **os.environ,
                "TESSERA_DATA_DIR": str(tmp_path / "data"),
                "TESSERA_ACCESS_LOG": "true",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def serving():
            assert serve.poll() is None, log.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(serving, 60, "the servers")
        children = [
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _parent(int(pid)) == serve.pid
        ]
        assert len(children) >= 2  # the two server processes (and uvicorn's helpers)
        missing = httpx.get(
            f"http://127.0.0.1:{port}/t/nobody/graphql",
            headers={"X-Request-ID": "w-1", "Accept": "text/html"},
        )
        assert missing.status_code == 404
        wait_for(lambda: "request_id=w-1" in log.read_text(), 10, "a worker's access log line")
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ValueError, IndexError):
        return None
