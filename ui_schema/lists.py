"""List views, kanbans, actions and the apps of the switcher, for one viewer.

A list view's filter stays on the server: the web app asks for ``leads(view: "lead_pool")``
and the data API checks the view's expression against the reader (``runtime.query.views``).
A view whose filter, sort or grouping needs a field the viewer cannot read is left out
entirely, so its name, its count and its records tell them nothing. Columns they cannot
read are dropped from the views they keep.
"""

from __future__ import annotations

from typing import Any

from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from metadata.model import Model
from metadata.views import ListView
from runtime.model.shape import ApiShape, ObjectShape
from ui_schema.fields import api_name, by_name, title_field
from ui_schema.locales import pick


def order_by(shape: ApiShape, s: ObjectShape, sort: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """Return a view's sort as the data API's ``orderBy`` (None if a key is hidden). A
    lookup sorts by the title of the record it names."""
    out: list[dict[str, Any]] = []
    for key in sort:
        field, direction = key.lstrip("-"), "DESC" if key.startswith("-") else "ASC"
        name = api_name(s, field)
        if name is None:
            return None
        if name in s.fields:
            out.append({name: direction})
            continue
        rel = next((r for r, rel in s.relations.items() if rel.via == field), None)
        target = shape.objects.get(s.relations[rel].target) if rel else None
        if rel is None or target is None:
            return None
        out.append({rel: {api_name(target, title_field(target)): direction}})
    return out


def list_view(
    shape: ApiShape, s: ObjectShape, view: ListView, locale: str
) -> dict[str, Any] | None:
    """Return ``view`` for this viewer, or None when it needs a field they cannot read."""
    readable = by_name(s)
    if view.filter:
        try:
            check(view.filter, shape.model, view.object, expect=BOOLEAN)
        except ExpressionError:
            return None
    sort = order_by(shape, s, view.sort)
    if sort is None or (view.group_by and view.group_by not in readable):
        return None
    columns = [c for c in view.columns if c in readable]
    return {
        "name": view.name,
        "label": pick(view.label, locale),
        "kind": "metadata",
        "view": view.name,
        "columns": columns or [title_field(s)],
        "orderBy": sort,
        "groupBy": view.group_by,
        "filter": None,
    }


def all_records(s: ObjectShape, locale: str) -> dict[str, Any]:
    """Return the view every object has: every record the viewer can see."""
    title = title_field(s)
    readable = by_name(s)
    columns = [
        title,
        *[
            n
            for n, f in readable.items()
            if n != title and not f.system and f.type not in ("long_text", "rich_text", "json")
        ][:5],
    ]
    if "owner" in readable:
        columns.append("owner")
    return {
        "name": "all",
        "label": {"en": "All {p}", "zh-CN": "全部{p}"}.get(locale, "All {p}").format(
            p=pick(s.obj.plural, locale)
        ),
        "kind": "metadata",
        "view": None,
        "columns": columns,
        "orderBy": [{"updatedAt": "DESC"}] if "updatedAt" in s.fields else [],
        "groupBy": None,
        "filter": None,
    }


def kanbans(
    model: Model, s: ObjectShape, role: str | None, admin: bool, locale: str
) -> list[dict[str, Any]]:
    """Return a kanban per picklist of ``s``: columns, the moves the viewer may make (its
    state machine's, for their role), whether they may move cards at all, and the
    currency field whose amounts the column totals add."""
    readable = by_name(s)
    money = next((n for n, f in readable.items() if f.type == "currency"), None)
    reach = set(model.security.subtree(role)) if role else set()
    out = []
    for name, f in readable.items():
        if f.type != "picklist" or not f.values:
            continue
        values = [v.value for v in f.values if not v.inactive]
        machine = s.obj.transitions.get(name)
        if machine is None:
            moves = {v: [w for w in values if w != v] for v in values}
        else:
            moves = {v: [] for v in values}
            for t in machine.allow:
                if t.roles and not admin and not reach & set(t.roles):
                    continue
                for source in t.sources:
                    for target in t.targets:
                        if target != source and target not in moves.setdefault(source, []):
                            moves[source].append(target)
        out.append(
            {
                "field": name,
                "api": api_name(s, name),
                "label": pick(f.label, locale),
                "columns": [
                    {"value": v.value, "label": pick(v.label, locale), "color": v.color}
                    for v in f.values
                    if not v.inactive
                ],
                "moves": moves,
                "editable": name not in s.read_only and "update" in s.allow,
                "sum": money,
                "sumApi": api_name(s, money) if money else None,
                "currency": (readable[money].option("default_currency") or "CNY")
                if money
                else None,
            }
        )
    return out


def actions(
    model: Model, s: ObjectShape, names: tuple[str, ...], role: str | None, admin: bool, locale: str
) -> list[dict[str, Any]]:
    """Return the layout's action buttons the viewer may use: manual workflows and
    conversions their role may start (or a role below theirs may: managers can do what
    their reps do) and approval processes of an object they may edit."""
    automation = model.automation
    reach = set(model.security.subtree(role)) if role else set()
    out: list[dict[str, Any]] = []
    for name in names:
        workflow = automation.workflows.get(name)
        if workflow is not None and workflow.trigger.kind == "manual":
            trigger = workflow.trigger
            if trigger.roles and not admin and not reach & set(trigger.roles):
                continue
            if trigger.access != "read" and "update" not in s.allow:
                continue
            label = trigger.label or workflow.label
            out.append({"kind": "workflow", "name": name, "label": pick(label, locale)})
            continue
        conversion = automation.conversions.get(name)
        if conversion is not None:
            if conversion.roles and not admin and not reach & set(conversion.roles):
                continue
            if "update" not in s.allow:
                continue
            out.append(
                {
                    "kind": "conversion",
                    "name": name,
                    "label": pick(conversion.label, locale),
                    "targets": [{"name": t.name, "object": t.object} for t in conversion.targets],
                }
            )
            continue
        process = automation.approvals.get(name)
        if process is not None and "update" in s.allow:
            out.append({"kind": "approval", "name": name, "label": pick(process.label, locale)})
    return out


def apps(model: Model, shape: ApiShape, locale: str) -> list[dict[str, Any]]:
    """Return the apps of the switcher with the pages the viewer can open (an app with
    none is left out)."""
    out = []
    for app in sorted(model.views.navigation.values(), key=lambda a: (a.order, a.name)):
        items = []
        for item in app.items:
            s = shape.objects.get(item.object)
            if s is None:
                continue
            label = item.label
            if item.list_view:
                view = model.views.list_views.get(item.list_view)
                if view is None or list_view(shape, s, view, locale) is None:
                    continue  # a view the viewer cannot use is not offered
                label = label or view.label
            items.append(
                {
                    "object": item.object,
                    "label": pick(label or s.obj.plural, locale),
                    "view": item.list_view,
                    "kanban": item.kanban if item.kanban in by_name(s) else None,
                }
            )
        if items:
            out.append({"name": app.name, "label": pick(app.label, locale), "items": items})
    return out
