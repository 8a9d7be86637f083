"""Per-request observation: the request id, an access log line, metrics and SQL time.

It runs inside Litestar's routing (so it knows the route's path template and the
tenant) and outside the exception handlers (so it sees the status actually sent).
"""

from __future__ import annotations

import logging
import time

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from runtime.observability import logs
from runtime.observability.metrics import Metrics, SqlTimer, sql_timer

log = logging.getLogger("tessera.access")


class ObserveMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = logs.accept_request_id(given)
        tenant = (scope.get("path_params") or {}).get("tenant")
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        raw_id = request_id.encode()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", raw_id)]
            await send(message)

        timer = SqlTimer()
        started = time.perf_counter()
        timer_token = sql_timer.set(timer)
        with logs.bound(request_id=request_id, tenant=tenant):
            try:
                await self.app(scope, receive, sending)
            finally:
                sql_timer.reset(timer_token)
                self._observed(scope, tenant, status, started, timer)

    def _observed(
        self, scope: Scope, tenant: str | None, status: int, started: float, timer: SqlTimer
    ) -> None:
        observed(
            self.metrics,
            self.access_log,
            scope.get("path_template") or "unmatched",
            scope.get("method", "GET"),
            scope.get("path", ""),
            tenant,
            status,
            time.perf_counter() - started,
            timer,
        )


def observed(
    metrics: Metrics | None,
    access_log: bool,
    route: str,
    method: str,
    path: str,
    tenant: str | None,
    status: int,
    elapsed: float,
    timer: SqlTimer,
) -> None:
    """Count a request and write its access log line (inside its log context); the fast
    lane (runtime/server/fast_reads.py) records its requests here too."""
    if metrics is not None:
        label = metrics.tenant_class(tenant)
        metrics.requests.labels(route, method, str(status), label).inc()
        metrics.latency.labels(route, method, label).observe(elapsed)
        metrics.sql_seconds.labels(route).observe(timer.seconds)
        metrics.sql_statements.labels(route).observe(timer.statements)
    if access_log and route not in _QUIET:
        log.info(
            "%s %s %d %.1f ms",
            method,
            path,
            status,
            elapsed * 1000,
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "sql_ms": round(timer.seconds * 1000, 2),
                "sql_statements": timer.statements,
            },
        )


#: Probes and scrapes: every few seconds from every checker, and not worth a log line.
_QUIET = frozenset({"/health", "/ready", "/metrics"})
