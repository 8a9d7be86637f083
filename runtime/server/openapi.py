"""What the OpenAPI document says about each operation beyond its own signature: whether
it needs a credential, and the problem-details errors it can answer with.

Set on the route handlers once, when the app is built (before Litestar builds the
document on its first request), from two facts: the public operations listed here, and
each operation's method and path. A test runs schemathesis against the document, so an
error status the API returns but the document leaves out fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.openapi.datastructures import ResponseSpec

from runtime.server.problems import MEDIA_TYPE

#: Operations anyone may call. Sign-in and refresh carry their credential in the body,
#: an inbound webhook its signature in headers.
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/t/{tenant}/hooks/{workflow}"),
}
BEARER = [{"bearer": []}]


@dataclass
class Problem:
    """An RFC 9457 problem: ``type`` is a stable URI per kind of failure."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    """Metadata problems: each with its pointer, line, column and message."""


_MEANINGS = {
    400: "The request is malformed: a parameter or body that does not parse or validate, "
    "a NUL character, a body nested too deeply.",
    401: "No credential, or one that is not valid (or has expired).",
    403: "The credential is valid but does not allow this operation.",
    404: "No such tenant, or nothing by that name or id that the caller may see.",
    409: "The change conflicts with the current state (a version moved on, data that "
    "stops a migration, a pack conflict).",
    413: "The request body is larger than the server accepts.",
    422: "The content is understood but not valid (metadata problems with locations).",
    429: "Too many requests: wait for Retry-After seconds.",
    503: "Not ready: a part the server needs is down (the body says which).",
}


def _statuses(method: str, path: str, public: bool) -> list[int]:
    statuses = [400, 413]
    if not public or path.startswith("/auth/"):
        statuses.append(401)
    if not public:
        statuses += [403, 429]
    if "{" in path or not public:
        statuses.append(404)
    if method in ("POST", "PUT", "DELETE", "PATCH"):
        statuses += [409, 422]
    if path == "/ready" or "/files/" in path:  # a part down; attachments: the file store
        statuses.append(503)
    return sorted(set(statuses))


def _spec(status: int, path: str) -> ResponseSpec:
    if status == 503 and path == "/ready":  # /ready's own report, as JSON
        return ResponseSpec(
            data_container=dict[str, Any],
            description=_MEANINGS[status],
            media_type="application/json",
        )
    return ResponseSpec(
        data_container=Problem, description=_MEANINGS[status], media_type=MEDIA_TYPE
    )


def document(app: Litestar) -> None:
    """Give every documented operation its security and its error responses."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if handler.include_in_schema is False or "OPTIONS" in handler.http_methods:
                continue
            if route.path_format.startswith(("/schema", "/static")):
                continue
            for method in handler.http_methods:
                public = (method, route.path_format) in PUBLIC
                handler.security = [] if public else BEARER
                handler.responses = {
                    **{
                        s: _spec(s, route.path_format)
                        for s in _statuses(method, route.path_format, public)
                    },
                    **(handler.responses or {}),
                }
