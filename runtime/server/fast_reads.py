"""The fast lane: a query asked again, answered on the event loop from its kept plan.

A one-record read spent most of its ~1.4 ms of server CPU around its SQL: Litestar's
routing and middleware, a hop to a worker thread, SQLAlchemy's execution, and checking
the credential again (issue 17's profile). This ASGI layer sits in front of all of it
and answers a GraphQL POST itself when everything it needs is already known:

- the caller: the slow path has just authenticated the same ``Authorization`` header
  for the same tenant (a *pass*, kept for as long as the slow path caches credentials);
- the permissions: the tenant's and the credentials' generations are the same as when
  the pass was made (read without blocking the loop), and no invalidation was heard;
- the SQL: a plan kept for this document, these variables, this date and this reader
  (``runtime/graphql/plans.py``, the same key the slow path uses).

It then counts the request against the rate limit, runs the plan's statements on an
async psycopg connection (``runtime/storage/async_reads.py``) and splices the response.
Anything else, and anything that goes wrong, falls through to the full path with the
body replayed, which answers it (and its errors) as ever: the fast lane changes how
fast an answer comes, never what it says. PostgreSQL only; SQLite reads stay in threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import psycopg
from litestar.types import ASGIApp, Receive, Scope, Send
from psycopg_pool import PoolTimeout

from runtime.coordination.invalidation import Generations, Invalidation
from runtime.graphql.api import TenantApi
from runtime.graphql.executor import TIMEOUT_MESSAGE
from runtime.graphql.plans import plan_key, reader_of
from runtime.graphql.responses import error_json, response
from runtime.observability import logs
from runtime.observability.metrics import Metrics, SqlTimer
from runtime.security.accounts import CREDENTIAL_CACHE_SECONDS, TOKEN_USE_AUDIT_SECONDS
from runtime.security.principal import PUSHED_TTL, Principal
from runtime.security.rate import RateLimited, RateLimiter
from runtime.server.inflight import ClientGone, Inflight
from runtime.server.inputs import Refused, check_json
from runtime.server.inputs import replay as replay_body
from runtime.server.observe import observed
from runtime.storage.async_reads import TIMED_OUT, AsyncReads
from ui_schema.locales import negotiate

#: The GraphQL route's template, as the full path's metrics label it.
ROUTE = "/t/{tenant}/graphql"
#: Set in a request's scope state when the fast lane counted it against the rate limit
#: and then fell through: the full path does not count it a second time.
RATE_COUNTED = "tessera.rate_counted"
#: Larger bodies go the full path (kept plans are for requests up to 16 KB anyway).
MAX_FAST_BODY = 65_536


def _header(scope: Any, name: bytes) -> str | None:
    """Return one request header's value from an ASGI scope (None if absent)."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


@dataclass(frozen=True)
class Pass:
    """What the full path resolved for one credential in one tenant."""

    principal: Principal
    reader: Hashable
    api: TenantApi
    schema: str | None
    """The tenant's schema (its tables)."""
    timezone: ZoneInfo
    generations: Generations
    made: float
    """``time.monotonic()`` when the full path checked the credential."""
    expires: float | None
    """When the credential expires (epoch seconds), if it does."""


class Passes:
    """Passes by tenant and credential, least recently used first out. They go at once
    when an invalidation of their tenant or of credentials is heard, and otherwise last
    ``ttl`` seconds, as the full path's credential caches do; while other processes'
    changes arrive as messages (``pushed``), as its principals do, five minutes, but a
    minute for an API token, whose use the full path records once a minute."""

    def __init__(
        self,
        size: int = 10_000,
        ttl: float = CREDENTIAL_CACHE_SECONDS,
        pushed: Callable[[], bool] = lambda: False,
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._pushed = pushed
        self._passes: OrderedDict[tuple[str, bytes], Pass] = OrderedDict()
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}
        self._epoch = 0

    def __len__(self) -> int:
        return len(self._passes)

    @staticmethod
    def _key(tenant: str, authorization: str) -> tuple[str, bytes]:
        # A digest, so the cache holds no credential.
        return tenant, hashlib.blake2b(authorization.encode(), digest_size=20).digest()

    def epoch(self, tenant: str) -> tuple[int, int]:
        """Read before the full path resolves a caller: a pass is kept only if no
        invalidation of its tenant was heard meanwhile."""
        with self._lock:
            return self._epoch, self._epochs.get(tenant, 0)

    def remember(
        self,
        tenant: str,
        authorization: str | None,
        principal: Principal,
        api: TenantApi,
        schema: str | None,
        timezone: str,
        generations: Generations,
        expires: float | None,
        epoch: tuple[int, int],
    ) -> None:
        if not authorization or self.size <= 0:
            return
        made = Pass(
            principal,
            reader_of(principal),
            api,
            schema,
            ZoneInfo(timezone),
            generations,
            time.monotonic(),
            expires,
        )
        key = self._key(tenant, authorization)
        with self._lock:
            if (self._epoch, self._epochs.get(tenant, 0)) != epoch:
                return
            self._passes[key] = made
            self._passes.move_to_end(key)
            while len(self._passes) > self.size:
                self._passes.popitem(last=False)

    def get(self, tenant: str, authorization: str) -> Pass | None:
        key = self._key(tenant, authorization)
        with self._lock:
            found = self._passes.get(key)
            if found is None:
                return None
            if time.monotonic() - found.made >= self._ttl(found) or (
                found.expires is not None and time.time() >= found.expires
            ):
                del self._passes[key]
                return None
            self._passes.move_to_end(key)
            return found

    def _ttl(self, found: Pass) -> float:
        if not self._pushed():
            return self.ttl
        token = found.principal.rate_key.startswith("token:")
        return max(self.ttl, TOKEN_USE_AUDIT_SECONDS if token else PUSHED_TTL)

    def heard(self, kind: str, tenant: str | None) -> None:
        """An invalidation listener: a tenant's changes end its passes, a credential's
        end them all."""
        with self._lock:
            if kind in ("metadata", "members") and tenant:
                self._epochs[tenant] = self._epochs.get(tenant, 0) + 1
                for key in [k for k in self._passes if k[0] == tenant]:
                    del self._passes[key]
            else:
                self._epoch += 1
                self._passes.clear()


class FastReads:
    """The ASGI layer in front of the application (``Litestar.asgi_handler``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        passes: Passes,
        reads: AsyncReads,
        invalidation: Invalidation,
        limiter: RateLimiter,
        inflight: Inflight,
        metrics: Metrics | None,
        access_log: bool,
        max_json_depth: int,
    ) -> None:
        self.app = app
        self.passes = passes
        self.reads = reads
        self.invalidation = invalidation
        self.limiter = limiter
        self.inflight = inflight
        self.metrics = metrics
        self.access_log = access_log
        self.max_json_depth = max_json_depth
        self.served = 0
        """Requests the fast lane answered (tests and metrics)."""
        self._children: dict[str, tuple[Any, ...]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = _graphql_tenant(scope)
        if tenant is None:
            await self.app(scope, receive, send)
            return
        authorization = request_id = None
        length = 0
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"content-type":
                if b"json" not in value.lower():
                    tenant = None
            elif name == b"origin":
                tenant = None  # a browser's cross-origin request: CORS answers it
            elif name == b"content-length":
                length = int(value) if value.isdigit() else MAX_FAST_BODY + 1
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")
        if tenant is None or authorization is None or length > MAX_FAST_BODY:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        body, more = await _read(receive)
        replay = replay_body(body, receive, more=more)
        if more:
            await self.app(scope, replay, send)
            return
        answered = await self._answer(scope, replay, send, tenant, authorization, body, request_id)
        if answered is None:
            await self.app(scope, replay, send)
        else:
            status, timer = answered
            self.served += 1
            self._record(scope["path"], tenant, status, time.perf_counter() - started, timer)

    def _record(self, path: str, tenant: str, status: int, elapsed: float, timer: SqlTimer) -> None:
        """What the full path's ObserveMiddleware records, with the metrics' labelled
        children kept per tenant class (looking them up cost more than observing)."""
        metrics = self.metrics
        if metrics is None or status != 200:
            observed(metrics, self.access_log, ROUTE, "POST", path, tenant, status, elapsed, timer)
            return
        label = metrics.tenant_class(tenant)
        children = self._children.get(label)
        if children is None:
            children = self._children[label] = (
                metrics.requests.labels(ROUTE, "POST", "200", label),
                metrics.latency.labels(ROUTE, "POST", label),
                metrics.sql_seconds.labels(ROUTE),
                metrics.sql_statements.labels(ROUTE),
                metrics.graphql.labels("query", label),
            )
        requests, latency, sql_seconds, sql_statements, graphql = children
        requests.inc()
        latency.observe(elapsed)
        sql_seconds.observe(timer.seconds)
        sql_statements.observe(timer.statements)
        graphql.observe(elapsed)
        if self.access_log:
            observed(None, True, ROUTE, "POST", path, tenant, status, elapsed, timer)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        tenant: str,
        authorization: str,
        body: bytes,
        request_id: str | None,
    ) -> tuple[int, SqlTimer] | None:
        """Answer the request; return its status and SQL timer (None: the full path
        answers it)."""
        try:
            value = msgspec.json.decode(body)
            check_json(value, self.max_json_depth)
        except (msgspec.DecodeError, RecursionError, Refused):
            return None  # the input boundary says what is wrong with it
        if not isinstance(value, dict):
            return None
        query, variables, operation = (
            value.get("query"),
            value.get("variables"),
            value.get("operationName"),
        )
        if (
            not isinstance(query, str)
            or not (variables is None or isinstance(variables, dict))
            or not (operation is None or isinstance(operation, str))
        ):
            return None
        found = self.passes.get(tenant, authorization)
        if found is None:
            return None
        if await self.invalidation.agenerations(tenant) != found.generations:
            return None
        key = plan_key(
            query,
            operation,
            variables,
            found.schema,
            dt.datetime.now(found.timezone).date(),
            found.reader,
            # Picklist labels follow the caller's language: a plan is per language.
            negotiate(_header(scope, b"accept-language")),
        )
        plan = found.api.plans.get(key) if key is not None else None
        if plan is None:
            return None
        try:
            await self.limiter.acheck(found.principal.rate_key)
        except RateLimited:
            return None  # the full path counts it again and refuses it
        scope.setdefault("state", {})[RATE_COUNTED] = True
        timer = SqlTimer()
        statements = [(root.sql, root.params) for root in plan if root.sql is not None]
        started = time.perf_counter()
        try:
            values = iter(await self.inflight.read(receive, self.reads.read(tenant, statements)))
        except ClientGone:
            return 499, timer  # nobody is listening for the answer (nginx's 499)
        except (psycopg.Error, PoolTimeout, OSError):
            return None  # a lost connection, or data the database refused
        timer.seconds, timer.statements = time.perf_counter() - started, len(statements)
        data: list[tuple[str, bytes]] = []
        errors: list[dict[str, Any]] = []
        for root in plan:
            if root.sql is None:
                data.append((root.key, root.text.encode()))
                continue
            value = next(values)
            if value is TIMED_OUT:
                errors.append(
                    error_json(TIMEOUT_MESSAGE.format(key=root.key), "TIMEOUT", [root.key])
                )
                value = None
            data.append((root.key, value if isinstance(value, bytes) else b"null"))
        payload = _payload(data, errors)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"x-request-id", logs.accept_request_id(request_id).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        return 200, timer


def _payload(data: list[tuple[str, bytes]], errors: list[dict[str, Any]]) -> bytes:
    """The response's bytes, spliced from the statements' JSON bytes as
    ``runtime.graphql.responses.response`` splices text (the same bytes, tested)."""
    if errors:
        return response([(k, v.decode()) for k, v in data], errors).encode()
    fields = b",".join(json.dumps(key).encode() + b":" + value for key, value in data)
    return b'{"data":{' + fields + b"}}"


def _graphql_tenant(scope: Scope) -> str | None:
    """The tenant of a ``POST /t/{tenant}/graphql``, else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    parts = scope["path"].split("/")
    # "/t/acme/graphql" or "/t/acme/graphql/"
    if len(parts) == 5 and parts[4] == "":
        parts.pop()
    if len(parts) == 4 and parts[1] == "t" and parts[3] == "graphql" and parts[2]:
        return parts[2]
    return None


async def _read(receive: Receive) -> tuple[bytes, bool]:
    """Read the body up to ``MAX_FAST_BODY``; return it and whether more follows."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > MAX_FAST_BODY:
            return b"".join(chunks), more
