"""Validation rules, checked on each record a mutation creates or updates.

A rule's condition is evaluated on the record as written (defaults and auto numbers
included), inside the mutation's transaction, so a rule that fires rolls back the whole
request. ISCHANGED and PRIORVALUE compare with the record as it was before the update.
Objects without rules cost nothing: no extra reads happen.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, select

from metadata.expressions import Typed, check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model, ValidationRule
from runtime.expressions.evaluate import Scope, evaluate
from runtime.graphql.compiler.context import QueryError
from runtime.graphql.shape import ObjectShape
from runtime.storage.tables import build_table


class RuleCheck:
    """The validation rules of one object, for the writes of one mutation field."""

    def __init__(
        self, model: Model, s: ObjectShape, conn: Connection, schema: str | None, today: dt.date
    ) -> None:
        self.model, self.s, self.conn, self.schema, self.today = model, s, conn, schema, today
        self.defined = tuple(model.objects[s.name].validation_rules.values())
        self._checked: list[tuple[ValidationRule, Typed]] | None = None
        self._targets: dict[tuple[str, Any], dict[str, Any] | None] = {}

    @property
    def checked(self) -> list[tuple[ValidationRule, Typed]]:
        # Metadata validation already checked every condition; this only types it again.
        if self._checked is None:
            self._checked = [
                (rule, check(rule.condition, self.model, self.s.name, expect=BOOLEAN, prior=True))
                for rule in self.defined
            ]
        return self._checked

    def _read(self, obj: str, record_id: Any, *, live: bool) -> dict[str, Any] | None:
        table = build_table(self.model, obj, schema=self.schema, dialect=self.conn.dialect.name)
        query = select(table).where(table.c.id == record_id)
        if live:
            query = query.where(table.c.deleted_at.is_(None))
        row = self.conn.execute(query).first()
        return dict(row._mapping) if row is not None else None

    def _load(self, obj: str, record_id: Any) -> dict[str, Any] | None:
        key = (obj, record_id)
        if key not in self._targets:
            self._targets[key] = self._read(obj, record_id, live=True)
        return self._targets[key]

    def before(self, record_id: uuid.UUID) -> dict[str, Any] | None:
        """Return the record as it is now, if rules may need it after an update."""
        if not self.defined:
            return None
        return self._read(self.s.name, record_id, live=False)

    def enforce(
        self, record_id: uuid.UUID, prior: dict[str, Any] | None, path: list[str | int]
    ) -> None:
        """Raise VALIDATION_RULE for the first rule the written record breaks."""
        if not self.defined:
            return
        record = self._read(self.s.name, record_id, live=False)
        assert record is not None
        scope = Scope(record=record, today=self.today, load=self._load, prior=prior)
        for rule, typed in self.checked:
            if evaluate(typed, scope) is True:
                field = None
                if rule.field is not None:
                    names = {**self.s.fields, **self.s.id_fields}
                    key = next((k for k, f in names.items() if f.name == rule.field), rule.field)
                    field = [*path, key]
                raise QueryError(
                    rule.message.get("en"),
                    "VALIDATION_RULE",
                    field=field or list(path),
                    extra={"rule": rule.name, "messages": rule.message.to_json()},
                )
