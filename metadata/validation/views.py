"""Checks of layouts, list views and apps: the objects and fields they name exist, related
lists follow a real lookup, list view filters are boolean expressions over the object,
path bars and kanbans are picklists, and actions are the object's manual workflows or
approval processes."""

from __future__ import annotations

from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from metadata.expressions.portable import check_rule
from metadata.model import SYSTEM_FIELDS, Model
from metadata.source import Document
from metadata.validation.structural import suggest


def check_views(doc: Document, model: Model) -> list[Issue]:
    """Return a problem for each layout or list view reference that does not resolve."""
    issues: list[Issue] = []

    def fields_of(obj: str, names: tuple[str, ...], *base: str | int) -> None:
        known = [*SYSTEM_FIELDS, *model.objects[obj].fields]
        for i, name in enumerate(names):
            if name not in known:
                issues.append(
                    doc.issue(
                        pointer(*base, i),
                        f"{obj} has no field {name!r}{suggest(name, known)}",
                        "unknown_field",
                    )
                )

    def object_of(name: str, *base: str) -> bool:
        if name in model.objects:
            return True
        issues.append(
            doc.issue(
                pointer(*base, "object"),
                f"there is no object {name!r}{suggest(name, list(model.objects))}",
                "unknown_object",
            )
        )
        return False

    def picklist(obj: str, name: str, *base: str | int) -> None:
        f = model.objects[obj].fields.get(name)
        if f is None or f.type != "picklist":
            choices = [n for n, g in model.objects[obj].fields.items() if g.type == "picklist"]
            issues.append(
                doc.issue(
                    pointer(*base),
                    f"{obj} has no picklist field {name!r}{suggest(name, choices)}",
                    "not_a_picklist",
                )
            )

    def actions_of(obj: str) -> list[str]:
        automation = model.automation
        manual = [
            n
            for n, w in automation.workflows.items()
            if w.object == obj and w.trigger.kind == "manual"
        ]
        approvals = [n for n, a in automation.approvals.items() if a.object == obj]
        return (
            manual + approvals + [n for n, c in automation.conversions.items() if c.object == obj]
        )

    for name, layout in model.views.layouts.items():
        base = ("layouts", name)
        if not object_of(layout.object, *base):
            continue
        for i, section in enumerate(layout.sections):
            fields_of(layout.object, section.fields, *base, "sections", i, "fields")
        for i, related in enumerate(layout.related):
            where = (*base, "related", i)
            if not object_of(related.object, *where):
                continue
            f = model.objects[related.object].fields.get(related.field)
            if f is None or (f.target != layout.object and layout.object not in f.targets):
                issues.append(
                    doc.issue(
                        pointer(*where, "field"),
                        f"{related.object}.{related.field} is not a lookup (or a polymorphic "
                        f"lookup) to {layout.object}",
                        "invalid_related_list",
                    )
                )
            fields_of(related.object, related.columns, *where, "columns")
        if layout.path:
            picklist(layout.object, layout.path, *base, "path")
        known = [*SYSTEM_FIELDS, *model.objects[layout.object].fields]
        for field, rule in layout.rules.items():
            if field not in known:
                issues.append(
                    doc.issue(
                        pointer(*base, "rules", field),
                        f"{layout.object} has no field {field!r}{suggest(field, known)}",
                        "unknown_field",
                    )
                )
                continue
            for kind, text in (("visible", rule.visible), ("read_only", rule.read_only)):
                if not text:
                    continue
                try:
                    check_rule(text, model, layout.object)
                except ExpressionError as exc:
                    where = pointer(*base, "rules", field, kind)
                    issues.append(doc.issue(where, f"{exc} in: {text}", "invalid_expression"))
        for i, action in enumerate(layout.actions):
            if action not in actions_of(layout.object):
                issues.append(
                    doc.issue(
                        pointer(*base, "actions", i),
                        f"{action!r} is not a manual workflow, approval process or conversion of "
                        f"{layout.object}{suggest(action, actions_of(layout.object))}",
                        "unknown_action",
                    )
                )
    for name, view in model.views.list_views.items():
        base = ("list_views", name)
        if not object_of(view.object, *base):
            continue
        fields_of(view.object, view.columns, *base, "columns")
        if view.group_by:
            fields_of(view.object, (view.group_by,), *base, "group_by")
        fields_of(view.object, tuple(s.lstrip("-") for s in view.sort), *base, "sort")
        if view.filter:
            try:
                check(view.filter, model, view.object, expect=BOOLEAN)
            except ExpressionError as exc:
                issues.append(
                    doc.issue(
                        pointer(*base, "filter"),
                        f"{exc} in: {view.filter}",
                        "invalid_expression",
                    )
                )
    for name, app in model.views.navigation.items():
        for i, item in enumerate(app.items):
            base = ("navigation", name, "items", i)
            if not object_of(item.object, *base):
                continue
            view = model.views.list_views.get(item.list_view or "")
            if item.list_view and (view is None or view.object != item.object):
                known = [n for n, v in model.views.list_views.items() if v.object == item.object]
                issues.append(
                    doc.issue(
                        pointer(*base, "list_view"),
                        f"there is no list view {item.list_view!r} of {item.object}"
                        f"{suggest(item.list_view, known)}",
                        "unknown_list_view",
                    )
                )
            if item.kanban:
                picklist(item.object, item.kanban, *base, "kanban")
    return issues
