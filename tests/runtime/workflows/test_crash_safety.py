"""Crash safety with real processes: a worker killed with -9 in the middle of a run, and
a server killed right after a commit. Nothing is lost and nothing happens twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from runtime.workflows.delivery import ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.runtime.workflows.conftest import HOOK_SECRET, record, wait_for


class Receiver:
    """A webhook receiver whose first request hangs until released."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bool]] = []
        self.first = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify(
                    HOOK_SECRET,
                    self.headers[ID_HEADER],
                    self.headers[TIMESTAMP_HEADER],
                    body,
                    self.headers[SIGNATURE_HEADER],
                )
                outer.requests.append((self.headers[ID_HEADER], ok))
                if len(outer.requests) == 1:
                    outer.first.set()
                    outer.release.wait(30)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_worker_killed_mid_run_still_has_every_effect_exactly_once(flows, receiver, broker):
    crm, worker = flows(broker, receiver.url)
    order = crm.data("rep1", 'mutation { createSalesOrder(input: {name: "PO-1"}) { id } }')[
        "createSalesOrder"
    ]["id"]
    # Step 0 (a database write) is done; step 1 (the webhook) is in flight: kill -9 now.
    assert receiver.first.wait(30), f"the webhook was never called\n{worker.output()[-6000:]}"
    assert record(crm, "salesOrder", order, "syncs confirmations") == {
        "syncs": 1,
        "confirmations": None,
    }
    worker.kill()
    receiver.release.set()
    worker.start()
    try:
        wait_for(
            lambda: record(crm, "salesOrder", order, "confirmations")["confirmations"] == 1,
            timeout=60,
            what="the run to finish",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.output()[-6000:]}") from None
    time.sleep(2)  # room for a wrong second execution to show
    assert record(crm, "salesOrder", order, "syncs confirmations") == {
        "syncs": 1,
        "confirmations": 1,
    }
    # The webhook was sent again after the crash (it cannot be known whether the first
    # got through) with the same delivery key, so the receiver can drop the repeat.
    assert len(receiver.requests) == 2
    assert receiver.requests[0] == receiver.requests[1]
    assert receiver.requests[0][1] is True  # signed correctly
    [run] = crm.data(
        "admin",
        '{ workflowRuns(workflow: "order_sync") { status attempts steps { action status attempts } } }',
    )["workflowRuns"]
    assert run["status"] == "succeeded" and run["attempts"] == 2
    assert [(s["action"], s["status"], s["attempts"]) for s in run["steps"]] == [
        ("score", "done", 1),
        ("webhook", "done", 1),
        ("score", "done", 1),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("broker", ["redis"])
def test_server_killed_right_after_a_commit_loses_no_event(flows, broker, tmp_path):
    crm, worker = flows(broker, start=False)  # no worker yet: the event must wait
    port = _free_port()
    env = dict(worker.env)
    # The server's wake-up message goes nowhere: only the database can carry the event.
    env["TESSERA_BROKER_URL"] = "redis://127.0.0.1:1/0"
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from runtime.cli.main import main; main()",
            "--database-url",
            crm.database_url,
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=(tmp_path / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), timeout=30, what="the server")
        response = httpx.post(
            f"{base}/t/{crm.tenant}/graphql",
            json={"query": 'mutation { createLead(input: {name: "Survivor"}) { id } }'},
            headers={"Authorization": f"Bearer {crm.tokens['rep1']}"},
            timeout=30,
        )
        server.send_signal(signal.SIGKILL)  # right after the commit
        server.wait(timeout=10)
        lead = response.json()["data"]["createLead"]["id"]
    finally:
        if server.poll() is None:
            server.kill()
    assert record(crm, "lead", lead, "status")["status"] is None  # nothing ran yet
    worker.start()
    wait_for(
        lambda: record(crm, "lead", lead, "owner status")["status"] == "assigned",
        timeout=40,
        what="the assignment",
    )
    assert record(crm, "lead", lead, "owner")["owner"] in {crm.user_id("rep1"), crm.user_id("rep2")}
    assert os.path.exists(tmp_path / "server.log")


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
