"""Checks of the expressions in a model: validation rule conditions parse, refer to real
fields (through lookups too), and are boolean. They run on the built model, after the
structural and semantic checks passed, because types come from the fields."""

from __future__ import annotations

from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from metadata.source import Document


def check_rules(doc: Document, model: Model) -> list[Issue]:
    """Return a problem for each validation rule that does not check."""
    issues = []
    for obj in model.objects.values():
        for rule in obj.validation_rules.values():
            base = ("objects", obj.name, "validation_rules", rule.name)
            try:
                check(rule.condition, model, obj.name, expect=BOOLEAN, prior=True)
            except ExpressionError as exc:
                issues.append(
                    doc.issue(
                        pointer(*base, "condition"),
                        f"{exc} in: {rule.condition}",
                        "invalid_expression",
                    )
                )
            if rule.field is not None and rule.field not in obj.fields:
                issues.append(
                    doc.issue(
                        pointer(*base, "field"),
                        f"{obj.name} has no field {rule.field!r}",
                        "unknown_field",
                    )
                )
    return issues
