"""A GraphQL read costs one database round trip per root field: no ping before it, no
BEGIN or ROLLBACK around it (issue 17). On PostgreSQL each of those was a round trip;
SQLite, in process, has none to save, and reads there stay one statement."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg._connection_base import BaseConnection
from sqlalchemy import event, make_url

from runtime.graphql.executor import Request, run
from runtime.security.principal import Principal
from runtime.storage.backends import PostgresBackend

QUERIES = {"SELECT", "WITH"}  # how a compiled read starts (never BEGIN, ROLLBACK)
ONE = "{ accounts(first: 5) { nodes { name } } }"
TWO = "{ a: accounts(first: 5) { nodes { name } } c: contacts(first: 5) { nodes { id } } }"


@contextmanager
def wire(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record what psycopg sends: each statement, and each command (BEGIN, ROLLBACK...)."""
    sent: list[str] = []
    execute, command = psycopg.Cursor.execute, BaseConnection._exec_command

    def executing(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(str(query).split()[0].upper())
        return execute(self, query, *args, **kwargs)

    def commanding(self, cmd, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(bytes(cmd).decode().split()[0].upper())
        return (yield from command(self, cmd, *args, **kwargs))

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", executing)
        patch.setattr(BaseConnection, "_exec_command", commanding)
        yield sent


def test_a_read_is_one_round_trip_per_root_field(api, monkeypatch):
    api(ONE), api(TWO)  # warm: schema, documents, pooled connections
    if not isinstance(api.service.backend, PostgresBackend):
        assert len(api.statements(ONE)) == 1
        assert len(api.statements(TWO)) == 2
        return
    with wire(monkeypatch) as sent:
        assert len(api(ONE)["accounts"]["nodes"]) == 5
    assert len(sent) == 1 and sent[0] in QUERIES, sent  # before: SELECT 1, BEGIN, it, ROLLBACK
    with wire(monkeypatch) as sent:
        api(TWO)
    assert len(sent) == 2 and set(sent) <= QUERIES, sent


def _pid(backend: PostgresBackend) -> int:
    with backend.reading("any") as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(backend: PostgresBackend, pid: int) -> None:
    """End a pooled session from the server's side (a restart, a proxy's idle timeout),
    over a connection of its own."""
    url = backend.control.url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_read_on_a_connection_the_server_dropped_runs_again_on_a_new_one(api):
    """Recently used connections are not pinged: a read that meets a dropped one is run
    once more, so the caller sees its data, not an error."""
    pg = PostgresBackend(api.service.backend.control.url, pool_size=1, max_overflow=0)
    connects: list[int] = []
    event.listen(pg.control, "connect", lambda *_: connects.append(1))
    schema, timezone = api.apis.get(api.tenant)
    request = Request(api.tenant, Principal.system(api.tenant), ONE, None, None, timezone)
    try:
        first = _pid(pg)
        _terminate(pg, first)
        body = json.loads(run(schema, pg, request))
        assert "errors" not in body, body
        assert len(body["data"]["accounts"]["nodes"]) == 5
        assert _pid(pg) != first and len(connects) == 2
    finally:
        pg.dispose()


@pytest.mark.postgres
def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_if_gone(postgres_url):
    pg = PostgresBackend(make_url(postgres_url), pool_size=1, max_overflow=0, idle_ping=0.05)
    connects: list[int] = []
    event.listen(pg.control, "connect", lambda *_: connects.append(1))
    try:
        first = _pid(pg)
        assert _pid(pg) == first  # returned a moment ago: no ping, the same session
        _terminate(pg, first)  # on the pool's only connection: it is gone after this
        time.sleep(0.1)  # idle past the limit: the checkout pings and finds it dead
        assert _pid(pg) != first
        assert len(connects) == 2
    finally:
        pg.dispose()
