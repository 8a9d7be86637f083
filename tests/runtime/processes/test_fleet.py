"""`tessera worker --processes N` under one command: the set ends when one ends (the
service manager restarts it), and a stop ends every child."""

from __future__ import annotations

import sys
import threading
import time

from runtime.processes.fleet import run_fleet

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_the_fleet_ends_with_the_status_of_a_child_that_ended():
    started = time.monotonic()
    assert run_fleet([sys.executable, "-c", "import sys; sys.exit(3)"], 2) == 3
    assert time.monotonic() - started < 20


def test_a_stop_ends_every_child_and_the_fleet_exits_cleanly():
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    started = time.monotonic()
    assert run_fleet(SLEEPER, 3, stop) == 0
    # The sleepers were told to stop (SIGTERM), not waited out for their minute.
    assert time.monotonic() - started < 20
