"""Several worker processes under one command: ``tessera worker --processes N``.

Runs are claimed from the database with ``FOR UPDATE SKIP LOCKED``, so workers never
wait on one another's claims; what bounds one process is Python's one running thread at
a time. N processes (each with its own threads, pools and broker connection) execute up
to N times the runs on N cores.

The parent starts the children, optionally runs the beat (one per deployment), passes
SIGINT/SIGTERM on, and ends when any child ends, stopping the others: a service manager
(systemd, Kubernetes) then restarts the whole set, as it would one worker.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Sequence


def run_fleet(command: Sequence[str], count: int, stop: threading.Event | None = None) -> int:
    """Run ``count`` copies of ``command`` until one ends or a signal arrives; return the
    exit status (the first child's that ended on its own, 0 after a signal)."""
    children = [subprocess.Popen(list(command)) for _ in range(count)]
    stopping = stop or threading.Event()

    def forward(signum: int, _frame: object) -> None:
        stopping.set()

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        while not stopping.is_set():
            ended = [c for c in children if c.poll() is not None]
            if ended:
                status = ended[0].returncode or 1
                break
            stopping.wait(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)  # Celery finishes the runs in hand
        deadline = time.monotonic() + 60
        for child in children:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return status
