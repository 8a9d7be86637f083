"""Checks of workflows and approval processes against the model: every object, field, role
and process they name exists, every expression checks and gives what its place needs (a
boolean condition, a value the field can hold), and each trigger kind gets only the
actions that make sense for it. Run on the built model, after the structural checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metadata.automation import (
    BEFORE_SAVE_ACTIONS,
    Action,
    duration_seconds,
    placeholders,
)
from metadata.cron import CronError, parse_cron
from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN, FIELD_TYPES, NULL, NUMBER
from metadata.expressions.moments import moment_type
from metadata.model import Model
from metadata.source import Document
from metadata.validation.conversions import check_conversions

#: Actions that need a record to act on (everything but creating, telling and calling).
_RECORD_ACTIONS = (
    "update",
    "assign",
    "pool",
    "score",
    "tags",
    "approval",
    "update_parent",
    "update_children",
)
_NUMBER_TYPES = ("integer", "decimal", "currency", "percent")


class _Checker:
    def __init__(self, doc: Document, model: Model) -> None:
        self.doc, self.model = doc, model
        self.issues: list[Issue] = []
        self.roles = set(model.security.roles)

    def add(self, where: Iterable[str | int], message: str, code: str) -> None:
        self.issues.append(self.doc.issue(pointer(*where), message, code))

    def expression(
        self,
        text: str,
        obj: str | None,
        where: list[str | int],
        *,
        expect: str | None = None,
        prior: bool = False,
    ) -> str | None:
        """Check ``text`` over ``obj``'s records; return its type (None if it fails)."""
        if obj is None:
            self.add(where, "an expression needs the workflow's object", "invalid_expression")
            return None
        try:
            return check(text, self.model, obj, expect=expect, prior=prior, engine=True).type
        except ExpressionError as exc:
            self.add(where, f"{exc} in: {text}", "invalid_expression")
            return None

    def object(self, name: str | None, where: list[str | int]) -> bool:
        if name is None or name in self.model.objects:
            return True
        self.add(
            where,
            f"there is no object {name!r}; objects: {', '.join(sorted(self.model.objects))}",
            "unknown_object",
        )
        return False

    def moment(self, obj: str, name: str, where: list[str | int]) -> None:
        if moment_type(self.model, obj, name) is None:
            self.add(
                where,
                f"{obj}.{name} is no moment; a time trigger counts from a date or datetime "
                "field, created_at or updated_at, a formula giving one, or a roll-up's min "
                "or max of one",
                "invalid_field",
            )

    def role(self, name: str, where: list[str | int]) -> None:
        if name not in self.roles:
            known = f"; roles: {', '.join(sorted(self.roles))}" if self.roles else ""
            self.add(where, f"there is no role {name!r}{known}", "unknown_role")

    def field(self, obj: str, name: str, where: list[str | int], types: Iterable[str] = ()) -> Any:
        o = self.model.objects[obj]
        f = o.fields.get(name)
        if f is None:
            self.add(where, f"{obj} has no field {name!r}", "unknown_field")
            return None
        kinds = tuple(types)
        if kinds and f.type not in kinds:
            self.add(
                where,
                f"{obj}.{name} is a {f.type} field; this needs {' or '.join(kinds)}",
                "invalid_field",
            )
            return None
        return f

    def values(
        self, target: str, values: Mapping[str, str], source: str | None, where: list[str | int]
    ) -> None:
        """Check field → expression assignments onto ``target``, computed over ``source``."""
        for name, text in values.items():
            here = [*where, name]
            f = self.field(target, name, here)
            if f is None:
                continue
            if f.computed or f.type == "auto_number":
                self.add(here, f"{target}.{name} is computed; it cannot be set", "invalid_field")
                continue
            want = FIELD_TYPES.get(f.type)
            got = self.expression(text, source, here)
            if got is None:
                continue
            if want is None:
                self.add(
                    here, f"{f.type} fields cannot be set by an expression yet", "invalid_field"
                )
            elif got not in (want, NULL):
                self.add(
                    here,
                    f"the expression gives a {got}, but {target}.{name} needs a {want}",
                    "invalid_expression",
                )

    def template(self, text: Any, obj: str | None, where: list[str | int]) -> None:
        for language, body in text.items() if isinstance(text, Mapping) else [("", text)]:
            for expr in placeholders(body):
                self.expression(expr, obj, [*where, language] if language else where)

    def recipient(self, to: Any, obj: str | None, where: list[str | int]) -> None:
        if to in ("owner", "actor"):
            if to == "owner" and obj is None:
                self.add(where, "owner needs the workflow's object", "invalid_recipient")
            return
        if "role" in to:
            self.role(to["role"], [*where, "role"])
        if "field" in to:
            if obj is None:
                self.add(where, "a field recipient needs an object", "invalid_recipient")
            else:
                self.field(obj, to["field"], [*where, "field"], ("email",))

    def actions(self, actions: tuple[Action, ...], obj: str | None, where: list[str | int]) -> None:
        for i, action in enumerate(actions):
            here: list[str | int] = [*where, i, action.kind]
            o = action.options
            if action.kind in _RECORD_ACTIONS and obj is None:
                self.add(here, f"{action.kind} needs a record to act on", "invalid_action")
                continue
            if action.kind == "update":
                assert obj is not None
                self.values(obj, o, obj, here)
            elif action.kind == "update_parent":
                assert obj is not None
                self.update_parent(o, obj, here)
            elif action.kind == "update_children":
                assert obj is not None
                self.update_children(o, obj, here)
            elif action.kind == "create":
                if self.object(o["object"], [*here, "object"]):
                    self.values(o["object"], o["values"], obj, [*here, "values"])
            elif action.kind == "assign":
                self.assign(o, obj, here)
            elif action.kind == "pool":
                assert obj is not None
                f = self.field(obj, o["field"], [*here, "field"], ("picklist",))
                if ("into" in o) == bool(o.get("out")):
                    self.add(here, "give either into: <pool> or out: true", "invalid_action")
                elif f is not None and "into" in o and o["into"] not in f.value_codes():
                    self.add(
                        [*here, "into"],
                        f"{o['into']!r} is not a value of {obj}.{o['field']}; values: "
                        + ", ".join(f.value_codes()),
                        "unknown_value",
                    )
            elif action.kind == "score":
                assert obj is not None
                target = obj
                if o.get("on"):
                    link = self.field(
                        obj,
                        o["on"],
                        [*here, "on"],
                        ("lookup", "master_detail", "polymorphic_lookup"),
                    )
                    if link is None:
                        continue
                    if link.type == "polymorphic_lookup":
                        # Scored when the referred record's object has the field; the
                        # first target that has it is checked (kind and all).
                        having = [
                            t for t in link.targets if o["field"] in self.model.objects[t].fields
                        ]
                        target = having[0] if having else link.targets[0]
                    else:
                        target = link.target
                self.field(target, o["field"], [*here, "field"], _NUMBER_TYPES)
                self.expression(o["add"], obj, [*here, "add"], expect=NUMBER)
            elif action.kind == "tags":
                assert obj is not None
                f = self.field(obj, o["field"], [*here, "field"], ("multi_picklist",))
                for key in ("add", "remove"):
                    for j, value in enumerate(o.get(key) or ()):
                        if f is not None and value not in f.value_codes():
                            self.add(
                                [*here, key, j],
                                f"{value!r} is not a value of {obj}.{o['field']}",
                                "unknown_value",
                            )
            elif action.kind == "notify":
                self.recipient(o["to"], obj, [*here, "to"])
                self.template(o["message"], obj, [*here, "message"])
            elif action.kind == "email":
                self.recipient(o["to"], obj, [*here, "to"])
                self.template(o["subject"], obj, [*here, "subject"])
                self.template(o["body"], obj, [*here, "body"])
            elif action.kind == "approval":
                process = self.model.automation.approvals.get(o["process"])
                if process is None:
                    self.add(
                        [*here, "process"],
                        f"there is no approval process {o['process']!r}",
                        "unknown_approval",
                    )
                elif process.object != obj:
                    self.add(
                        [*here, "process"],
                        f"approval process {o['process']!r} is for {process.object}, not {obj}",
                        "invalid_action",
                    )

    def update_parent(self, o: Mapping[str, Any], obj: str, where: list[str | int]) -> None:
        link = self.field(
            obj, o["on"], [*where, "on"], ("lookup", "master_detail", "polymorphic_lookup")
        )
        if link is None:
            return
        targets = link.targets if link.type == "polymorphic_lookup" else (link.target,)
        # A polymorphic lookup's targets that have every field are updated (the others
        # are skipped when the run meets one); at least one must.
        having = [t for t in targets if set(o["values"]) <= set(self.model.objects[t].fields)]
        if not having:
            self.add(
                [*where, "values"],
                f"no object {o['on']} can point to ({', '.join(targets)}) has every field of "
                + ", ".join(sorted(o["values"])),
                "unknown_field",
            )
            return
        for target in having:
            self.values(target, o["values"], obj, [*where, "values"])

    def update_children(self, o: Mapping[str, Any], obj: str, where: list[str | int]) -> None:
        child = o["object"]
        if not self.object(child, [*where, "object"]):
            return
        via = self.field(child, o["via"], [*where, "via"], ("lookup", "master_detail"))
        if via is not None and via.target != obj:
            self.add(
                [*where, "via"],
                f"{child}.{o['via']} points to {via.target}, not {obj}",
                "invalid_field",
            )
            return
        if o.get("where"):
            self.expression(o["where"], child, [*where, "where"], expect=BOOLEAN)
        self.values(child, o["values"], child, [*where, "values"])

    def assign(self, o: Mapping[str, Any], obj: str | None, where: list[str | int]) -> None:
        if o.get("open"):
            self.expression(o["open"], obj, [*where, "open"], expect=BOOLEAN)
        if o.get("strategy") == "least_loaded" and not (o.get("role") or o.get("users")):
            self.add(where, "least_loaded needs a role or users", "invalid_action")
        strategy = o.get("strategy", "round_robin")
        if strategy == "user" and not o.get("user"):
            self.add(where, "strategy user needs user: <e-mail>", "invalid_action")
        if strategy == "round_robin" and not (o.get("role") or o.get("users") or o.get("rules")):
            self.add(where, "round_robin needs a role, users or rules", "invalid_action")
        if o.get("role"):
            self.role(o["role"], [*where, "role"])
        for j, rule in enumerate(o.get("rules") or ()):
            self.expression(rule["when"], obj, [*where, "rules", j, "when"], expect=BOOLEAN)
            if rule.get("role"):
                self.role(rule["role"], [*where, "rules", j, "role"])
            elif not rule.get("users"):
                self.add([*where, "rules", j], "a rule needs a role or users", "invalid_action")

    def workflows(self) -> None:
        for name, w in self.model.automation.workflows.items():
            base: list[str | int] = ["workflows", name]
            t = w.trigger
            if not self.object(w.object, [*base, "object"]):
                continue
            if w.object is None and t.kind != "schedule":
                self.add(base, f"a {t.kind} trigger needs object:", "missing_object")
                continue
            if t.kind == "record":
                if t.condition:
                    self.expression(
                        t.condition,
                        w.object,
                        [*base, "trigger", "condition"],
                        expect=BOOLEAN,
                        prior=True,
                    )
                if t.before_save:
                    if set(t.events) - {"created", "updated"}:
                        self.add(
                            [*base, "trigger", "on"],
                            "before_save runs only on created and updated",
                            "invalid_trigger",
                        )
                    for i, a in enumerate(w.actions):
                        if a.kind not in BEFORE_SAVE_ACTIONS:
                            self.add(
                                [*base, "actions", i],
                                f"{a.kind} cannot run before the save; only "
                                + ", ".join(BEFORE_SAVE_ACTIONS)
                                + " can",
                                "invalid_action",
                            )
            elif t.kind == "time":
                assert w.object is not None and t.field is not None
                self.moment(w.object, t.field, [*base, "trigger", "at", "field"])
                for key, text in (("at", t.offset), ("repeat", t.repeat_every)):
                    try:
                        if text:
                            duration_seconds(text)
                    except ValueError as exc:
                        self.add([*base, "trigger", key], str(exc), "invalid_duration")
                if t.condition:
                    self.expression(
                        t.condition, w.object, [*base, "trigger", "condition"], expect=BOOLEAN
                    )
            elif t.kind == "schedule":
                try:
                    parse_cron(t.cron or "")
                except CronError as exc:
                    self.add([*base, "trigger", "schedule"], str(exc), "invalid_schedule")
                if t.condition and w.object is None:
                    self.add(
                        [*base, "trigger", "condition"],
                        "a condition picks records: give the workflow an object",
                        "missing_object",
                    )
                elif t.condition:
                    self.expression(
                        t.condition, w.object, [*base, "trigger", "condition"], expect=BOOLEAN
                    )
            elif t.kind == "manual":
                for i, role in enumerate(t.roles):
                    self.role(role, [*base, "trigger", "manual", "roles", i])
                for key in ("condition", "limit"):
                    text = getattr(t, key)
                    if text:
                        self.expression(text, w.object, [*base, "trigger", key], expect=BOOLEAN)
            self.actions(w.actions, w.object, [*base, "actions"])

    def approvals(self) -> None:
        for name, p in self.model.automation.approvals.items():
            base: list[str | int] = ["approvals", name]
            if not self.object(p.object, [*base, "object"]):
                continue
            if p.entry:
                self.expression(p.entry, p.object, [*base, "entry"], expect=BOOLEAN)
            seen: set[str] = set()
            for i, step in enumerate(p.steps):
                if step.name in seen:
                    self.add(
                        [*base, "steps", i, "name"],
                        f"two steps are named {step.name!r}",
                        "duplicate_step",
                    )
                seen.add(step.name)
                for j, approver in enumerate(step.approvers):
                    if approver.role:
                        self.role(approver.role, [*base, "steps", i, "approvers", j, "role"])
                if step.when:
                    self.expression(
                        step.when, p.object, [*base, "steps", i, "when"], expect=BOOLEAN
                    )
                timeout = step.timeout
                if timeout is not None:
                    here = [*base, "steps", i, "timeout"]
                    if timeout.after:
                        try:
                            duration_seconds(timeout.after)
                        except ValueError as exc:
                            self.add([*here, "after"], str(exc), "invalid_duration")
                    if timeout.to is not None and timeout.then != "escalate":
                        self.add([*here, "to"], "to: is for then: escalate", "invalid_timeout")
                    if timeout.to is not None and timeout.to.role:
                        self.role(timeout.to.role, [*here, "to", "role"])
            for key in ("on_approve", "on_reject", "on_recall"):
                self.actions(getattr(p, key), p.object, [*base, key])


def _check_calendars(checker: _Checker) -> None:
    for name, calendar in checker.model.automation.calendars.items():
        for key, i, text in calendar.unreadable:
            checker.add(["calendars", name, key, i], f"{text!r} is not a date", "invalid_date")
        clash = sorted(calendar.holidays & calendar.workdays)
        if clash:
            checker.add(
                ["calendars", name, "workdays"],
                "a day cannot be both a holiday and a working day: "
                + ", ".join(d.isoformat() for d in clash),
                "invalid_calendar",
            )


def check_automation(doc: Document, model: Model) -> list[Issue]:
    """Return a problem for each workflow, approval process or calendar that does not
    check."""
    checker = _Checker(doc, model)
    checker.workflows()
    checker.approvals()
    _check_calendars(checker)
    return checker.issues + check_conversions(doc, model)
