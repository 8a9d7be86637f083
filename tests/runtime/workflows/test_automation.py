"""The automation shapes of issue 18, judged by a clock the test moves, with the engine
in-process on SQLite and PostgreSQL: related-record actions, time triggers on
formulas and system fields, repeats, catch-up, schedules over records (and a beat that
stops mid-way), assignment by weight, capacity and load, and approvals that time out in
working days. The end-to-end versions with a real worker are in test_automation_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from metadata.validation import validate_data
from runtime.clock import ManualClock
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.security.accounts import MemberInfo, UserInfo
from runtime.settings import WorkflowSettings
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table, system_table
from runtime.storage.workflow_tables import APPROVAL_TASKS, APPROVALS, RUNS
from runtime.workflows import approvals as flow_approvals
from runtime.workflows import runs as flow_runs
from runtime.workflows.absences import set_away
from runtime.workflows.directory import Directory
from runtime.workflows.engine import Engine

TENANT = "auto_t"
UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


METADATA: dict[str, Any] = {
    "objects": {
        "lead": {
            "fields": {
                "name": {"type": "text"},
                "status": {"type": "picklist", "values": ["assigned", "contacted", "won"]},
                "pool": {"type": "picklist", "values": ["public"]},
                "assigned_at": {"type": "datetime"},
                "last_activity": {"type": "datetime"},
                "idle_since": {
                    "type": "formula",
                    "returns": "datetime",
                    "expression": "BLANKVALUE(last_activity, assigned_at)",
                },
                "latest_touch": {
                    "type": "rollup",
                    "from": "activity.lead",
                    "function": "max",
                    "field": "touched_at",
                },
                "chased": {"type": "integer"},
            }
        },
        "activity": {
            "fields": {
                "subject": {"type": "text"},
                "lead": {"type": "lookup", "to": "lead", "related_name": "activities"},
                "done": {"type": "boolean"},
                "touched_at": {"type": "datetime"},
            }
        },
        "payment": {
            "fields": {
                "name": {"type": "text"},
                "due_date": {"type": "date"},
                "status": {"type": "picklist", "values": ["pending", "paid"]},
                "reminders": {"type": "integer"},
            }
        },
        "account": {
            "fields": {
                "name": {"type": "text"},
                "tier": {"type": "picklist", "values": ["key", "normal"]},
            }
        },
        "task": {
            "fields": {
                "subject": {"type": "text"},
                "account": {"type": "lookup", "to": "account", "related_name": "tasks"},
            }
        },
        "quote": {
            "fields": {
                "name": {"type": "text"},
                "discount": {"type": "percent"},
                "status": {"type": "picklist", "values": ["draft", "approved", "rejected"]},
            }
        },
    },
    "roles": {
        "director": {},
        "manager": {"reports_to": "director"},
        "rep": {"reports_to": "manager"},
    },
    "calendars": {"standard": {"holidays": ["2027-04-05"], "workdays": ["2027-04-11"]}},
    "workflows": {
        "follow_up": {
            "object": "activity",
            "trigger": {"on": ["created"]},
            "actions": [
                {
                    "update_parent": {
                        "on": "lead",
                        "values": {"last_activity": "NOW()", "status": "'contacted'"},
                    }
                },
            ],
        },
        "close_activities": {
            "object": "lead",
            "trigger": {
                "on": ["updated"],
                "condition": "ISCHANGED(status) AND status = 'contacted'",
            },
            "actions": [
                {
                    "update_children": {
                        "object": "activity",
                        "via": "lead",
                        "where": "NOT done",
                        "values": {"done": "TRUE"},
                    }
                }
            ],
        },
        "reclaim": {
            "object": "lead",
            "trigger": {
                "at": {"field": "idle_since", "offset": "3d"},
                "condition": "ISBLANK(pool)",
            },
            "actions": [{"pool": {"field": "pool", "into": "public"}}],
        },
        "chase": {
            "object": "lead",
            "trigger": {"at": {"field": "latest_touch", "offset": "1d"}},
            "actions": [{"score": {"field": "chased", "add": "1"}}],
        },
        "stale": {
            "object": "lead",
            "trigger": {"at": {"field": "updated_at", "offset": "30d"}, "catch_up": "skip"},
            "actions": [{"update": {"name": "name & ' (stale)'"}}],
        },
        "remind": {
            "object": "payment",
            "trigger": {
                "at": {"field": "due_date", "offset": "0d"},
                "repeat": {"every": "2d", "times": 3},
                "condition": "status = 'pending'",
            },
            "actions": [{"score": {"field": "reminders", "add": "1"}}],
        },
        "weekly_review": {
            "object": "account",
            "trigger": {"schedule": "0 9 * * 1", "condition": "tier = 'key'"},
            "actions": [
                {
                    "create": {
                        "object": "task",
                        "values": {"subject": "'Review ' & name", "account": "id"},
                    }
                }
            ],
        },
    },
    "approvals": {
        "discount": {
            "object": "quote",
            "steps": [
                {
                    "name": "manager",
                    "approvers": [{"manager": True}],
                    "timeout": {"workdays": 2, "then": "escalate", "to": {"role": "director"}},
                },
                {"name": "director", "when": "discount > 25", "approvers": [{"role": "director"}]},
            ],
            "on_approve": [{"update": {"status": "'approved'"}}],
        }
    },
}


def member(email: str, role: str, *, active: bool = True, manager: Any = None) -> MemberInfo:
    user = UserInfo(uuid.uuid5(uuid.NAMESPACE_DNS, email), email, email, False, active)
    return MemberInfo(TENANT, user, role, (), False, manager)


class Members:
    def __init__(self, members: list[MemberInfo]) -> None:
        self.list = members

    def members(self, tenant: str) -> list[MemberInfo]:
        return self.list


class Rig:
    def __init__(
        self, service, start: dt.datetime, members: list[MemberInfo] = (), **settings
    ) -> None:
        self.service, self.backend = service, service.backend
        service.create_tenant(TENANT)
        service.apply(TENANT, validate_data(METADATA))
        self.apis = ActiveApis(service, SchemaCache())
        self.clock = ManualClock(start)
        self.members = Members(list(members))
        self.settings = WorkflowSettings(broker_url="memory://", **settings)
        self.engine = self.new_engine()
        self.schema = self.backend.schema(TENANT)
        self.model = service.active(TENANT)[1].model

    def new_engine(self) -> Engine:
        return Engine(
            self.service,
            self.apis.models,
            self.members,  # type: ignore[arg-type]
            self.settings,
            lambda tenant, countdown: None,
            clock=self.clock,
        )

    def insert(self, obj: str, records: list[dict[str, Any]]) -> list[Any]:
        with self.backend.begin_tenant(TENANT) as conn:
            return insert_records(conn, self.model, obj, records, schema=self.schema)

    def create(self, obj: str, values: dict[str, Any]) -> Any:
        """Write a record as a person's request does: through the Writer, with its outbox
        event (insert_records writes rows only)."""
        from runtime.records.writer import Writer
        from runtime.security.principal import Principal
        from runtime.security.scope import SqlScope
        from runtime.sql.dialect import dialect_for

        shape, timezone = self.apis.models.shape(TENANT)
        scope = SqlScope(
            shape=shape,
            dialect=dialect_for(self.backend.dialect, self.schema),
            principal=Principal.system(TENANT),
        )
        with self.backend.begin_tenant(TENANT) as conn:
            writer = Writer(scope, conn, shape.objects[obj], self.schema, timezone)
            return writer.insert(values, ["input"])

    def runs(self, workflow: str) -> list[Any]:
        runs = system_table(self.schema, RUNS)
        with self.backend.read_tenant(TENANT) as conn:
            return conn.execute(
                select(runs).where(runs.c.workflow == workflow).order_by(runs.c.created_at)
            ).all()

    def rows(self, obj: str) -> list[dict[str, Any]]:
        table = build_table(self.model, obj, schema=self.schema, dialect=self.backend.dialect)
        with self.backend.read_tenant(TENANT) as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    select(table).order_by(table.c.name if "name" in table.c else table.c.id)
                )
            ]

    def at(self, moment: str) -> None:
        """Move the clock, do what a beat tick does for this tenant, and run what is ready."""
        now = _at(moment)
        self.clock.set(now)
        self.engine.dispatch(TENANT)
        self.engine.fire_schedules(TENANT, now)
        self.engine.scan_timers(TENANT, now)
        self.engine.approval_timeouts(TENANT, now)
        self.drain()

    def drain(self) -> None:
        while self.engine.dispatch(TENANT) or self.engine.work(TENANT).runs:
            pass


def test_a_follow_up_moves_its_lead_and_the_pool_takes_leads_left_alone(service):
    rig = Rig(service, _at("2027-03-01T10:00:00+00:00"))
    a, b = rig.insert(
        "lead",
        [
            {"name": "A", "status": "assigned", "assigned_at": "2027-03-01T10:00:00+00:00"},
            {"name": "B", "status": "assigned", "assigned_at": "2027-03-01T10:00:00+00:00"},
        ],
    )
    rig.at("2027-03-03T10:00:00+00:00")
    # A follow-up on A, written as a person writes it (the outbox carries it).
    rig.insert("activity", [{"subject": "earlier", "lead": a, "done": False}])
    rig.create("activity", {"subject": "call", "lead": a, "done": False})
    rig.at("2027-03-03T10:00:05+00:00")
    leads = {r["name"]: r for r in rig.rows("lead")}
    assert leads["A"]["last_activity"] == _at("2027-03-03T10:00:05+00:00")
    assert leads["A"]["status"] == "contacted"
    # The lead's change ran its own workflow, which closed every one of its activities.
    assert [r["done"] for r in rig.rows("activity")] == [True, True]
    rig.at("2027-03-04T10:00:01+00:00")  # three days after assignment
    leads = {r["name"]: r for r in rig.rows("lead")}
    assert leads["B"]["pool"] == "public" and leads["A"]["pool"] is None
    rig.at("2027-03-06T10:00:06+00:00")  # three days after A's last follow-up
    assert {r["name"]: r["pool"] for r in rig.rows("lead")} == {"A": "public", "B": "public"}
    assert len(rig.runs("reclaim")) == 2
    assert str(b) in {str(r.record_id) for r in rig.runs("reclaim")}


def test_a_repeating_reminder_fires_exactly_n_times_while_its_condition_holds(service):
    rig = Rig(service, _at("2027-03-01T00:00:00+00:00"))
    rig.insert(
        "payment",
        [
            {"name": "P1", "due_date": "2027-03-02", "status": "pending"},
            {"name": "P2", "due_date": "2027-03-02", "status": "pending"},
        ],
    )
    seen = []
    for day in range(1, 12):
        rig.at(f"2027-03-{day:02d}T08:00:00+00:00")
        if day == 3:  # P2 is paid after its first reminder
            table = build_table(
                rig.model, "payment", schema=rig.schema, dialect=rig.backend.dialect
            )
            with rig.backend.begin_tenant(TENANT) as conn:
                conn.execute(
                    table.update()
                    .where(table.c.name == "P2")
                    .values(status="paid", updated_at=dt.datetime.now(UTC))
                )
        seen.append({r["name"]: r["reminders"] for r in rig.rows("payment")})
    # Due on the 2nd: reminded on the 2nd, 4th and 6th, then never again.
    assert [s["P1"] for s in seen] == [None, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3]
    assert seen[-1]["P2"] == 1
    runs = rig.runs("remind")
    assert sorted(json.loads(r.payload)["occurrence"] for r in runs) == [1, 1, 2, 3]


def test_catch_up_skip_leaves_what_was_overdue_when_the_rule_started(service):
    rig = Rig(service, _at("2027-03-01T00:00:00+00:00"))
    rig.insert("lead", [{"name": "Old"}])  # updated_at: now, on the wall clock
    wall = dt.datetime.now(UTC)
    # The rule starts 40 days after the lead was last touched: it stays untouched.
    rig.at((wall + dt.timedelta(days=40)).isoformat())
    assert rig.runs("stale") == []
    [new] = rig.insert("lead", [{"name": "New"}])
    table = build_table(rig.model, "lead", schema=rig.schema, dialect=rig.backend.dialect)
    with rig.backend.begin_tenant(TENANT) as conn:  # last touched after the rule started
        conn.execute(
            table.update().where(table.c.id == new).values(updated_at=wall + dt.timedelta(days=45))
        )
    rig.at((wall + dt.timedelta(days=74)).isoformat())
    assert rig.runs("stale") == []
    rig.at((wall + dt.timedelta(days=76)).isoformat())
    assert [r["name"] for r in rig.rows("lead")] == ["New (stale)", "Old"]


def test_a_schedule_creates_one_task_per_key_account_once_even_when_the_beat_stops_mid_way(
    service, monkeypatch
):
    rig = Rig(service, _at("2027-03-01T08:00:00+00:00"), batch=2)
    rig.insert(
        "account",
        [{"name": f"K{i}", "tier": "key"} for i in range(5)] + [{"name": "N", "tier": "normal"}],
    )
    rig.at("2027-03-01T08:00:00+00:00")  # the schedule starts counting
    pages = []
    real = flow_runs.create_runs

    def dying(*args, **kwargs):
        if len(pages) == 1:  # the first page committed; the beat dies in the second
            raise RuntimeError("the beat was killed")
        pages.append(1)
        return real(*args, **kwargs)

    import runtime.workflows.timers

    monkeypatch.setattr(runtime.workflows.timers, "create_runs", dying)
    with pytest.raises(RuntimeError):
        rig.engine.fire_schedules(TENANT, _at("2027-03-01T09:00:00+00:00"))
    assert len(rig.runs("weekly_review")) == 2
    monkeypatch.setattr(runtime.workflows.timers, "create_runs", real)
    rig.engine = rig.new_engine()  # a new beat
    rig.at("2027-03-01T09:00:30+00:00")
    rig.at("2027-03-01T09:05:00+00:00")
    tasks = sorted(r["subject"] for r in rig.rows("task"))
    assert tasks == [f"Review K{i}" for i in range(5)]
    rig.at("2027-03-08T09:00:00+00:00")  # next Monday: once more
    assert len(rig.rows("task")) == 10


def test_assignment_by_weight_capacity_and_load_skips_inactive_and_away_members(service):
    ann, bob, cat, dan = (
        member("ann@x.cn", "rep"),
        member("bob@x.cn", "rep"),
        member("cat@x.cn", "rep"),
        member("dan@x.cn", "rep", active=False),
    )
    rig = Rig(service, _at("2027-03-01T08:00:00+00:00"), [ann, bob, cat, dan])
    from runtime.workflows.actions import choose_owner
    from runtime.workflows.run_scope import RunScope

    shape, timezone = rig.apis.models.shape(TENANT)
    with rig.backend.begin_tenant(TENANT) as conn:
        set_away(
            conn,
            rig.schema,
            cat.user.id,
            _at("2027-02-28T00:00:00+00:00"),
            _at("2027-03-10T00:00:00+00:00"),
            None,
        )

    def assign(options: dict[str, Any], n: int) -> list[str]:
        out = []
        for _ in range(n):
            with rig.backend.begin_tenant(TENANT) as conn:
                run = type(
                    "Run", (), {"workflow": "w", "actor": None, "id": uuid.uuid4(), "depth": 0}
                )
                rs = RunScope(
                    TENANT,
                    shape,
                    rig.schema,
                    rig.backend.dialect,
                    timezone,
                    run,
                    lambda: rig.members.list,
                    now=rig.clock.now(),
                )
                chosen = choose_owner(
                    conn, rs, 0, options, "lead", {"id": None}, rs.scope(conn, {})
                )
                insert_records(
                    conn,
                    rig.model,
                    "lead",
                    [{"name": "x", "owner": chosen.user.id}],
                    schema=rig.schema,
                )
                out.append(chosen.user.email.split("@")[0])
        return out

    # Weighted: ann takes two turns for bob's one; cat (away) and dan (inactive) none.
    assert assign({"role": "rep", "weights": {"ann@x.cn": 2}}, 6) == [
        "ann",
        "ann",
        "bob",
        "ann",
        "ann",
        "bob",
    ]
    # ann holds 4 leads, bob 2: the least loaded is bob until they are level.
    assert assign({"strategy": "least_loaded", "role": "rep"}, 3) == ["bob", "bob", "ann"]
    # Capacity 5: ann (5) is full, bob (4) takes one, then nobody is left.
    assert assign({"role": "rep", "capacity": 5}, 1) == ["bob"]
    from runtime.records.values import ActionError

    with pytest.raises(ActionError, match="capacity"):
        assign({"role": "rep", "capacity": 5}, 1)


def test_an_approval_escalates_after_two_working_days_across_a_holiday(service):
    boss = member("boss@x.cn", "director")
    mgr = member("mgr@x.cn", "manager")
    rep = member("rep@x.cn", "rep", manager=mgr.user.id)
    rig = Rig(service, _at("2027-04-02T10:00:00+00:00"), [boss, mgr, rep])
    [quote] = rig.insert(
        "quote", [{"name": "Q", "discount": 20, "status": "draft", "owner": rep.user.id}]
    )
    directory = Directory(rig.members.list)
    with rig.backend.begin_tenant(TENANT) as conn:
        approval = flow_approvals.submit(
            conn,
            rig.model,
            rig.schema,
            directory,
            "discount",
            quote,
            rep.user.id,
            comment=None,
            today=dt.date(2027, 4, 2),
            now=rig.clock.now(),
        )

    def tasks() -> list[tuple[str, Any, Any]]:
        table = system_table(rig.schema, APPROVAL_TASKS)
        with rig.backend.read_tenant(TENANT) as conn:
            rows = conn.execute(
                select(table).where(table.c.approval_id == approval).order_by(table.c.created_at)
            ).all()
        return [(r.status, r.user_id, r.role) for r in rows]

    # Friday 10:00; Monday the 5th is a holiday: two working days end Wednesday 10:00
    # (by calendar days it would have been Sunday; by weekdays alone, Tuesday).
    rig.at("2027-04-06T11:00:00+00:00")
    assert tasks() == [("pending", mgr.user.id, None)]
    rig.at("2027-04-07T10:00:01+00:00")
    assert tasks() == [("escalated", mgr.user.id, None), ("pending", None, "director")]
    with rig.backend.begin_tenant(TENANT) as conn:
        table = system_table(rig.schema, APPROVAL_TASKS)
        task = conn.execute(select(table.c.id).where(table.c.status == "pending")).scalar()
        flow_approvals.decide(
            conn, rig.model, rig.schema, directory, task, boss.user.id, "director", "approved", None
        )
    rig.drain()
    # The director step applies above 25% only: 20% is approved after the escalation.
    with rig.backend.read_tenant(TENANT) as conn:
        status = conn.execute(select(system_table(rig.schema, APPROVALS).c.status)).scalar()
    assert status == "approved"
    assert [r["status"] for r in rig.rows("quote")] == ["approved"]


def test_a_resubmission_shows_the_approver_what_changed_and_delegates_cover_absences(service):
    boss = member("boss@x.cn", "director")
    mgr = member("mgr@x.cn", "manager")
    rep = member("rep@x.cn", "rep", manager=mgr.user.id)
    rig = Rig(service, _at("2027-04-02T10:00:00+00:00"), [boss, mgr, rep])
    [quote] = rig.insert(
        "quote", [{"name": "Q", "discount": 30, "status": "draft", "owner": rep.user.id}]
    )
    directory = Directory(rig.members.list)
    approvals, tasks = system_table(rig.schema, APPROVALS), system_table(rig.schema, APPROVAL_TASKS)

    def submit() -> Any:
        with rig.backend.begin_tenant(TENANT) as conn:
            return flow_approvals.submit(
                conn,
                rig.model,
                rig.schema,
                directory,
                "discount",
                quote,
                rep.user.id,
                comment=None,
                today=dt.date(2027, 4, 2),
                now=rig.clock.now(),
            )

    first = submit()
    with rig.backend.begin_tenant(TENANT) as conn:
        task = conn.execute(select(tasks.c.id).where(tasks.c.approval_id == first)).scalar()
        flow_approvals.decide(
            conn,
            rig.model,
            rig.schema,
            directory,
            task,
            mgr.user.id,
            "manager",
            "rejected",
            "too deep",
        )
        table = build_table(rig.model, "quote", schema=rig.schema, dialect=rig.backend.dialect)
        conn.execute(table.update().values(discount=22))
        # The manager is away this week; the director decides for them.
        set_away(
            conn,
            rig.schema,
            mgr.user.id,
            _at("2027-04-01T00:00:00+00:00"),
            _at("2027-04-09T00:00:00+00:00"),
            boss.user.id,
        )
    second = submit()
    with rig.backend.read_tenant(TENANT) as conn:
        changes = conn.execute(select(approvals.c.changes).where(approvals.c.id == second)).scalar()
        [pending] = conn.execute(select(tasks).where(tasks.c.approval_id == second)).all()
    assert json.loads(changes) == [{"field": "discount", "before": "30", "after": "22"}]
    assert (pending.user_id, pending.delegated_from) == (boss.user.id, mgr.user.id)


def test_a_tenants_tick_runs_alone_across_threads_and_processes(service):
    """A long tick (a big due batch) is not joined by the next ones: another thread of
    the worker, or on PostgreSQL another worker process (here a second engine with its
    own locks), finds the tenant busy and skips it."""
    import threading

    rig = Rig(service, _at("2027-03-01T08:00:00+00:00"))
    other = rig.new_engine()
    seen: list[bool] = []
    with rig.engine.ticking(TENANT) as mine:
        assert mine
        thread = threading.Thread(
            target=lambda: seen.append(rig.engine.ticking(TENANT).__enter__())
        )
        thread.start()
        thread.join()
        if rig.backend.dialect == "postgresql":
            with other.ticking(TENANT) as theirs:
                assert theirs is False
    assert seen == [False]
    with other.ticking(TENANT) as theirs:  # released: the next tick takes it
        assert theirs


def test_a_roll_up_moment_fires_a_day_after_the_latest_follow_up(service):
    rig = Rig(service, _at("2027-03-01T10:00:00+00:00"))
    [lead] = rig.insert("lead", [{"name": "R", "status": "assigned"}])
    rig.insert(
        "activity",
        [
            {"subject": "a", "lead": lead, "done": True, "touched_at": "2027-03-01T09:00:00+00:00"},
            {"subject": "b", "lead": lead, "done": True, "touched_at": "2027-03-02T09:00:00+00:00"},
        ],
    )
    rig.at("2027-03-02T09:30:00+00:00")  # a day after the first touch, not the latest
    assert rig.runs("chase") == []
    rig.at("2027-03-03T09:00:01+00:00")
    assert [r["chased"] for r in rig.rows("lead")] == [1]
    [run] = rig.runs("chase")
    assert json.loads(run.payload)["moment"].startswith("2027-03-02T09:00:00")


def test_a_beat_ticks_only_the_tenants_its_settings_name(service):
    rig = Rig(service, _at("2027-03-01T08:00:00+00:00"), tenants="other*, auto_*")
    assert TENANT in rig.engine.tenants()
    rig.settings = WorkflowSettings(broker_url="memory://", tenants="other*")
    assert TENANT not in rig.new_engine().tenants()


def test_first_round_robin_turns_taken_at_once_all_succeed(service):
    """Eight runs take their first turn of a fresh round-robin together: each must find
    the cursor row to lock (two once both inserted it, and one run failed)."""
    import threading

    reps = [member(f"r{i}@x.cn", "rep") for i in range(4)]
    rig = Rig(service, _at("2027-03-01T08:00:00+00:00"), reps)
    from runtime.workflows.actions import choose_owner
    from runtime.workflows.run_scope import RunScope

    shape, timezone = rig.apis.models.shape(TENANT)
    start = threading.Barrier(8)
    chosen: list[str] = []
    errors: list[Exception] = []

    def one() -> None:
        run = type("Run", (), {"workflow": "w", "actor": None, "id": uuid.uuid4(), "depth": 0})
        try:
            start.wait()
            with rig.backend.begin_tenant(TENANT) as conn:
                rs = RunScope(
                    TENANT,
                    shape,
                    rig.schema,
                    rig.backend.dialect,
                    timezone,
                    run,
                    lambda: rig.members.list,
                    now=rig.clock.now(),
                )
                who = choose_owner(
                    conn, rs, 0, {"role": "rep"}, "lead", {"id": None}, rs.scope(conn, {})
                )
                chosen.append(who.user.email)
        except Exception as exc:  # collected: the test says which
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # The turns went round twice: each rep twice (the cursor row is locked per turn).
    assert sorted(chosen) == sorted([m.user.email for m in reps] * 2)
