"""Layout rules on writes: a change to a field that a layout's rule hides or makes
read-only for this record and this person is refused, as the web app's form would not
have let them make it (metadata/expressions/portable.py; the browser evaluates the same
rules). Tenant admins and the platform itself (workflow actions) are not bound by them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from metadata.expressions import Typed
from metadata.expressions.portable import check_rule
from runtime.expressions.evaluate import Caller, Scope, evaluate
from runtime.model.shape import ApiShape, ObjectShape
from runtime.records.errors import RecordError
from runtime.security.principal import Principal


class FieldRules:
    """The layout rules of one object, for one principal's writes."""

    def __init__(self, shape: ApiShape, s: ObjectShape, principal: Principal) -> None:
        self.shape, self.s, self.principal = shape, s, principal
        model = shape.complete
        self.rules: dict[str, list[tuple[str, str]]] = {}
        for layout in model.views.layouts.values():
            if layout.object != s.name:
                continue
            for name, rule in layout.rules.items():
                for kind, text in (("visible", rule.visible), ("read_only", rule.read_only)):
                    if text:
                        self.rules.setdefault(name, []).append((kind, text))
        self.exempt = principal.tenant_admin or principal.user_id is None

    def touches(self, values: dict[str, Any]) -> bool:
        """Whether a write of these columns needs the record as it was."""
        return not self.exempt and any(c.split("__")[0] in self.rules for c in values)

    def _typed(self, text: str) -> Typed:
        key = ("layout_rule", self.s.name, text)
        typed = self.shape._memo.get(key)
        if typed is None:
            typed = self.shape._memo[key] = check_rule(text, self.shape.complete, self.s.name)
        return typed

    def guard(
        self, values: dict[str, Any], prior: dict[str, Any], path: list[str | int], today: dt.date
    ) -> None:
        """Refuse changing a field its rules hide or make read-only on ``prior``."""
        if self.exempt:
            return
        p = self.principal
        reach = frozenset(self.shape.complete.security.subtree(p.role)) if p.role else frozenset()
        scope = Scope(
            record=prior, today=today, caller=Caller(p.user_id, facts=lambda: (p.role, reach))
        )
        for column, value in values.items():
            name = column.split("__")[0]
            if name not in self.rules or prior.get(column) == value:
                continue
            for kind, text in self.rules[name]:
                result = evaluate(self._typed(text), scope)
                if kind == "visible" and result is not True:
                    raise RecordError(
                        f"{name} is hidden on this record ({text}), so it cannot be changed",
                        "FORBIDDEN",
                        field=[*path, name],
                        zh=f"{name} 在此记录上不可见（{text}），不能修改",
                    )
                if kind == "read_only" and result is True:
                    raise RecordError(
                        f"{name} is read-only on this record ({text})",
                        "FORBIDDEN",
                        field=[*path, name],
                        zh=f"{name} 在此记录上只读（{text}）",
                    )
