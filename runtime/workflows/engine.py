"""The workflow engine: from causes to runs, and runs to effects.

The database is the queue. A run is a row; a Celery message only wakes a worker to
drain a tenant's ready runs, so a lost or duplicated message can delay a run but never
lose it or run it twice, and a backlog waits in the database, not in the broker.

- ``dispatch`` reads a tenant's outbox in id order, creates a run per matching workflow
  (the run's unique dedupe key makes this safe to repeat) and marks the events, in one
  transaction; then it wakes workers.
- ``work`` claims ready runs one at a time (an atomic update of one row: ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL, the single writer on SQLite) and runs each one's steps in
  order. A database step's effect, its "done" mark and (for the last step) the run's end
  commit together; a step that sends something records it after sending, with a
  delivery key that stays the same across retries. A failed step fails the run: it is
  retried with exponential backoff (a wake-up scheduled for then), or goes to the
  dead-letter list once attempts run out or the failure is one retrying cannot fix.
- ``scan_timers``, ``fire_schedules``, ``approval_timeouts`` and ``sweep`` run on each
  beat tick. The sweep
  wakes a worker whenever runs are ready: a wake-up that got lost, a worker killed with
  -9 (its lease runs out and the run is ready again) or a retry that is due.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator

from sqlalchemy import text

from runtime.observability import heartbeats
from runtime.sql.dialect import dialect_for
from runtime.workflows.dispatch import Dispatch
from runtime.workflows.execution import DRAIN_RUNS, DRAIN_SECONDS, Drained, Execution
from runtime.workflows.timers import TIMER_CLOCK_SKEW, Timers

__all__ = ["DRAIN_RUNS", "DRAIN_SECONDS", "TIMER_CLOCK_SKEW", "Drained", "Engine"]

log = logging.getLogger(__name__)


class Engine(Dispatch, Execution, Timers):
    """Runs one deployment's workflows; safe to share between threads."""

    def tick(self, now: dt.datetime | None = None) -> dict[str, int]:
        """One beat: for every tenant, dispatch, schedules, timers and the sweep.

        A tenant's tick runs alone: the beat sends a tick every few seconds, and one that
        takes longer (100,000 records falling due) must not be joined by the next ones on
        the other worker threads, scanning the same records again while no thread is
        left to run what the first one made (seen in benchmarks/due_timers.py). A tick
        that finds the tenant's tick under way elsewhere skips that tenant.
        """
        now = now or self._now()
        heartbeats.beat(self.backend, "tick", clock=now.isoformat())
        out = {"runs": 0, "woken": 0, "busy": 0}
        for tenant in self.tenants():
            try:
                with self.ticking(tenant) as mine:
                    if not mine:
                        out["busy"] += 1
                        continue
                    out["runs"] += self.dispatch(tenant)
                    out["runs"] += self.fire_schedules(tenant, now)
                    out["runs"] += self.scan_timers(tenant, now)
                    out["runs"] += self.approval_timeouts(tenant, now)
                    out["woken"] += self.sweep(tenant, now)
            except Exception:  # one tenant's trouble must not stop the others
                log.exception("workflow tick failed for tenant %s", tenant)
        return out

    @contextlib.contextmanager
    def ticking(self, tenant: str) -> Iterator[bool]:
        """Hold ``tenant``'s tick: yields False if another thread, or (PostgreSQL)
        another worker process, holds it. Across processes it is a session advisory lock
        on a connection of its own, in autocommit, so no transaction stays open."""
        with self._tick_guard:
            lock = self._tick_locks.setdefault(tenant, threading.Lock())
        if not lock.acquire(blocking=False):
            yield False
            return
        try:
            if not dialect_for(self.backend.dialect, None).advisory_locks:
                yield True  # the embedded default (SQLite) runs one worker process
                return
            key = f"tessera-tick:{tenant}"
            with self.backend.connect_control() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                held = conn.execute(
                    text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key}
                ).scalar()
                try:
                    yield bool(held)
                finally:
                    if held:
                        conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
        finally:
            lock.release()
