"""Before-save workflows: field updates computed inside the write's transaction.

A record trigger with ``before_save: true`` runs its update, score and tags actions on the
record being written, before the statement, so the stored row already has their values
and the validation rules see them. They cannot start runs, send anything or touch other
records: that is what after-save workflows (the outbox and Celery) are for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from metadata.automation import Workflow
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from runtime.expressions.evaluate import Scope, evaluate
from runtime.model.shape import ApiShape
from runtime.records.values import (
    ActionError,
    add_score,
    change_tags,
    compile_values,
    compute,
)

__all__ = ["ActionError", "apply_before_save", "before_save_workflows"]


def before_save_workflows(model: Model, obj: str) -> list[Workflow]:
    """Return the active before-save workflows of ``obj``, by name."""
    return [
        w
        for w in model.automation.triggered_by("record")
        if w.object == obj and w.trigger.before_save
    ]


def apply_before_save(
    shape: ApiShape,
    obj: str,
    workflows: list[Workflow],
    record: dict[str, Any],
    prior: dict[str, Any] | None,
    event: str,
    today: dt.date,
    load: Callable[[str, Any], Any],
) -> dict[str, Any]:
    """Return the columns the matching workflows set; each sees the previous ones' work."""
    changed: dict[str, Any] = {}
    model = shape.complete
    definition = model.objects[obj]
    for w in workflows:
        if event not in w.trigger.events:
            continue
        current = {**record, **changed}
        scope = Scope(record=current, today=today, load=load, prior=prior)
        if w.trigger.condition:
            condition = shape.typed(w.trigger.condition, obj, expect=BOOLEAN, prior=True)
            if evaluate(condition, scope) is not True:
                continue
        for action in w.actions:
            current = {**record, **changed}
            scope = Scope(record=current, today=today, load=load, prior=prior)
            o = action.options
            if action.kind == "update":
                changed.update(compute(model, obj, compile_values(shape, obj, o), scope))
            elif action.kind == "score":
                amount = evaluate(shape.typed(o["add"], obj), scope)
                f = definition.fields[o["field"]]
                changed.update(add_score(obj, f, current.get(f.name), amount))
            elif action.kind == "tags":
                f = definition.fields[o["field"]]
                changed.update(
                    change_tags(
                        obj,
                        f,
                        current.get(f.name),
                        list(o.get("add") or ()),
                        list(o.get("remove") or ()),
                    )
                )
    return changed
