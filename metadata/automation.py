"""Automation metadata: workflows (a trigger and its actions) and approval processes.

Like objects and permissions these are part of a tenant's metadata, so they are versioned,
diffed (metadata-only: no table changes) and shipped in packs. A workflow is kept close to
its document form: the trigger is one of five kinds and each action is a one-key mapping
(``update``, ``create``, ``assign`` ...), whose options are checked by the JSON Schema and,
for expressions, against the model (metadata/validation/automation.py). ``runtime/workflows``
executes them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metadata.calendar import DEFAULT_CALENDAR, STANDARD, Calendar, build_calendar
from metadata.conversions import Conversion, build_conversions
from metadata.text import Text

#: Record events a workflow can react to.
RECORD_EVENTS = ("created", "updated", "deleted", "restored")
#: Trigger kinds: a record event, a time relative to a date field, a cron schedule, a
#: person (GraphQL mutation or button) or an inbound webhook.
TRIGGER_KINDS = ("record", "time", "schedule", "manual", "webhook")
#: Action kinds, each written as a one-key mapping in ``actions``.
ACTION_KINDS = (
    "update",
    "create",
    "assign",
    "pool",
    "score",
    "tags",
    "notify",
    "email",
    "webhook",
    "approval",
    "update_parent",
    "update_children",
)
#: Actions that may run before the save, inside the write's transaction.
BEFORE_SAVE_ACTIONS = ("update", "score", "tags")
#: Approval step modes: ``any`` approver decides for the step; ``all`` must approve
#: (parallel approval).
STEP_MODES = ("any", "all")
#: What happens when an approval step's timeout passes.
TIMEOUT_OUTCOMES = ("escalate", "approve", "reject")
#: Who a workflow's record writes act as: the platform, or the person who caused the run
#: (their permissions apply; a run with no such person acts as the platform).
RUN_AS = ("system", "actor")
#: What a time trigger does with records already past their moment when it starts.
CATCH_UP = ("fire", "skip")

_DURATION = re.compile(r"^(-?)(\d+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: Webhook secrets are read from environment variables with this prefix only, so a
#: tenant admin can never make the server sign with (or reveal) a platform secret such as
#: TESSERA_SECRET_KEY or a database password.
SECRET_ENV_PREFIX = "TESSERA_HOOK_SECRET_"
SECRET_ENV_PATTERN = "^TESSERA_HOOK_SECRET_[A-Z0-9_]+$"


def duration_seconds(text: str) -> int:
    """Return a duration such as ``3d``, ``-30d``, ``12h``, ``15m`` or ``10s`` in seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 3d, -30d, 12h, 15m or 10s")
    sign, amount, unit = match.groups()
    return (-1 if sign else 1) * int(amount) * _UNIT_SECONDS[unit]


def _frozen(value: Any) -> Any:
    """Return ``value`` with its mappings read-only (documents are shared between models)."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _thawed(value: Any) -> Any:
    """Return the plain JSON form of a frozen value."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class Trigger:
    """What starts a workflow."""

    kind: str
    """One of TRIGGER_KINDS."""
    events: tuple[str, ...] = ()
    """record: the events it reacts to."""
    condition: str | None = None
    """record and time: a boolean expression the record must meet (ISCHANGED allowed for
    record triggers, which is how "stage changed to won" is written)."""
    field: str | None = None
    """time: the date or datetime field the moment is relative to."""
    offset: str = "0d"
    """time: the moment relative to ``field``: ``-3d`` is three days before, ``30d`` after."""
    cron: str | None = None
    """schedule: five cron fields (minute hour day month weekday), in UTC."""
    roles: tuple[str, ...] = ()
    """manual: roles (and roles above them) that may start it; empty: anyone who can edit
    the record."""
    label: Text | None = None
    """manual: the button's label."""
    before_save: bool = False
    """record: run the actions inside the write's transaction, before it is saved."""
    secret_env: str | None = None
    """webhook: the environment variable holding the secret callers sign bodies with."""
    repeat_every: str | None = None
    """time: fire again this long after each firing, while the condition holds."""
    repeat_times: int = 1
    """time: at most this many firings per moment (the first included)."""
    catch_up: str = "fire"
    """time: records already past their moment when the workflow starts: fire them once
    now (``fire``), or only fire for moments still to come (``skip``)."""
    access: str = "edit"
    """manual: who may start it on a record: those who can ``edit`` it, or ``read`` it
    (claiming a lead from a public pool)."""
    limit: str | None = None
    """manual: a boolean expression that must hold for the person starting it (COUNT of
    their records: "a rep holds at most 50 leads")."""
    messages: Mapping[str, Text] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    """manual: the refusal shown when ``condition`` or ``limit`` does not hold."""

    @property
    def repeat_seconds(self) -> int:
        return duration_seconds(self.repeat_every) if self.repeat_every else 0

    def _extras(self, out: dict[str, Any]) -> dict[str, Any]:
        if self.condition:
            out["condition"] = self.condition
        if self.kind == "time":
            if self.repeat_every:
                out["repeat"] = {"every": self.repeat_every, "times": self.repeat_times}
            if self.catch_up != "fire":
                out["catch_up"] = self.catch_up
        if self.limit:
            out["limit"] = self.limit
        if self.messages:
            out["messages"] = {k: v.to_json() for k, v in self.messages.items()}
        return out

    def to_json(self) -> dict[str, Any]:
        if self.kind == "record":
            out: dict[str, Any] = {"on": list(self.events)}
            if self.condition:
                out["condition"] = self.condition
            if self.before_save:
                out["before_save"] = True
            return out
        if self.kind == "time":
            return self._extras({"at": {"field": self.field, "offset": self.offset}})
        if self.kind == "schedule":
            return self._extras({"schedule": self.cron})
        if self.kind == "manual":
            manual: dict[str, Any] = {}
            if self.label:
                manual["label"] = self.label.to_json()
            if self.roles:
                manual["roles"] = list(self.roles)
            if self.access != "edit":
                manual["access"] = self.access
            return self._extras({"manual": manual})
        return {"webhook": {"secret_env": self.secret_env}}


@dataclass(frozen=True)
class Action:
    """One step of a workflow: ``kind`` and its options as written."""

    kind: str
    options: Any

    def to_json(self) -> dict[str, Any]:
        return {self.kind: _thawed(self.options)}


@dataclass(frozen=True)
class Workflow:
    """A trigger and the actions it runs, in order."""

    name: str
    label: Text
    object: str | None
    trigger: Trigger
    actions: tuple[Action, ...]
    active: bool = True
    description: Text | None = None
    run_as: str = "system"
    """Whose permissions the record writes go through (RUN_AS)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label.to_json()}
        if self.description:
            out["description"] = self.description.to_json()
        if self.object:
            out["object"] = self.object
        out["active"] = self.active
        if self.run_as != "system":
            out["run_as"] = self.run_as
        out["trigger"] = self.trigger.to_json()
        out["actions"] = [a.to_json() for a in self.actions]
        return out


@dataclass(frozen=True)
class Approver:
    """Who decides an approval step: a user (by e-mail), a role's members, or the
    record owner's manager (the members of the role above the owner's)."""

    user: str | None = None
    role: str | None = None
    manager: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.user:
            return {"user": self.user}
        if self.role:
            return {"role": self.role}
        return {"manager": True}


@dataclass(frozen=True)
class Timeout:
    """How long an approval step's tasks wait, and what happens then."""

    after: str | None = None
    """A duration such as 2d or 12h."""
    workdays: int | None = None
    """Working days by the tenant's calendar (holidays and 调休 counted)."""
    then: str = "escalate"
    """One of TIMEOUT_OUTCOMES."""
    to: Approver | None = None
    """escalate: who takes over; None: each approver's manager."""

    def due(self, start: Any, calendar: Any, timezone: Any) -> Any:
        """The moment a step opened at ``start`` times out (working days keep the local
        time of day: submitted Friday 15:00, two working days later is Tuesday 15:00)."""
        import datetime as dt

        if self.workdays is not None:
            local = start.astimezone(timezone)
            day = calendar.add_workdays(local.date(), self.workdays)
            moved = dt.datetime.combine(day, local.timetz())
            return moved.astimezone(dt.UTC)
        return start + dt.timedelta(seconds=duration_seconds(self.after or "0s"))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = (
            {"workdays": self.workdays} if self.workdays is not None else {"after": self.after}
        )
        out["then"] = self.then
        if self.to is not None:
            out["to"] = self.to.to_json()
        return out


@dataclass(frozen=True)
class ApprovalStep:
    name: str
    label: Text
    approvers: tuple[Approver, ...]
    mode: str = "any"
    when: str | None = None
    """A boolean expression: the step is skipped for records that do not meet it."""
    timeout: Timeout | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label.to_json(),
            "approvers": [a.to_json() for a in self.approvers],
            "mode": self.mode,
        }
        if self.when:
            out["when"] = self.when
        if self.timeout:
            out["timeout"] = self.timeout.to_json()
        return out


@dataclass(frozen=True)
class ApprovalProcess:
    """Steps a record goes through, one after another, and what happens after each outcome."""

    name: str
    label: Text
    object: str
    steps: tuple[ApprovalStep, ...]
    entry: str | None = None
    """A boolean expression a record must meet to be submitted."""
    lock: bool = True
    """While pending, the record cannot be changed (but by tenant admins)."""
    on_approve: tuple[Action, ...] = ()
    on_reject: tuple[Action, ...] = ()
    on_recall: tuple[Action, ...] = ()

    def outcome_actions(self, outcome: str) -> tuple[Action, ...]:
        return {"approved": self.on_approve, "rejected": self.on_reject}.get(
            outcome, self.on_recall
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label.to_json(), "object": self.object}
        if self.entry:
            out["entry"] = self.entry
        out["lock"] = self.lock
        out["steps"] = [s.to_json() for s in self.steps]
        for key in ("on_approve", "on_reject", "on_recall"):
            actions = getattr(self, key)
            if actions:
                out[key] = [a.to_json() for a in actions]
        return out


#: The metadata sections automation comes from.
SECTIONS = ("workflows", "approvals", "calendars", "conversions")


@dataclass(frozen=True)
class Automation:
    """All workflows and approval processes of a tenant."""

    workflows: Mapping[str, Workflow] = field(default_factory=lambda: MappingProxyType({}))
    approvals: Mapping[str, ApprovalProcess] = field(default_factory=lambda: MappingProxyType({}))
    calendars: Mapping[str, Calendar] = field(default_factory=lambda: MappingProxyType({}))
    conversions: Mapping[str, Conversion] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.workflows or self.approvals or self.calendars or self.conversions)

    @property
    def calendar(self) -> Calendar:
        """The tenant's working-day calendar: the one named ``standard``, or Monday to
        Friday with no holidays."""
        return self.calendars.get(STANDARD, DEFAULT_CALENDAR)

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in SECTIONS:
            items = getattr(self, key)
            if items:
                out[key] = {name: items[name].to_json() for name in sorted(items)}
        return out

    def triggered_by(self, kind: str) -> list[Workflow]:
        """Return the active workflows with a ``kind`` trigger, by name."""
        return [w for _, w in sorted(self.workflows.items()) if w.active and w.trigger.kind == kind]

    def locking(self, obj: str) -> bool:
        """Whether any approval process locks records of ``obj`` while pending."""
        return any(p.object == obj and p.lock for p in self.approvals.values())


EMPTY_AUTOMATION = Automation()


def _label(raw: Mapping[str, Any], name: str) -> Text:
    return Text.of(raw.get("label", name.replace("_", " ").capitalize()))


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _trigger_extras(raw: Mapping[str, Any]) -> dict[str, Any]:
    repeat = raw.get("repeat") or {}
    return {
        "condition": raw.get("condition"),
        "repeat_every": repeat.get("every"),
        "repeat_times": int(repeat.get("times", 1)),
        "catch_up": raw.get("catch_up", "fire"),
        "limit": raw.get("limit"),
        "messages": MappingProxyType(
            {k: Text.of(v) for k, v in (raw.get("messages") or {}).items()}
        ),
    }


def build_trigger(raw: Mapping[str, Any]) -> Trigger:
    """Return the trigger of a validated document (its one kind is decided by its keys)."""
    if "on" in raw:
        return Trigger(
            "record",
            events=_names(raw["on"]),
            condition=raw.get("condition"),
            before_save=bool(raw.get("before_save", False)),
        )
    if "at" in raw:
        return Trigger(
            "time",
            field=raw["at"]["field"],
            offset=str(raw["at"].get("offset", "0d")),
            **_trigger_extras(raw),
        )
    if "schedule" in raw:
        return Trigger("schedule", cron=raw["schedule"], **_trigger_extras(raw))
    if "manual" in raw:
        manual = raw["manual"] or {}
        return Trigger(
            "manual",
            roles=_names(manual.get("roles")),
            label=Text.of(manual["label"]) if manual.get("label") else None,
            access=manual.get("access", "edit"),
            **_trigger_extras(raw),
        )
    return Trigger("webhook", secret_env=raw["webhook"]["secret_env"])


def build_actions(raw: Any) -> tuple[Action, ...]:
    out = []
    for item in raw or ():
        [(kind, options)] = item.items()
        out.append(Action(kind, _frozen(options)))
    return tuple(out)


def _approver(raw: Mapping[str, Any]) -> Approver:
    return Approver(user=raw.get("user"), role=raw.get("role"), manager=bool(raw.get("manager")))


def _timeout(raw: Mapping[str, Any] | None) -> Timeout | None:
    if not raw:
        return None
    return Timeout(
        after=raw.get("after"),
        workdays=raw.get("workdays"),
        then=raw.get("then", "escalate"),
        to=_approver(raw["to"]) if raw.get("to") else None,
    )


def build_automation(document: Mapping[str, Any]) -> Automation:
    """Return the automation metadata of a validated (or canonical) document."""
    workflows = {
        name: Workflow(
            name=name,
            label=_label(raw, name),
            object=raw.get("object"),
            trigger=build_trigger(raw["trigger"]),
            actions=build_actions(raw.get("actions")),
            active=bool(raw.get("active", True)),
            description=Text.of(raw["description"]) if raw.get("description") else None,
            run_as=raw.get("run_as", "system"),
        )
        for name, raw in (document.get("workflows") or {}).items()
    }
    approvals = {
        name: ApprovalProcess(
            name=name,
            label=_label(raw, name),
            object=raw["object"],
            steps=tuple(
                ApprovalStep(
                    name=step.get("name") or f"step_{i + 1}",
                    label=_label(step, step.get("name") or f"step_{i + 1}"),
                    approvers=tuple(_approver(a) for a in step["approvers"]),
                    mode=step.get("mode", "any"),
                    when=step.get("when"),
                    timeout=_timeout(step.get("timeout")),
                )
                for i, step in enumerate(raw["steps"])
            ),
            entry=raw.get("entry"),
            lock=bool(raw.get("lock", True)),
            on_approve=build_actions(raw.get("on_approve")),
            on_reject=build_actions(raw.get("on_reject")),
            on_recall=build_actions(raw.get("on_recall")),
        )
        for name, raw in (document.get("approvals") or {}).items()
    }
    calendars = {
        name: build_calendar(name, raw) for name, raw in (document.get("calendars") or {}).items()
    }
    return Automation(
        MappingProxyType(workflows),
        MappingProxyType(approvals),
        MappingProxyType(calendars),
        build_conversions(document),
    )


#: A ``{{ expression }}`` placeholder in a notification or e-mail template.
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def placeholders(template: str) -> list[str]:
    """Return the expressions of a template's placeholders, in order."""
    return [m.group(1).strip() for m in PLACEHOLDER.finditer(template)]
