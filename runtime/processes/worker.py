"""The Celery application: three tasks and the beat schedule that drives them.

- ``tessera.work(tenant)`` drains the tenant's ready runs (the engine claims them one by
  one in the database). ``acks_late`` with ``reject_on_worker_lost``: the message is
  acknowledged only after the work is committed, so a worker that dies mid-run leaves
  the message for the broker to deliver again (RabbitMQ at once, Redis after its
  visibility timeout); the run itself is claimable again once its lease runs out. A
  failed run's retry is a wake-up sent with the backoff as its countdown.
- ``tessera.dispatch(tenant)`` turns outbox events into runs; the API server sends it
  after each commit that wrote events, so runs start without waiting for the beat.
- ``tessera.tick()`` runs on the beat: dispatch, schedules, timers and the sweep for every
  tenant. Nothing depends on a message arriving: an event committed just before the
  server died, or a wake-up the broker lost, is picked up by the next tick.

State lives in the database, not in the broker: a message only says "this tenant has
runs ready", so it carries no run and may be lost or repeated without harm. One message
per burst of runs, rather than per run, is also what makes the throughput (see
benchmarks/README.md).
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from celery import Celery

from runtime.clock import FileClock, SystemClock
from runtime.outbound import OutboundPolicy
from runtime.settings import Settings
from runtime.wiring import Platform
from runtime.workflows.engine import Engine

log = logging.getLogger(__name__)

WORK_TASK = "tessera.work"
DISPATCH_TASK = "tessera.dispatch"
TICK_TASK = "tessera.tick"


def make_celery(settings: Settings) -> Celery:
    """Return the Celery app for ``settings`` (its broker, beat period and tasks)."""
    app = Celery("tessera", broker=settings.broker_url, set_as_current=False)
    flows = settings.workflows
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_default_queue=flows.queue,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # No remote control: Tessera does not use it, and its per-node exclusive queue on
        # RabbitMQ refuses a second worker that happens to get the same node name.
        worker_enable_remote_control=False,
        beat_schedule={"tick": {"task": TICK_TASK, "schedule": flows.tick}},
        # The schedule is one fixed tick; cron times live in the database. The in-memory
        # scheduler writes no celerybeat-schedule file, so the beat needs no writable
        # folder (a read-only container, or a fresh working directory).
        beat_scheduler="celery.beat:Scheduler",
    )
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # Redis redelivers an unacknowledged message after this; runs hold a lease in
        # the database, so a second delivery of a live run is simply skipped.
        app.conf.broker_transport_options = {"visibility_timeout": max(60, int(flows.lease) * 2)}
    holder: dict[str, Any] = {}
    lock = threading.Lock()

    def engine() -> Any:
        # Built on first use in the worker process (never in the parent before a fork),
        # with its own database pools.
        with lock:
            if "engine" not in holder:
                holder["engine"] = _build_engine(settings, app)
            return holder["engine"]

    @app.task(name=WORK_TASK)
    def work(tenant: str) -> dict[str, int]:
        return dict(engine().work(tenant).statuses)

    @app.task(name=DISPATCH_TASK)
    def dispatch(tenant: str) -> int:
        return engine().dispatch(tenant)

    @app.task(name=TICK_TASK)
    def tick() -> dict[str, int]:
        return engine().tick()

    app.tessera_engine = engine  # type: ignore[attr-defined]
    return app


def _build_engine(settings: Settings, app: Celery) -> Engine:
    platform = Platform(settings)
    # Applies made through the servers reach this process as messages (or by the poll).
    platform.listen()

    def wake(tenant: str, countdown: float) -> None:
        app.send_task(WORK_TASK, (tenant,), countdown=countdown or None)

    return Engine(
        platform.service,
        platform.apis.models,
        platform.identity,
        settings.workflows,
        wake,
        clock=(
            FileClock(settings.clock_file, settings.clock_offset)
            if settings.clock_file
            else SystemClock(settings.clock_offset)
        ),
        outbound=OutboundPolicy(settings.outbound_allow, settings.outbound_timeout),
        principal_of=platform.member_principal,
    )


class Notifier:
    """The API server's side: after a commit, wake the dispatcher and start new runs.

    Sending is best effort: if the broker is down the write still succeeded, and the
    beat's next tick finds the events and runs in the database.
    """

    def __init__(self, settings: Settings) -> None:
        self.app = Celery("tessera", broker=settings.broker_url, set_as_current=False)
        self.app.conf.update(
            broker_connection_retry_on_startup=False,
            broker_connection_timeout=2,
            task_default_queue=settings.workflows.queue,
        )

    def after_commit(self, tenant: str, events: int, run_ids: list[uuid.UUID]) -> None:
        try:
            if run_ids:
                self.app.send_task(WORK_TASK, (tenant,), retry=False)
            if events:
                self.app.send_task(DISPATCH_TASK, (tenant,), retry=False)
        except Exception as exc:  # the beat catches up; the request already succeeded
            log.warning("could not reach the broker to start workflows now: %s", exc)
