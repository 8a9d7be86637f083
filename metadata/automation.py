"""Automation metadata: workflows (a trigger and its actions) and approval processes.

Like objects and permissions these are part of a tenant's metadata, so they are versioned,
diffed (metadata-only: no table changes) and shipped in packs. A workflow is kept close to
its document form: the trigger is one of five kinds and each action is a one-key mapping
(``update``, ``create``, ``assign`` ...), whose options are checked by the JSON Schema and,
for expressions, against the model (metadata/validation/automation.py). ``runtime/workflows``
executes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

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
)
#: Actions that may run before the save, inside the write's transaction.
BEFORE_SAVE_ACTIONS = ("update", "score", "tags")
#: Approval step modes: ``any`` approver decides for the step; ``all`` must approve
#: (parallel approval).
STEP_MODES = ("any", "all")

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

    def to_json(self) -> dict[str, Any]:
        if self.kind == "record":
            out: dict[str, Any] = {"on": list(self.events)}
            if self.condition:
                out["condition"] = self.condition
            if self.before_save:
                out["before_save"] = True
            return out
        if self.kind == "time":
            out = {"at": {"field": self.field, "offset": self.offset}}
            if self.condition:
                out["condition"] = self.condition
            return out
        if self.kind == "schedule":
            return {"schedule": self.cron}
        if self.kind == "manual":
            manual: dict[str, Any] = {}
            if self.label:
                manual["label"] = self.label.to_json()
            if self.roles:
                manual["roles"] = list(self.roles)
            return {"manual": manual}
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

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label.to_json()}
        if self.description:
            out["description"] = self.description.to_json()
        if self.object:
            out["object"] = self.object
        out["active"] = self.active
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
class ApprovalStep:
    name: str
    label: Text
    approvers: tuple[Approver, ...]
    mode: str = "any"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label.to_json(),
            "approvers": [a.to_json() for a in self.approvers],
            "mode": self.mode,
        }


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


@dataclass(frozen=True)
class Automation:
    """All workflows and approval processes of a tenant."""

    workflows: Mapping[str, Workflow] = field(default_factory=lambda: MappingProxyType({}))
    approvals: Mapping[str, ApprovalProcess] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.workflows or self.approvals)

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("workflows", "approvals"):
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
            condition=raw.get("condition"),
        )
    if "schedule" in raw:
        return Trigger("schedule", cron=raw["schedule"])
    if "manual" in raw:
        manual = raw["manual"] or {}
        return Trigger(
            "manual",
            roles=_names(manual.get("roles")),
            label=Text.of(manual["label"]) if manual.get("label") else None,
        )
    return Trigger("webhook", secret_env=raw["webhook"]["secret_env"])


def build_actions(raw: Any) -> tuple[Action, ...]:
    out = []
    for item in raw or ():
        [(kind, options)] = item.items()
        out.append(Action(kind, _frozen(options)))
    return tuple(out)


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
                    approvers=tuple(
                        Approver(
                            user=a.get("user"), role=a.get("role"), manager=bool(a.get("manager"))
                        )
                        for a in step["approvers"]
                    ),
                    mode=step.get("mode", "any"),
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
    return Automation(MappingProxyType(workflows), MappingProxyType(approvals))


#: A ``{{ expression }}`` placeholder in a notification or e-mail template.
PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


def placeholders(template: str) -> list[str]:
    """Return the expressions of a template's placeholders, in order."""
    return [m.group(1).strip() for m in PLACEHOLDER.finditer(template)]
