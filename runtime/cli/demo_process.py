"""``tessera demo``'s processes: the server in this process, a workflow worker beside it.

The worker runs in its own session, so Ctrl+C in the terminal reaches only the server,
which then stops the worker itself and waits for it. SIGTERM to the server does the
same. If the server dies without a chance to clean up (SIGKILL), the kernel sends the
worker SIGTERM (Linux's parent-death signal), so no worker is left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys

from runtime.cli import output
from runtime.demo import DEMO_TENANT, PACK_DEMOS
from runtime.settings import Settings

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def links(settings: Settings) -> str:
    """Return the demo's addresses for people, one per line."""
    base = f"http://{settings.host}:{settings.port}"
    rows = [
        ("Start page", f"{base}/"),
        ("Web app", f"{base}/app/{PACK_DEMOS[0][0]}/home"),
        ("Admin API docs", f"{base}/schema/swagger"),
        ("Demo GraphiQL", f"{base}/t/{DEMO_TENANT}/graphql"),
        *(
            (f"{industry} GraphiQL", f"{base}/t/{tenant}/graphql")
            for tenant, _, industry in PACK_DEMOS
        ),
        ("Readiness", f"{base}/ready"),
        ("Metrics", f"{base}/metrics"),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"  {label + ':':<{width}}{url}" for label, url in rows]
    return "\n".join(lines)


def serve_demo(settings: Settings) -> None:
    """Start the worker, serve until Ctrl+C or SIGTERM, then stop the worker."""
    from runtime.server.app import run

    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from runtime.cli.main import main; main()",
            "--database-url",
            settings.database_url,
            "--data-dir",
            str(settings.data_dir),
            "worker",
            "-c",
            "2",
        ],
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    output.out.print(
        f"\nServing on [bold]http://{settings.host}:{settings.port}[/]\n{links(settings)}\n"
        "Sign in as admin@demo.tessera.dev with the password tessera-demo-2026.\n"
        f"Workflow worker: pid {worker.pid}. Press Ctrl+C to stop both."
    )
    # uvicorn shuts down gracefully on SIGTERM, then hands the signal back to the
    # handler that was there before: make that a normal exit, so the worker is stopped
    # below instead of the process dying with it still running.
    signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        run(settings)
    except KeyboardInterrupt:
        pass  # Ctrl+C: uvicorn has shut down already
    finally:
        stop(worker)
        output.err.print("Stopped the server and the workflow worker.")


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop ``process`` and everything in its session: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
