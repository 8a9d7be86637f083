"""The HTTP input boundary: what every request must be before any handler sees it.

One middleware, so every endpoint (the admin API, sign-in, GraphQL, inbound webhooks)
inherits the same rules instead of each checking its own way:

- the body is at most ``max_body_bytes`` (413 otherwise);
- a JSON body parses, and nests at most ``max_json_depth`` arrays and objects: a deeply
  nested body would otherwise exhaust the parser's or a validator's recursion (a 500);
- no NUL character anywhere: not in the path, the query string or any JSON string or key.
  PostgreSQL cannot store NUL in text or JSON and SQLite truncates at it in places, so it
  is refused on both backends alike, with the place named.

Refusals are RFC 9457 problem details (400 ``bad-request`` or 413 ``payload-too-large``)
and are made before authentication, so they cost an anonymous caller nothing but the read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from runtime.server.problems import MEDIA_TYPE, PROBLEM_BASE

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class InputRules:
    max_body_bytes: int = 8_000_000
    max_json_depth: int = 64


class Refused(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail


def check_json(value: Any, max_depth: int) -> None:
    """Raise Refused if ``value`` (parsed JSON) nests deeper than ``max_depth`` or holds a
    NUL character; the message gives the place as a JSON path ($.variables.input.name)."""
    # Iterative, so the walk itself cannot run out of stack.
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise _nul(f"the request body at {where}")
        elif isinstance(item, dict):
            if depth >= max_depth:
                raise _too_deep(where, max_depth)
            for key, child in item.items():
                if "\x00" in key:
                    raise _nul(f"a key of the request body at {where}")
                stack.append((child, f"{where}.{key}", depth + 1))
        elif isinstance(item, list):
            if depth >= max_depth:
                raise _too_deep(where, max_depth)
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))


def _nul(where: str) -> Refused:
    return Refused(
        400,
        "bad-request",
        "Bad request",
        f"{where} contains a NUL character (\\u0000), which Tessera does not store",
    )


def _too_deep(where: str, max_depth: int) -> Refused:
    return Refused(
        400,
        "bad-request",
        "Bad request",
        f"the request body nests more than {max_depth} arrays and objects (at {where}); "
        f"the limit is {max_depth}",
    )


#: Where a request's decoded JSON body is kept in its scope's state.
JSON_BODY = "tessera.json_body"
#: What is kept there when the body claimed to be JSON and was not.
NOT_JSON = object()


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower()
    return False


class InputBoundary:
    """ASGI middleware applying :class:`InputRules` to every request."""

    def __init__(self, app: ASGIApp, rules: InputRules | None = None) -> None:
        self.app = app
        self.rules = rules or InputRules()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if "\x00" in scope["path"]:
                raise _nul("the URL path")
            if b"%00" in scope.get("query_string", b"") and b"\x00" in unquote_to_bytes(
                scope["query_string"]
            ):
                raise _nul("the query string")
            if scope["method"] == "PUT" and _is_upload(scope["path"]):
                pass  # an upload streams to the file store, which enforces its own limits
            elif scope["method"] in _BODY_METHODS:
                body = await self._read(receive)
                receive = replay(body, receive)
                if body and _is_json(scope):
                    # Kept for the handler: the GraphQL endpoint reads its request from it
                    # instead of decoding the body a second time.
                    scope.setdefault("state", {})[JSON_BODY] = self._check_json(body)
        except Refused as refused:
            await _refuse(scope, send, refused)
            return
        await self.app(scope, receive, send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the handler will see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.rules.max_body_bytes:
                raise Refused(
                    413,
                    "payload-too-large",
                    "Payload too large",
                    f"the request body is over {self.rules.max_body_bytes:,} bytes; the "
                    f"limit is {self.rules.max_body_bytes:,}",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_json(self, body: bytes) -> Any:
        """Return the body decoded, once checked (``_NOT_JSON`` if it does not decode)."""
        try:
            value = msgspec.json.decode(body)
        except RecursionError:
            raise _too_deep("$", self.rules.max_json_depth) from None
        except msgspec.DecodeError:
            return NOT_JSON  # the handler's own parsing says what is wrong with it
        check_json(value, self.rules.max_json_depth)
        return value


def _is_upload(path: str) -> bool:
    """``/t/{tenant}/files/{object}/{id}/{field}``: the one route whose body is a file."""
    parts = path.strip("/").split("/")
    return len(parts) == 6 and parts[0] == "t" and parts[2] == "files"


def replay(body: bytes, receive: Receive, *, more: bool = False) -> Receive:
    """Return a receive that hands the handler the body already read (``more``: and
    that the rest follows), then passes on what the server sends next (the rest of the
    body, or the client's disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, refused: Refused) -> None:
    body = json.dumps(
        {
            "type": PROBLEM_BASE + refused.kind,
            "title": refused.title,
            "status": refused.status,
            "detail": refused.detail,
            "instance": scope["path"].replace("\x00", "\\u0000"),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
