"""Probes and metrics for operators: ``/health``, ``/ready`` and ``/metrics``.

- ``/health`` is liveness: the process answers. It reads nothing, so a database outage
  does not make an orchestrator restart every server.
- ``/ready`` is readiness: the database answers, its migrations are current, the broker
  is reachable (503 if not). It also reports the beat: a dead or missing beat, or no
  worker taking its ticks, shows as ``degraded`` (200, so servers stay in rotation
  while cron and date triggers are late); ``?strict=1`` turns that into a 503 for
  monitoring checks.
- ``/metrics`` is the Prometheus text format (see runtime/observability/metrics.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from metadata.registry import migrate
from runtime.observability import heartbeats
from runtime.settings import Settings
from runtime.wiring import Platform


def tessera_version() -> str:
    try:
        return version("tessera")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0.0.0+source"


@dataclass
class _BrokerCheck:
    """Broker reachability, checked at most every ``ttl`` seconds (probes are frequent)."""

    url: str
    ttl: float = 5.0
    _at: float = -1e9
    _result: tuple[bool, str] = (False, "not checked")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> tuple[bool, str]:
        with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return self._result
        from kombu import Connection

        try:
            with Connection(self.url, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            result = (True, "ok")
        except Exception as exc:  # report, do not raise: saying so is this endpoint's job
            result = (False, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._at, self._result = time.monotonic(), result
        return result


class OpsController(Controller):
    tags = ["operations"]

    @get("/health", sync_to_thread=False, summary="Liveness: the process answers")
    def health(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        platform: Platform = request.app.state.platform
        return {"status": "ok", "database": platform.backend.dialect, "version": tessera_version()}

    @get("/ready", sync_to_thread=True, summary="Readiness: database, migrations, broker, beat")
    def ready(
        self,
        request: Request[Any, Any, Any],
        strict: Annotated[bool, QueryParameter(description="503 when degraded")] = False,
    ) -> Response[dict[str, Any]]:
        platform: Platform = request.app.state.platform
        settings: Settings = platform.settings
        checks: dict[str, dict[str, Any]] = {}
        required_ok = True

        started = time.perf_counter()
        try:
            with platform.backend.connect_control() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = {"status": "ok", "dialect": platform.backend.dialect}
        except Exception as exc:
            checks["database"] = {"status": "failing", "error": type(exc).__name__}
            required_ok = False
        checks["database"]["ms"] = round((time.perf_counter() - started) * 1000, 1)

        if checks["database"]["status"] == "ok":
            try:
                current = migrate.current_revision(platform.backend.control)
                head = migrate.head_revision()
                checks["migrations"] = {
                    "status": "ok" if current == head else "failing",
                    "current": current,
                    "expected": head,
                }
                required_ok &= current == head
            except Exception as exc:
                checks["migrations"] = {"status": "failing", "error": type(exc).__name__}
                required_ok = False

        reachable, detail = request.app.state.broker_check()
        checks["broker"] = {"status": "ok" if reachable else "failing"}
        if not reachable:
            checks["broker"]["error"] = detail
            required_ok = False

        degraded = False
        if checks["database"]["status"] == "ok":
            stale_after = max(3 * settings.workflows.tick, 30.0)
            ages = heartbeats.ages(platform.backend)
            for name in ("beat", "tick"):
                if name not in ages:
                    checks[name] = {"status": "missing"}
                    degraded = True
                    continue
                age = ages[name][0]
                fresh = age <= stale_after
                checks[name] = {"status": "ok" if fresh else "stale", "age_seconds": round(age, 1)}
                degraded |= not fresh

        checks["invalidation"] = {
            "status": "pushed" if platform.invalidation.pushed else "polling",
            "channel": type(platform.bus).__name__,
        }
        status = "ready" if required_ok and not degraded else "degraded"
        if not required_ok:
            status = "unavailable"
        code = 200 if required_ok and not (strict and degraded) else 503
        return Response({"status": status, "checks": checks}, status_code=code)

    @get("/metrics", sync_to_thread=True, summary="Prometheus metrics", include_in_schema=False)
    def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        metrics = request.app.state.metrics
        if metrics is None:
            return Response(b"metrics are off (TESSERA_METRICS=false)\n", status_code=404)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
