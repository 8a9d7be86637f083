"""Checks of layouts and list views: the objects and fields they name exist, related lists
follow a real lookup, and list view filters are boolean expressions over the object."""

from __future__ import annotations

from metadata.errors import Issue, pointer
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
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
    for name, view in model.views.list_views.items():
        base = ("list_views", name)
        if not object_of(view.object, *base):
            continue
        fields_of(view.object, view.columns, *base, "columns")
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
    return issues
