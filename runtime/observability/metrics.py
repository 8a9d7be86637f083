"""Prometheus metrics of one server process, at ``/metrics``.

- requests by route (the path template, never the raw path), method, status and tenant
  class, with their latency;
- GraphQL operation latency by operation type;
- SQL time and statements per request (SQLAlchemy cursor events, summed per request);
- rate-limited requests;
- the schema cache: hits, builds, size;
- workflows, read from the tenants' run tables at scrape time (cached briefly): runs by
  state, the lag of the oldest ready run, dead letters;
- the beat: seconds since it was last alive and since a worker last ran its tick;
- invalidation messages heard, and whether the push channel is connected.

Tenants are labelled by class (``TESSERA_TENANT_CLASSES``), never by name, so the number
of series does not grow with the number of tenants. Each app has its own registry.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import fnmatch
import logging
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

from runtime.observability import heartbeats
from runtime.storage.workflow_tables import RUNS

log = logging.getLogger(__name__)


class SqlTimer:
    """SQL time and statements of one request (summed across its threads)."""

    __slots__ = ("seconds", "statements")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.statements = 0


sql_timer: contextvars.ContextVar[SqlTimer | None] = contextvars.ContextVar(
    "sql_timer", default=None
)


def _before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any):
    conn.info["tessera_started"] = time.perf_counter()


def _after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any, many: Any):
    timer = sql_timer.get()
    started = conn.info.pop("tessera_started", None)
    if timer is not None and started is not None:
        timer.seconds += time.perf_counter() - started
        timer.statements += 1


def instrument_sqlalchemy() -> None:
    """Time every statement of every engine (idempotent; cheap when no request counts)."""
    if not event.contains(Engine, "before_cursor_execute", _before):
        event.listen(Engine, "before_cursor_execute", _before)
        event.listen(Engine, "after_cursor_execute", _after)


def tenant_class(name: str | None, classes: tuple[tuple[str, str], ...]) -> str:
    """Return the metrics class of tenant ``name`` ("-" when there is no tenant)."""
    if not name:
        return "-"
    for pattern, label in classes:
        if fnmatch.fnmatchcase(name, pattern):
            return label
    return "default"


_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one app, in their own registry."""

    def __init__(self, classes: tuple[tuple[str, str], ...] = ()) -> None:
        self.classes = classes
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "tessera_http_requests",
            "HTTP requests answered.",
            ["route", "method", "status", "tenant_class"],
            registry=r,
        )
        self.latency = Histogram(
            "tessera_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["route", "method", "tenant_class"],
            buckets=_LATENCY,
            registry=r,
        )
        self.graphql = Histogram(
            "tessera_graphql_operation_duration_seconds",
            "Time to run one GraphQL request, by its operation type.",
            ["operation", "tenant_class"],
            buckets=_LATENCY,
            registry=r,
        )
        self.sql_seconds = Histogram(
            "tessera_sql_seconds_per_request",
            "Time a request spent waiting for SQL statements.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
            registry=r,
        )
        self.sql_statements = Histogram(
            "tessera_sql_statements_per_request",
            "SQL statements a request ran.",
            ["route"],
            buckets=(1, 2, 3, 5, 8, 13, 21, 50, 100, 500),
            registry=r,
        )
        self.rate_limited = Counter(
            "tessera_rate_limited_requests",
            "Requests refused by the rate limit.",
            ["tenant_class"],
            registry=r,
        )

    def tenant_class(self, tenant: str | None) -> str:
        return tenant_class(tenant, self.classes)

    def add(self, collector: Collector) -> None:
        self.registry.register(collector)


class CacheCollector(Collector):
    """Schema cache and invalidation figures, read when scraped."""

    def __init__(self, apis: Any, invalidation: Any) -> None:
        self.apis, self.invalidation = apis, invalidation

    def collect(self) -> Iterator[Metric]:
        cache = self.apis.cache
        for name, help_text, value in (
            ("tessera_schema_cache_hits", "Schema look-ups that found a built schema.", cache.hits),
            ("tessera_schema_cache_builds", "Schemas built.", cache.builds),
        ):
            family = GaugeMetricFamily(name + "_total", help_text)
            family.add_metric([], value)
            yield family
        size = GaugeMetricFamily("tessera_schema_cache_size", "Schemas kept.")
        size.add_metric([], len(cache))
        yield size
        heard = GaugeMetricFamily(
            "tessera_invalidation_messages_received_total",
            "Invalidation messages heard from other processes.",
        )
        heard.add_metric([], self.invalidation.received)
        yield heard
        pushed = GaugeMetricFamily(
            "tessera_invalidation_push_connected",
            "1 while other processes' changes arrive as messages (else the poll).",
        )
        pushed.add_metric([], 1.0 if self.invalidation.pushed else 0.0)
        yield pushed


class WorkflowCollector(Collector):
    """Workflow queues and the beat, read from the database at scrape time.

    Reading every tenant's run table costs one small indexed query per tenant, so the
    result is kept for ``ttl`` seconds.
    """

    def __init__(self, service: Any, classes: tuple[tuple[str, str], ...], ttl: float = 10.0):
        self.service, self.classes, self.ttl = service, classes, ttl
        self._cached: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > self.ttl:
                try:
                    self._cached = (time.monotonic(), self._read())
                except Exception as exc:  # a scrape must never fail the endpoint
                    log.warning("workflow metrics not read: %s", exc)
                    return
            metrics = self._cached[1]
        yield from metrics

    def describe(self) -> Iterator[Metric]:
        """The families without samples: registering the collector must not read every
        tenant (prometheus_client calls collect() to learn the names otherwise, which
        at 1,000 tenants took 21 s and 300 MB at start-up)."""
        yield from self._families({}, {}, {})

    def _read(self) -> list[Metric]:
        backend = self.service.backend
        states: Tally[tuple[str, str]] = Tally()
        lag: dict[str, float] = {}
        now = dt.datetime.now(dt.UTC)
        for info in self.service.list_tenants():
            label = tenant_class(info.name, self.classes)
            schema = backend.schema(info.name)
            # Plain SQL: a Table per tenant schema (SQLAlchemy's MetaData of every
            # platform table) cost ~16 ms and ~0.3 MB per tenant at each scrape.
            runs = f'"{schema}".{RUNS}' if schema else RUNS
            try:
                with backend.reading(info.name) as conn:
                    rows = conn.exec_driver_sql(
                        f"SELECT status, count(*), min(created_at) FROM {runs} WHERE status "
                        "IN ('queued', 'running', 'failed', 'dead') GROUP BY status"
                    ).all()
            except Exception:  # a tenant being created or dropped right now
                continue
            for status, count, oldest in rows:
                states[(status, label)] += count
                if status == "queued" and oldest is not None:
                    age = (now - _moment(oldest)).total_seconds()
                    lag[label] = max(lag.get(label, 0.0), age)
        return self._families(states, lag, heartbeats.ages(backend))

    def _families(
        self, states: Tally[tuple[str, str]], lag: dict[str, float], ages: dict[str, Any]
    ) -> list[Metric]:
        by_state = GaugeMetricFamily(
            "tessera_workflow_runs",
            "Workflow runs waiting or stuck, by state (queued, running, failed, dead).",
            labels=["state", "tenant_class"],
        )
        for (status, label), count in sorted(states.items()):
            by_state.add_metric([status, label], count)
        dead = GaugeMetricFamily(
            "tessera_workflow_dead_letters", "Runs that gave up.", labels=["tenant_class"]
        )
        for (status, label), count in sorted(states.items()):
            if status == "dead":
                dead.add_metric([label], count)
        waiting = GaugeMetricFamily(
            "tessera_workflow_queue_lag_seconds",
            "Age of the oldest queued run.",
            labels=["tenant_class"],
        )
        for label, age in sorted(lag.items()):
            waiting.add_metric([label], age)
        out: list[Metric] = [by_state, dead, waiting]
        for name, help_text in (
            ("beat", "Seconds since the beat process was last alive."),
            ("tick", "Seconds since a worker last ran a beat tick."),
        ):
            family = GaugeMetricFamily(f"tessera_beat_{name}_age_seconds", help_text)
            # Never seen: as old as can be, so an alert on age fires.
            family.add_metric([], ages[name][0] if name in ages else float("inf"))
            out.append(family)
        return out


def _moment(value: dt.datetime | str) -> dt.datetime:
    """A timestamp as read by plain SQL (SQLite keeps UTC as text), made aware."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
