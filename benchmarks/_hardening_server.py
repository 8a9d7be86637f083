"""The server the hardening benchmark drives: ``tessera serve``'s app, either as shipped
(``on``) or with issue 15's request-path checks taken out (``off``): no HTTP input
boundary (body size, JSON depth, NUL), no statement timeout, and the GraphQL endpoint
running its work without watching for the client's disconnect.

Checks compiled into the GraphQL layer itself (the NUL validation rule, filter bounds,
value ranges) run in both modes: they cost a few dictionary look-ups per request.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
import uvicorn

from runtime.server import graphql_api, inputs
from runtime.server.app import create_app
from runtime.settings import Settings

mode = os.environ["BENCH_MODE"]
settings = Settings.from_env()
if mode == "off":

    async def passthrough(self: Any, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def serve(self: Any, request: Any, apis: Any, service: Any, tenant: Any, body: Any):
        return await anyio.to_thread.run_sync(
            lambda: self._run(request, apis, service, tenant, body)
        )

    inputs.InputBoundary.__call__ = passthrough  # type: ignore[method-assign]
    graphql_api.GraphQLController._serve = serve  # type: ignore[method-assign]
    settings = Settings.from_env(statement_timeout=0.0)
uvicorn.run(create_app(settings), host="127.0.0.1", port=settings.port, log_config=None)
