"""Validation rules and state machines, checked on each record a mutation writes.

Both look at the record as written (defaults and auto numbers included), inside the
mutation's transaction, so a refusal rolls back the whole request. ISCHANGED and
PRIORVALUE, and state machines, compare with the record as it was before the update.
Objects without rules or state machines cost nothing: no extra reads happen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, select

from metadata.expressions import Typed
from metadata.expressions.checker import BOOLEAN
from metadata.model import StateMachine, ValidationRule
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape, ObjectShape
from runtime.records.errors import RecordError
from runtime.records.field_rules import FieldRules
from runtime.security.principal import Principal
from runtime.storage.records import read_record


class RuleCheck:
    """The validation rules and state machines of one object, for the writes of one
    mutation field by one principal."""

    def __init__(
        self,
        shape: ApiShape,
        s: ObjectShape,
        conn: Connection,
        schema: str | None,
        today: dt.date,
        principal: Principal,
        *,
        arriving: bool = False,
    ) -> None:
        self.shape, self.model = shape, shape.complete
        self.s, self.conn, self.schema, self.today = s, conn, schema, today
        self.principal = principal
        obj = self.model.objects[s.name]
        self.defined = tuple(obj.validation_rules.values())
        self.machines = dict(obj.transitions)
        self.arriving = arriving
        """Created records arrive in any state (seeds and imports)."""
        self._checked: list[tuple[ValidationRule, Typed]] | None = None
        self._targets: dict[tuple[str, Any], dict[str, Any] | None] = {}
        self.fields = FieldRules(shape, s, principal)
        """The layouts' rules on fields (runtime/records/field_rules.py)."""

    @property
    def checked(self) -> list[tuple[ValidationRule, Typed]]:
        # Metadata validation already checked every condition; this only types it again.
        if self._checked is None:
            self._checked = [
                (rule, self.shape.typed(rule.condition, self.s.name, expect=BOOLEAN, prior=True))
                for rule in self.defined
            ]
        return self._checked

    def _read(self, obj: str, record_id: Any, *, live: bool) -> dict[str, Any] | None:
        table = self.shape.table(obj, self.schema, self.conn.dialect.name)
        return read_record(self.conn, table, record_id, live=live)

    def _load(self, obj: str, record_id: Any) -> dict[str, Any] | None:
        key = (obj, record_id)
        if key not in self._targets:
            self._targets[key] = self._read(obj, record_id, live=True)
        return self._targets[key]

    def before(
        self,
        record_id: uuid.UUID,
        values: dict[str, Any],
        *,
        always: bool = False,
        path: list[str | int] | None = None,
    ) -> dict[str, Any] | None:
        """Return the record as it is now, if the checks after an update (or ``always``,
        for before-save workflows) need it; refuse a change the layouts' field rules do
        not allow (``path``: where the values came from)."""
        if (
            not always
            and not self.defined
            and not any(name in values for name in self.machines)
            and not self.fields.touches(values)
        ):
            return None
        prior = self._read(self.s.name, record_id, live=False)
        if prior is not None and self.fields.touches(values):
            self.fields.guard(values, prior, path or [], self.today)
        return prior

    def enforce(
        self,
        record_id: uuid.UUID,
        prior: dict[str, Any] | None,
        path: list[str | int],
        *,
        created: bool,
    ) -> None:
        """Raise INVALID_TRANSITION or VALIDATION_RULE if the written record breaks a
        state machine or a rule (the first one, in declared order)."""
        if not self.defined and (not self.machines or (not created and prior is None)):
            return
        record = self._read(self.s.name, record_id, live=False)
        assert record is not None
        self._judge(record, prior, path, created)

    def enforce_created(self, ids: list[uuid.UUID], paths: list[list[str | int]]) -> None:
        """``enforce`` for records just created, read back in one statement."""
        if not ids or (not self.defined and not self.machines):
            return
        table = self.shape.table(self.s.name, self.schema, self.conn.dialect.name)
        rows = self.conn.execute(select(table).where(table.c.id.in_(ids))).mappings()
        records = {row["id"]: dict(row) for row in rows}
        for record_id, path in zip(ids, paths, strict=True):
            self._judge(records[record_id], None, path, True)

    def _judge(
        self,
        record: dict[str, Any],
        prior: dict[str, Any] | None,
        path: list[str | int],
        created: bool,
    ) -> None:
        for machine in self.machines.values():
            self._transition(machine, None if created else prior, record, path, created)
        if not self.defined:
            return
        scope = Scope(
            record=record, today=self.today, load=self._load, prior=None if created else prior
        )
        for rule, typed in self.checked:
            if evaluate(typed, scope) is True:
                field = self._field_path(rule.field, path) if rule.field else None
                raise RecordError(
                    rule.message.get("en"),
                    "VALIDATION_RULE",
                    field=field or list(path),
                    extra={"rule": rule.name, "messages": rule.message.to_json()},
                )

    def _field_path(self, name: str, path: list[str | int]) -> list[str | int]:
        names = {**self.s.fields, **self.s.id_fields}
        return [*path, next((k for k, f in names.items() if f.name == name), name)]

    def _transition(
        self,
        machine: StateMachine,
        prior: dict[str, Any] | None,
        record: dict[str, Any],
        path: list[str | int],
        created: bool,
    ) -> None:
        name = machine.field
        new = record.get(name)
        here = self._field_path(name, path)
        if created or (prior is not None and prior.get(name) is None):
            if created and self.arriving:
                return
            if new is not None and machine.initial and new not in machine.initial:
                raise RecordError(
                    f"a new record's {name} must be one of {', '.join(machine.initial)}, "
                    f"not {new!r}",
                    "INVALID_TRANSITION",
                    field=here,
                    zh=f"新记录的 {name} 只能是 {'、'.join(machine.initial)}，不能是 {new!r}",
                )
            return
        if prior is None:
            return
        old = prior.get(name)
        if new is None or new == old:
            return
        allowed = [t for t in machine.allow if old in t.sources and new in t.targets]
        if not allowed:
            onward = sorted({v for t in machine.allow if old in t.sources for v in t.targets})
            raise RecordError(
                f"{name} cannot change from {old!r} to {new!r}; from {old!r} it may go to "
                + (", ".join(onward) if onward else "nothing (it is final)"),
                "INVALID_TRANSITION",
                field=here,
                zh=f"{name} 不能从 {old!r} 变为 {new!r}；从 {old!r} 只能变为 "
                + ("、".join(onward) if onward else "（无：已是最终状态）"),
            )
        if self.principal.tenant_admin or any(not t.roles for t in allowed):
            return
        reach = set(self.model.security.subtree(self.principal.role or "")) - {""}
        if not any(reach & set(t.roles) for t in allowed):
            who = sorted({r for t in allowed for r in t.roles})
            raise RecordError(
                f"only {', '.join(who)} (or roles above them) may change {name} from "
                f"{old!r} to {new!r}",
                "INVALID_TRANSITION",
                field=here,
                zh=f"只有 {'、'.join(who)}（或其上级角色）可以把 {name} 从 {old!r} 改为 {new!r}",
            )
