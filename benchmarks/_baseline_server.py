"""The outside baseline: a minimal server answering W1-W4 with hand-written SQL.

A separate process that imports nothing from Tessera: Litestar on one uvicorn worker
(uvloop, httptools, no access log), a psycopg 3 async pool in autocommit (one round
trip per request: no ping, no BEGIN) with server-side prepared statements from the first
execution. It answers ``POST /w/{workload}`` (``/w/{workload}/subtree`` for the
role-subtree variant, given ``owners``) with exactly the JSON the GraphQL request
returns: the database builds the data's JSON, the server puts the envelope around it.

    BASELINE_DATABASE_URL=postgresql://... BASELINE_SCHEMA=t_bench \\
        uvicorn benchmarks._baseline_server:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from litestar import Litestar, MediaType, Response, get, post
from litestar.params import FromPath, JSONBody
from psycopg_pool import AsyncConnectionPool

from benchmarks._workload_sql import statements

URL = os.environ["BASELINE_DATABASE_URL"]
SQL = statements(True, f'"{os.environ["BASELINE_SCHEMA"]}".')
POOL_SIZE = int(os.environ.get("BASELINE_POOL_SIZE", "8"))
# The GraphQL response around each workload's JSON: {"data": {root: value}}.
ENVELOPE = {
    "W1": (b'{"data":{"account":', b"}}"),
    "W2": (b'{"data":{"contacts":{"nodes":', b"}}}"),
    "W3": (b'{"data":{"accounts":{"nodes":', b"}}}"),
    "W4": (b'{"data":{"opportunities":{"nodes":', b"}}}"),
}

pool = AsyncConnectionPool(
    URL,
    min_size=POOL_SIZE,
    max_size=POOL_SIZE,
    # prepare_threshold=0: each statement is prepared on its first run per connection.
    kwargs={"autocommit": True, "prepare_threshold": 0},
    open=False,
)


async def _answer(workload: str, subtree: bool, data: dict[str, Any]) -> Response[bytes]:
    sql = SQL[("json", workload, subtree)]
    params: dict[str, Any] = {}
    if "id" in data:
        params["id"] = uuid.UUID(data["id"])
    if subtree:
        params["owners"] = [uuid.UUID(o) for o in data["owners"]]
    async with pool.connection() as conn:
        cursor = await conn.execute(sql, params)
        row = await cursor.fetchone()
    value = b"null" if row is None or row[0] is None else row[0].encode()
    head, tail = ENVELOPE[workload]
    return Response(head + value + tail, media_type=MediaType.JSON)


@post("/w/{workload:str}", status_code=200)
async def full(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[bytes]:
    return await _answer(workload, False, data)


@post("/w/{workload:str}/subtree", status_code=200)
async def subtree(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[bytes]:
    return await _answer(workload, True, data)


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


async def _open() -> None:
    await pool.open(wait=True)


async def _close() -> None:
    await pool.close()


app = Litestar(
    route_handlers=[full, subtree, health],
    on_startup=[_open],
    on_shutdown=[_close],
    logging_config=None,
)
