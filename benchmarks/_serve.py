"""`tessera serve` in a scratch folder, for the scripts that drive a browser against it
(benchmarks/web_app.py, docs/screenshots/take.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def scratch_env(secret: str, url: str | None = None) -> dict[str, str]:
    """Settings for a throwaway instance: its own data folder and port, SQLite unless
    ``url`` names a PostgreSQL database, no shared services."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": tempfile.mkdtemp(prefix="tessera-scratch-"),
        "TESSERA_SECRET_KEY": secret,
        "TESSERA_PORT": str(port),
        "TESSERA_RATE_PER_MINUTE": "100000",
        "TESSERA_LOG_LEVEL": "warning",
    }
    for name in ("TESSERA_DATABASE_URL", "TESSERA_REDIS_URL", "TESSERA_BROKER_URL"):
        env.pop(name, None)
    if url:
        env["TESSERA_DATABASE_URL"] = url
    return env


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """Run `tessera serve` with ``env`` until the block ends; yield its address. The
    scratch data folder goes with it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "runtime.cli.main", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{env['TESSERA_PORT']}"
    try:
        for _ in range(120):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
        shutil.rmtree(env["TESSERA_DATA_DIR"], ignore_errors=True)
