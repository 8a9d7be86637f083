"""Time in workflows, without waiting: cron schedules, date-relative triggers and timers
judged by a clock the test moves, in the tenant's time zone. Runs on SQLite and
PostgreSQL, with the engine in-process (no broker).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select

from metadata.validation import validate_data
from runtime.clock import ManualClock
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.settings import WorkflowSettings
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table, system_table
from runtime.storage.workflow_tables import RUNS
from runtime.workflows.engine import Engine

TENANT = "time_t"
UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


METADATA: dict[str, Any] = {
    "objects": {
        "lead": {
            "fields": {
                "name": {"type": "text"},
                "status": {"type": "picklist", "values": ["new", "assigned", "lost"]},
                "assigned_at": {"type": "datetime"},
                "pool": {"type": "picklist", "values": ["public"]},
            }
        },
        "contract": {"fields": {"name": {"type": "text"}, "end_date": {"type": "date"}}},
    },
    "roles": {"boss": {"label": {"en": "Boss", "zh-CN": "老板"}}},
    "workflows": {
        "morning_digest": {
            "trigger": {"schedule": "0 9 * * 1-5"},
            "actions": [{"notify": {"to": {"role": "boss"}, "message": "Good morning"}}],
        },
        "contract_due": {
            "object": "contract",
            "trigger": {"at": {"field": "end_date", "offset": "0d"}},
            "actions": [{"update": {"name": "name & ' (due)'"}}],
        },
        "reclaim": {
            "object": "lead",
            "trigger": {
                "at": {"field": "assigned_at", "offset": "3d"},
                "condition": "status = 'assigned'",
            },
            "actions": [{"pool": {"field": "pool", "into": "public"}}],
        },
    },
}


class Nobody:
    """A tenant without members (the digest is addressed to an empty role)."""

    def members(self, tenant: str) -> list[Any]:
        return []


class Rig:
    def __init__(self, service, start: dt.datetime, timezone: str = "Asia/Shanghai") -> None:
        self.service, self.backend = service, service.backend
        service.create_tenant(TENANT, timezone=timezone)
        service.apply(TENANT, validate_data(METADATA))
        self.apis = ActiveApis(service, SchemaCache())
        self.clock = ManualClock(start)
        self.engine = Engine(
            service,
            self.apis.models,
            Nobody(),  # type: ignore[arg-type]
            WorkflowSettings(broker_url="memory://"),
            lambda tenant, countdown: None,
            clock=self.clock,
        )
        self.schema = self.backend.schema(TENANT)
        self.model = service.active(TENANT)[1].model

    def insert(self, obj: str, records: list[dict[str, Any]]) -> list[Any]:
        with self.backend.begin_tenant(TENANT) as conn:
            return insert_records(conn, self.model, obj, records, schema=self.schema)

    def runs(self, workflow: str) -> list[Any]:
        runs = system_table(self.schema, RUNS)
        with self.backend.read_tenant(TENANT) as conn:
            return conn.execute(
                select(runs).where(runs.c.workflow == workflow).order_by(runs.c.created_at)
            ).all()

    def rows(self, obj: str) -> list[dict[str, Any]]:
        table = build_table(self.model, obj, schema=self.schema, dialect=self.backend.dialect)
        with self.backend.read_tenant(TENANT) as conn:
            return [dict(r._mapping) for r in conn.execute(select(table))]

    def at(self, moment: str) -> int:
        """Move the clock and do what a beat tick does, for this test's tenant only (the
        PostgreSQL database is shared with tests running beside this one)."""
        now = _at(moment)
        self.clock.set(now)
        self.engine.dispatch(TENANT)
        return self.engine.fire_schedules(TENANT, now) + self.engine.scan_timers(TENANT, now)

    def drain(self) -> None:
        while self.engine.work(TENANT).runs:
            pass


def test_cron_fires_at_the_tenants_wall_clock_time(service):
    # 09:00 in Shanghai is 01:00 UTC. Monday 2026-11-30.
    rig = Rig(service, _at("2026-11-30T00:30:00+00:00"))
    rig.at("2026-11-30T00:30:00+00:00")  # the schedule starts counting now
    assert rig.runs("morning_digest") == []
    rig.at("2026-11-30T08:59:00+08:00")
    assert rig.runs("morning_digest") == []
    rig.at("2026-11-30T09:00:00+08:00")
    [run] = rig.runs("morning_digest")
    assert json.loads(run.payload)["local"] == "2026-11-30T09:00:00+08:00"
    rig.at("2026-11-30T09:00:30+08:00")  # the same minute again: no second run
    assert len(rig.runs("morning_digest")) == 1
    # Nobody ran the beat from Tuesday to Saturday: the missed mornings fire once, for
    # the last one (Friday), not once each.
    rig.at("2026-12-05T12:00:00+08:00")
    runs = rig.runs("morning_digest")
    assert [json.loads(r.payload)["local"] for r in runs] == [
        "2026-11-30T09:00:00+08:00",
        "2026-12-04T09:00:00+08:00",
    ]
    rig.at("2026-12-06T09:00:00+08:00")  # a Sunday: 1-5 is Monday to Friday
    assert len(rig.runs("morning_digest")) == 2
    rig.drain()
    assert [r.status for r in rig.runs("morning_digest")] == ["succeeded", "succeeded"]


def test_a_date_trigger_fires_when_the_day_begins_where_the_tenant_is(service):
    rig = Rig(service, _at("2026-12-01T12:00:00+00:00"))
    [contract] = rig.insert("contract", [{"name": "C-1", "end_date": "2026-12-02"}])
    # 2026-12-02 begins in Shanghai at 16:00 UTC on the 1st; UTC's date would wait
    # eight more hours.
    rig.at("2026-12-01T15:59:00+00:00")
    assert rig.runs("contract_due") == []
    rig.at("2026-12-01T16:00:00+00:00")
    [run] = rig.runs("contract_due")
    assert str(run.record_id) == str(contract)
    rig.at("2026-12-01T16:05:00+00:00")
    assert len(rig.runs("contract_due")) == 1  # fired once
    rig.drain()
    assert [r["name"] for r in rig.rows("contract")] == ["C-1 (due)"]


def test_a_utc_tenant_gets_utc_days(service):
    rig = Rig(service, _at("2026-12-01T12:00:00+00:00"), timezone="UTC")
    rig.insert("contract", [{"name": "C-1", "end_date": "2026-12-02"}])
    rig.at("2026-12-01T23:59:00+00:00")
    assert rig.runs("contract_due") == []
    rig.at("2026-12-02T00:00:00+00:00")
    assert len(rig.runs("contract_due")) == 1


def test_thousands_of_due_records_all_fire_and_none_twice(service):
    """1,200 leads fall due at once and 400 of them do not meet the condition. A scan
    that took a fixed batch of the oldest due records (and judged the condition after
    the limit) once reclaimed 610 of 1,200 and then stalled for good."""
    start = _at("2026-12-01T00:00:00+00:00")
    rig = Rig(service, start)
    leads = []
    for i in range(1200):
        leads.append(
            {
                "name": f"L{i:04d}",
                "status": "lost" if i % 3 == 0 else "assigned",
                "assigned_at": (start + dt.timedelta(seconds=i)).isoformat(),
            }
        )
    rig.insert("lead", leads)
    rig.at("2026-12-02T00:00:00+00:00")  # a day later: none is three days old yet
    assert rig.runs("reclaim") == []
    rig.at("2026-12-04T01:00:00+00:00")  # all 1,200 are due now
    assert len(rig.runs("reclaim")) == 800
    rig.at("2026-12-04T01:00:02+00:00")
    assert len(rig.runs("reclaim")) == 800  # nothing is made twice, nothing re-read
    rig.drain()
    rows = rig.rows("lead")
    assert sum(r["pool"] == "public" for r in rows) == 800
    assert all(r["pool"] is None for r in rows if r["status"] == "lost")
    # A lost lead that becomes assigned again, with its old (past) date, still fires:
    # records changed since the last scan are looked at again.
    lost = next(r for r in rows if r["status"] == "lost")
    table = build_table(rig.model, "lead", schema=rig.schema, dialect=rig.backend.dialect)
    with rig.backend.begin_tenant(TENANT) as conn:
        conn.execute(
            table.update()
            .where(table.c.id == lost["id"])
            .values(status="assigned", updated_at=dt.datetime.now(UTC))
        )
    rig.at("2026-12-04T01:00:04+00:00")
    assert len(rig.runs("reclaim")) == 801


def test_the_engine_runs_on_the_compiled_model_without_any_graphql_schema(service, monkeypatch):
    """Workers read tables and typed expressions per metadata hash (runtime.model): a
    scan, a run and its update action never build a GraphQL schema."""
    import runtime.graphql.cache

    def refused(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the workflow engine built a GraphQL schema")

    monkeypatch.setattr(runtime.graphql.cache, "build_schema", refused)
    rig = Rig(service, _at("2026-12-01T12:00:00+00:00"))
    rig.insert("contract", [{"name": "C-1", "end_date": "2026-12-02"}])
    rig.at("2026-12-01T16:00:00+00:00")
    assert len(rig.runs("contract_due")) == 1
    rig.drain()
    assert [r["name"] for r in rig.rows("contract")] == ["C-1 (due)"]
