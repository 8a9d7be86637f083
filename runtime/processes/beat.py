"""The beat: one process per deployment that sends a tick every few seconds.

A tick makes a worker dispatch outbox events, fire cron schedules and date triggers,
and sweep for ready runs. Two beats would only tick twice as often (every effect is
deduplicated), but "exactly one" is what operators expect to see, so the beat holds a
lock for its whole life: a session advisory lock on PostgreSQL (released by the server
if the process dies, however it dies), an exclusive file lock beside the SQLite data.
A second beat stands by and takes over when the first one goes; it says so in its log.

While it holds the lock the beat writes the ``beat`` heartbeat, which ``/ready`` and the
``tessera_beat_beat_age_seconds`` metric read; a worker running a tick writes ``tick``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
from typing import Any

from celery import Celery
from celery.beat import Service
from sqlalchemy import text

from runtime.observability import heartbeats
from runtime.sql.dialect import dialect_for
from runtime.wiring import Platform

log = logging.getLogger(__name__)

STANDBY_POLL = 5.0


def lock_name(queue: str) -> str:
    """Return the lock's name: one beat per deployment, and deployments that share a
    database keep apart by their queue (TESSERA_WORKFLOW_QUEUE)."""
    return f"tessera.beat.{queue}"


class BeatLock:
    """Held by the one beat of a deployment."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._conn: Any = None
        self._file: Any = None

    def acquire(self) -> bool:
        """Take the lock if it is free; return whether this process holds it."""
        backend = self.platform.backend
        name = lock_name(self.platform.settings.workflows.queue)
        if dialect_for(backend.dialect, None).advisory_locks:
            conn = backend.control.connect()
            got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": name})
            if got.scalar():
                conn.commit()
                self._conn = conn  # the lock lives as long as this session
                return True
            conn.close()
            return False
        path = self.platform.settings.writable_data_dir() / f"{name}.lock"
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def alive(self) -> bool:
        """Return whether the lock is still held (a PostgreSQL session can be lost)."""
        if self._conn is None:
            return self._file is not None
        try:
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
            return True
        except Exception as exc:
            log.error("the beat lost its database session (%s); stopping", exc)
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(hashtext(:k))"),
                    {"k": lock_name(self.platform.settings.workflows.queue)},
                )
                self._conn.close()
            self._conn = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
            self._file = None


def _holder(platform: Platform) -> str:
    ages = heartbeats.ages(platform.backend)
    if "beat" not in ages:
        return "another beat"
    age, detail = ages["beat"]
    return f"the beat on {detail.get('host', '?')} (pid {detail.get('pid', '?')}, {age:.0f} s ago)"


def run_beat(app: Celery, platform: Platform, stop: threading.Event) -> None:
    """Hold the beat lock (standing by while another beat has it), then tick until
    ``stop`` is set or the lock is lost."""
    lock = BeatLock(platform)
    told = False
    while not stop.is_set():
        if lock.acquire():
            break
        if not told:
            log.warning("%s holds the beat lock; standing by to take over", _holder(platform))
            told = True
        stop.wait(STANDBY_POLL)
    if stop.is_set():
        return
    log.info("beat started: a tick every %s s", platform.settings.workflows.tick)
    # Service() alone takes celery's PersistentScheduler, which keeps a celerybeat-schedule
    # file in the working folder (two beats there trip over each other's file): use the
    # in-memory scheduler the app is configured with.
    service = Service(app, scheduler_cls=app.conf.beat_scheduler)
    runner = threading.Thread(target=service.start, name="tessera-beat", daemon=True)
    runner.start()
    detail = {"pid": os.getpid(), "host": socket.gethostname()}
    every = min(5.0, max(0.5, platform.settings.workflows.tick))
    try:
        while not stop.is_set() and runner.is_alive():
            heartbeats.beat(platform.backend, "beat", **detail)
            if not lock.alive():
                break
            stop.wait(every)
    finally:
        service.stop()
        runner.join(timeout=10)
        lock.release()
        log.info("beat stopped")


def beat_thread(app: Celery, platform: Platform) -> tuple[threading.Thread, threading.Event]:
    """Start the beat in a thread of this process (``tessera worker --beat``)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_beat, args=(app, platform, stop), name="tessera-beat-lock", daemon=True
    )
    thread.start()
    return thread, stop
