"""Checks of the expressions in a model: validation rule conditions parse, refer to real
fields (through lookups too), and are boolean. They run on the built model, after the
structural and semantic checks passed, because types come from the fields."""

from __future__ import annotations

from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from metadata.expressions.rollups import RollupProblem, check_rollup
from metadata.model import Model
from metadata.source import Document


def check_rules(doc: Document, model: Model) -> list[Issue]:
    """Return a problem for each validation rule, formula or state machine that does not
    check."""
    issues = _check_transitions(doc, model) + _check_formulas(doc, model)
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


def _check_transitions(doc: Document, model: Model) -> list[Issue]:
    issues = []
    roles = set(model.security.roles)
    for obj in model.objects.values():
        for name, machine in obj.transitions.items():
            base = ("objects", obj.name, "transitions", name)
            f = obj.fields.get(name)
            if f is None or f.type != "picklist":
                what = "is not a picklist field" if f else "does not exist"
                issues.append(
                    doc.issue(
                        pointer(*base),
                        f"{obj.name}.{name} {what}; state machines are for picklist fields",
                        "invalid_state_machine",
                    )
                )
                continue
            places: list[tuple[tuple[str, ...], tuple[str | int, ...]]] = [
                (machine.initial, ("initial",))
            ]
            for i, t in enumerate(machine.allow):
                places += [(t.sources, ("allow", i, "from")), (t.targets, ("allow", i, "to"))]
                issues += [
                    doc.issue(
                        pointer(*base, "allow", i, "roles"),
                        f"there is no role {role!r}"
                        + (f"; roles: {', '.join(sorted(roles))}" if roles else ""),
                        "unknown_role",
                    )
                    for role in t.roles
                    if role not in roles
                ]
            codes = f.value_codes()
            issues += [
                doc.issue(
                    pointer(*base, *where),
                    f"{value!r} is not a value of {obj.name}.{name}; values: {', '.join(codes)}",
                    "unknown_value",
                )
                for found, where in places
                for value in found
                if value not in codes
            ]
    return issues


def _check_formulas(doc: Document, model: Model) -> list[Issue]:
    issues = []
    for obj in model.objects.values():
        formulas = {n for n, f in obj.fields.items() if f.computed}
        for name in formulas:
            f = obj.fields[name]
            base = ("objects", obj.name, "fields", name)
            if f.type == "rollup":
                try:
                    check_rollup(model, obj.name, f)
                except RollupProblem as exc:
                    issues.append(doc.issue(pointer(*base, exc.option), str(exc), "invalid_rollup"))
                continue
            try:
                typed = check(f.option("expression"), model, obj.name)
            except ExpressionError as exc:
                issues.append(
                    doc.issue(
                        pointer(*base, "expression"),
                        f"{exc} in: {f.option('expression')}",
                        "invalid_expression",
                    )
                )
                continue
            if typed.type not in (f.option("returns"), "null"):
                issues.append(
                    doc.issue(
                        pointer(*base, "returns"),
                        f"the expression gives a {typed.type}, not a {f.option('returns')}",
                        "formula_type",
                    )
                )
        # Formulas are computed when read; these need stored values.
        for section, names in (("history", obj.history), ("search", obj.search)):
            for i, name in enumerate(names):
                if name in formulas:
                    issues.append(
                        doc.issue(
                            pointer("objects", obj.name, section, i),
                            f"{obj.name}.{name} is computed ({obj.fields[name].type}); "
                            f"{section} needs a stored field",
                            "formula_not_allowed",
                        )
                    )
    for rule_name, rule in model.security.sharing_rules.items():
        obj = model.objects.get(rule.object)
        for name in rule.criteria:
            if obj is not None and name in obj.fields and obj.fields[name].computed:
                issues.append(
                    doc.issue(
                        pointer("sharing_rules", rule_name, "criteria", name),
                        f"{rule.object}.{name} is computed; sharing criteria need stored fields",
                        "formula_not_allowed",
                    )
                )
    return issues
