"""Checks of conversions: objects, fields, the field map's expressions over the source
record, links to earlier targets (or the source) through lookups to the right object,
and duplicate-match fields."""

from __future__ import annotations

from metadata.conversions import SOURCE
from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from metadata.source import Document
from metadata.validation.structural import suggest


def check_conversions(doc: Document, model: Model) -> list[Issue]:
    issues: list[Issue] = []

    def add(where: list[str | int], message: str, code: str) -> None:
        issues.append(doc.issue(pointer(*where), message, code))

    def expression(text: str, obj: str, where: list[str | int], expect: str | None = None) -> None:
        try:
            check(text, model, obj, expect=expect)
        except ExpressionError as exc:
            add(where, f"{exc} in: {text}", "invalid_expression")

    def fields(obj: str, names: list[str], where: list[str | int]) -> bool:
        known = list(model.objects[obj].fields)
        ok = True
        for name in names:
            if name not in known:
                add(
                    [*where, name],
                    f"{obj} has no field {name!r}{suggest(name, known)}",
                    "unknown_field",
                )
                ok = False
        return ok

    for name, conversion in model.automation.conversions.items():
        base: list[str | int] = ["conversions", name]
        source = conversion.object
        if source not in model.objects:
            add([*base, "object"], f"there is no object {source!r}", "unknown_object")
            continue
        for i, role in enumerate(conversion.roles):
            if role not in model.security.roles:
                add([*base, "roles", i], f"there is no role {role!r}", "unknown_role")
        if conversion.condition:
            expression(conversion.condition, source, [*base, "condition"], BOOLEAN)
        if fields(source, list(conversion.update), [*base, "update"]):
            for field, text in conversion.update.items():
                expression(text, source, [*base, "update", field])
        made: dict[str, str] = {SOURCE: source}
        for target in conversion.targets:
            here: list[str | int] = [*base, "targets", target.name]
            if target.name == SOURCE:
                add(
                    here,
                    f"{SOURCE!r} names the converted record; call the target otherwise",
                    "reserved_name",
                )
            if target.object not in model.objects:
                add([*here, "object"], f"there is no object {target.object!r}", "unknown_object")
                continue
            obj = model.objects[target.object]
            if fields(target.object, list(target.values), [*here, "values"]):
                for field, text in target.values.items():
                    expression(text, source, [*here, "values", field])
            if fields(target.object, list(target.links), [*here, "links"]):
                for field, other in target.links.items():
                    to = made.get(other)
                    if to is None:
                        add(
                            [*here, "links", field],
                            f"{other!r} is not the source or an earlier target",
                            "unknown_target",
                        )
                    elif obj.fields[field].target != to:
                        add(
                            [*here, "links", field],
                            f"{target.object}.{field} is not a lookup to {to}",
                            "invalid_link",
                        )
            fields(target.object, list(target.match), [*here, "match"])
            made[target.name] = target.object
    return issues
