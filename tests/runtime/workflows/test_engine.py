"""The engine in-process, without a broker: dispatch, claiming, draining, retries and
what one run costs in statements. Runs on SQLite and PostgreSQL.

The end-to-end tests beside this one drive the same engine through a Celery worker; these
pin down the queue's rules where a worker's timing cannot hide a mistake (a run created
but never announced, a run claimed twice, a retry that never comes).
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import event, func, select, update

from metadata.validation import validate_data
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.outbound import OutboundPolicy
from runtime.security.principal import Principal
from runtime.settings import WorkflowSettings
from runtime.storage.tables import system_table
from runtime.storage.workflow_tables import RUNS, STEPS
from runtime.workflows.engine import Engine
from runtime.workflows.runs import create_run

TENANT = "engine_t"


def _metadata(actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "objects": {"item": {"fields": {"n": {"type": "integer"}, "bumped": {"type": "integer"}}}},
        "workflows": {
            "bump": {
                "object": "item",
                "trigger": {"on": ["updated"], "condition": "ISCHANGED(n)"},
                "actions": actions,
            }
        },
    }


class NoMembers:
    """An identity that fails the test if the engine reads members it does not need."""

    def members(self, tenant: str) -> list[Any]:
        raise AssertionError("a score action must not read the tenant's members")


class Rig:
    def __init__(self, service, actions: list[dict[str, Any]], **settings: Any) -> None:
        self.service, self.backend = service, service.backend
        service.create_tenant(TENANT)
        service.apply(TENANT, validate_data(_metadata(actions)))
        self.apis = ActiveApis(service, SchemaCache())
        self.wakes: list[float] = []
        self.settings = WorkflowSettings(broker_url="memory://", **settings)
        self.engine = Engine(
            service,
            self.apis.models,
            NoMembers(),  # type: ignore[arg-type]
            self.settings,
            lambda tenant, countdown: self.wakes.append(countdown),
            # The tests' unreachable hook is on loopback, which is refused by default.
            outbound=OutboundPolicy(allow=("127.0.0.1",)),
        )
        self.schema = self.backend.schema(TENANT)

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        api, _ = self.apis.get(TENANT)
        request = Request(TENANT, Principal.system(TENANT), query, variables)
        body = json.loads(run(api, self.backend, request))
        assert "errors" not in body, body
        return body["data"]

    def items(self, count: int) -> list[str]:
        made = self.gql(
            "mutation($i: [ItemCreateInput!]!) { createItems(inputs: $i) { id } }",
            i=[{"n": 0} for _ in range(count)],
        )["createItems"]
        return [m["id"] for m in made]

    def change(self, ids: list[str], n: int = 1) -> None:
        self.gql(
            "mutation($i: [ItemUpdateManyInput!]!) { updateItems(inputs: $i) { id } }",
            i=[{"id": i, "input": {"n": n}} for i in ids],
        )

    def runs(self) -> list[Any]:
        runs = system_table(self.schema, RUNS)
        with self.backend.read_tenant(TENANT) as conn:
            return conn.execute(select(runs).order_by(runs.c.created_at)).all()

    def bumped(self) -> list[int | None]:
        data = self.gql("{ items(first: 100) { nodes { bumped } } }")
        return sorted((n["bumped"] or 0) for n in data["items"]["nodes"])

    def set_runs(self, **values: Any) -> None:
        runs = system_table(self.schema, RUNS)
        with self.backend.begin_tenant(TENANT) as conn:
            conn.execute(update(runs).values(**values))


def test_dispatch_makes_one_run_per_matching_event_and_wakes_workers(service):
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}], fan_out=2)
    ids = rig.items(3)
    assert rig.engine.dispatch(TENANT) == 0  # created: the trigger is on updates only
    rig.change(ids)
    rig.change(ids[:1], n=1)  # no change to n: ISCHANGED(n) is false, no run
    assert rig.engine.dispatch(TENANT) == 3
    # Every new run is announced at once (this caught create_run reporting "not made"
    # on PostgreSQL, which left runs for the beat), by at most fan_out wake-ups.
    assert rig.wakes == [0, 0]
    assert rig.engine.dispatch(TENANT) == 0  # events are marked; nothing is made twice
    runs = rig.runs()
    assert [(r.workflow, r.status) for r in runs] == [("bump", "queued")] * 3
    assert sorted(str(r.record_id) for r in runs) == sorted(ids)


def test_work_drains_ready_runs_once_each(service):
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    rig.change(rig.items(4))
    rig.engine.dispatch(TENANT)
    drained = rig.engine.work(TENANT)
    assert drained.runs == 4 and drained.statuses == {"succeeded": 4}
    assert rig.bumped() == [1, 1, 1, 1]
    assert rig.engine.work(TENANT).runs == 0  # finished runs are never claimed again
    assert rig.bumped() == [1, 1, 1, 1]
    assert {(r.status, r.attempts) for r in rig.runs()} == {("succeeded", 1)}


def test_a_live_lease_keeps_a_run_and_an_expired_one_frees_it(service):
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    rig.change(rig.items(1))
    rig.engine.dispatch(TENANT)
    now = dt.datetime.now(dt.UTC)
    # Another worker holds the run: its lease is still running.
    rig.set_runs(status="running", lease_until=now + dt.timedelta(minutes=5), attempts=1)
    assert rig.engine.work(TENANT).runs == 0
    assert rig.engine.sweep(TENANT) == 0
    # That worker died: once the lease is over the sweep wakes a worker, which takes it.
    rig.set_runs(lease_until=now - dt.timedelta(seconds=1))
    assert rig.engine.sweep(TENANT) == 1
    drained = rig.engine.work(TENANT)
    assert drained.statuses == {"succeeded": 1}
    [done] = rig.runs()
    assert done.attempts == 2 and rig.bumped() == [1]


def test_a_failing_run_is_retried_with_backoff_then_dead_lettered(service, monkeypatch):
    monkeypatch.setenv("TESSERA_HOOK_SECRET_ENGINE_TEST", "s" * 24)
    rig = Rig(
        service,
        [
            {"score": {"field": "bumped", "add": "1"}},
            # Nothing listens on port 9: every delivery fails and is retried.
            {
                "webhook": {
                    "url": "http://127.0.0.1:9/hook",
                    "secret_env": "TESSERA_HOOK_SECRET_ENGINE_TEST",
                }
            },
        ],
        retry_base=30.0,
        max_attempts=2,
    )
    rig.change(rig.items(1))
    rig.engine.dispatch(TENANT)
    rig.wakes.clear()
    first = rig.engine.work(TENANT)
    assert first.statuses == {"failed": 1} and first.retry_in == 30.0
    assert rig.wakes == [30.0]  # the retry is a wake-up scheduled for its time
    [failed] = rig.runs()
    assert failed.status == "failed" and "step 1 (webhook)" in failed.error
    assert rig.engine.work(TENANT).runs == 0  # not before its time
    rig.set_runs(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    second = rig.engine.work(TENANT)
    assert second.statuses == {"dead": 1}  # attempts ran out
    [dead] = rig.runs()
    assert dead.status == "dead" and dead.attempts == 2
    # The database step before the failing one happened once, not once per attempt.
    assert rig.bumped() == [1]
    steps = system_table(rig.schema, STEPS)
    with rig.backend.read_tenant(TENANT) as conn:
        rows = conn.execute(select(steps).order_by(steps.c.position)).all()
    assert [(s.action, s.status, s.attempts) for s in rows] == [
        ("score", "done", 1),
        ("webhook", "failed", 2),
    ]


def test_a_webhook_to_an_internal_address_is_dead_lettered_at_once(service, monkeypatch):
    monkeypatch.setenv("TESSERA_HOOK_SECRET_ENGINE_TEST", "s" * 24)
    rig = Rig(
        service,
        [
            {
                "webhook": {
                    "url": "http://169.254.169.254/latest",
                    "secret_env": "TESSERA_HOOK_SECRET_ENGINE_TEST",
                }
            }
        ],
    )
    rig.change(rig.items(1))
    rig.engine.dispatch(TENANT)
    assert rig.engine.work(TENANT).statuses == {"dead": 1}  # retrying cannot help
    [dead] = rig.runs()
    assert dead.attempts == 1 and "internal address" in dead.error


def test_create_run_reports_whether_it_made_the_run(service):
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    with rig.backend.begin_tenant(TENANT) as conn:
        made = create_run(conn, rig.schema, workflow="bump", cause="manual", dedupe="k")
        again = create_run(conn, rig.schema, workflow="bump", cause="manual", dedupe="k")
        runs = system_table(rig.schema, RUNS)
        count = conn.execute(select(func.count()).select_from(runs)).scalar()
    assert made is not None and again is None and count == 1


def test_a_one_step_run_costs_two_transactions(service):
    """Claim (with the steps already done), then the step with its effect, its record
    and the run's end. Each further statement per run is paid 10,000 times over in the
    benchmark, so the count is pinned here."""
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    rig.change(rig.items(1))
    rig.engine.dispatch(TENANT)
    engine = rig.backend.tenant_engine(TENANT)
    statements: list[str] = []
    begins: list[int] = []

    def on_statement(conn, cursor, sql, *args: Any) -> None:
        if not sql.lstrip().upper().startswith(("BEGIN", "PRAGMA", "SET")):
            statements.append(sql)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "begin", lambda conn: begins.append(1))
    try:
        assert rig.engine.work(TENANT).runs == 1
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    # Two transactions for the run, and a last claim that finds nothing more to do.
    assert len(begins) == 3
    # claim: due, queued, done steps · step: read the record, update it, its outbox
    # event, the step row, the run's end · the empty claim: due, queued.
    assert len(statements) == 10, "\n".join(statements)


def test_concurrent_drains_claim_each_run_once(service):
    """Four threads drain one tenant at once: every run is claimed by exactly one of
    them (SKIP LOCKED on PostgreSQL, the single writer on SQLite)."""
    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    rig.change(rig.items(24))
    rig.engine.dispatch(TENANT)
    with ThreadPoolExecutor(4) as pool:
        drained = list(pool.map(lambda _: rig.engine.work(TENANT), range(4)))
    assert sum(d.runs for d in drained) == 24
    assert rig.bumped() == [1] * 24
    assert {(r.status, r.attempts) for r in rig.runs()} == {("succeeded", 1)}


def test_runs_carry_the_request_id_of_the_write_that_caused_them(service):
    import logging

    from runtime.observability import logs

    rig = Rig(service, [{"score": {"field": "bumped", "add": "1"}}])
    ids = rig.items(1)
    api, _ = rig.apis.get(TENANT)
    mutation = "mutation($i: ID!) { updateItem(id: $i, input: {n: 5}) { id } }"
    request = Request(TENANT, Principal.system(TENANT), mutation, {"i": ids[0]}, request_id="req-7")
    assert "errors" not in json.loads(run(api, rig.backend, request))
    rig.engine.dispatch(TENANT)
    [made] = rig.runs()
    assert made.request_id == "req-7"
    seen: list[str | None] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.name == "runtime.workflows.engine":
                seen.append(logs.request_id.get())

    logger = logging.getLogger("runtime.workflows.engine")
    spy, level = Spy(level=logging.INFO), logger.level
    logger.addHandler(spy)
    logger.setLevel(logging.INFO)
    try:
        assert rig.engine.work(TENANT).statuses == {"succeeded": 1}
    finally:
        logger.removeHandler(spy)
        logger.setLevel(level)
    assert seen and set(seen) == {"req-7"}  # the worker's lines about the run carry it
