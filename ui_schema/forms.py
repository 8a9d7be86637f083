"""A layout as a UI schema in the JSON Forms style, for one viewer.

The record page is ``Categorization`` (tabs) of ``Group`` s (the layout's sections) of
``Control`` s (fields), each pointing into the record's JSON Schema
(``#/properties/<field>``) with its widget in ``options``. Beside the JSON Forms tree sit
what a CRM record page needs and JSON Forms has no element for: the path bar, related
lists and action buttons. Hidden fields are simply absent; a section left with no field
the viewer can read is dropped, and so is a related list of an object they cannot read.
"""

from __future__ import annotations

from typing import Any

from metadata.expressions.portable import check_rule, fields_of, tree
from metadata.model import Model
from metadata.views import Layout, RelatedList, Section
from runtime.model.shape import ApiShape, ObjectShape
from ui_schema.fields import api_name, by_name, selection, title_field
from ui_schema.locales import pick
from ui_schema.words import WORDS


def default_layout(model: Model, obj: str) -> Layout:
    """Return the layout of an object that has none: its own fields in one section, then a
    related list per lookup pointing at it."""
    o = model.objects[obj]
    related = tuple(
        RelatedList(other.name, f.name)
        for other in model.objects.values()
        for f in other.fields.values()
        if f.target == obj or obj in f.targets
    )
    return Layout(
        name=obj,
        object=obj,
        label=o.label,
        sections=(Section(o.label, tuple(n for n in o.fields), 2),),
        related=related,
    )


def layout_of(model: Model, obj: str, name: str | None = None) -> Layout:
    """Return the layout ``name`` of ``obj``, or its first, or a default one."""
    layouts = [lay for lay in model.views.layouts.values() if lay.object == obj]
    if name:
        for lay in layouts:
            if lay.name == name:
                return lay
    return layouts[0] if layouts else default_layout(model, obj)


def ui_schema(
    shape: ApiShape,
    s: ObjectShape,
    layout: Layout,
    locale: str,
    actions: list[dict[str, Any]],
) -> dict[str, Any]:
    """Return the record page of ``layout`` for this viewer."""
    readable = by_name(s)
    rules = field_rules(shape, s, layout)
    tabs: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    first_tab = WORDS[locale]["record.details"]
    for section in layout.sections:
        controls = [
            {
                "type": "Control",
                "scope": f"#/properties/{name}",
                "options": {"field": name, **rules.get(name, {})},
            }
            for name in section.fields
            if name in readable
        ]
        if not controls:
            continue
        tab = pick(section.tab, locale) if section.tab is not None else first_tab
        if tab not in tabs:
            tabs[tab] = []
            order.append(tab)
        tabs[tab].append(
            {
                "type": "Group",
                "label": pick(section.label, locale),
                "options": {"columns": section.columns},
                "elements": controls,
            }
        )
    out: dict[str, Any] = {
        "type": "Categorization",
        "layout": layout.name,
        "label": pick(layout.label, locale),
        "elements": [{"type": "Category", "label": tab, "elements": tabs[tab]} for tab in order],
        "related": related_lists(shape, s, layout, locale),
        "actions": actions,
    }
    path = layout.path if layout.path in readable else None
    if path:
        out["path"] = path
    return out


def field_rules(shape: ApiShape, s: ObjectShape, layout: Layout) -> dict[str, dict[str, Any]]:
    """Return each field's rules as trees the browser evaluates (``visibleWhen``,
    ``readOnlyWhen``), with the fields they read (``ruleFields``). A rule that reads a
    field the viewer cannot is not sent (it would name that field); the record service
    still applies it when they save."""
    readable = by_name(s)
    out: dict[str, dict[str, Any]] = {}
    for name, rule in layout.rules.items():
        if name not in readable:
            continue
        entry: dict[str, Any] = {}
        reads: set[str] = set()
        for key, text in (("visibleWhen", rule.visible), ("readOnlyWhen", rule.read_only)):
            if not text:
                continue
            typed = check_rule(text, shape.complete, s.name)
            if not fields_of(typed) <= set(readable):
                continue
            entry[key] = tree(typed)
            reads |= fields_of(typed)
        if entry:
            entry["ruleFields"] = sorted(reads)
            out[name] = entry
    return out


def related_lists(
    shape: ApiShape, s: ObjectShape, layout: Layout, locale: str
) -> list[dict[str, Any]]:
    """Return the related lists the viewer can read, with the GraphQL to fetch them."""
    out = []
    for related in layout.related:
        target = shape.objects.get(related.object)
        if target is None:
            continue
        fields = by_name(target)
        via = fields.get(related.field)
        if via is None:
            continue
        title = title_field(target)
        columns = [c for c in (related.columns or (title,)) if c in fields]
        if title not in columns and title in fields:
            columns = [title, *columns]
        if via.type == "polymorphic_lookup":
            condition = {api_name(target, via.name): {"id": {"eq": "$id"}}}
        else:
            key = api_name(target, via.name)
            condition = {key if key and key.endswith("Id") else f"{key}Id": {"eq": "$id"}}
        out.append(
            {
                "object": related.object,
                "label": pick(target.obj.plural, locale),
                "field": related.field,
                "fieldApi": api_name(target, via.name),
                "polymorphic": via.type == "polymorphic_lookup",
                "list": target.plural,
                "filter": condition,
                "columns": columns,
                "select": [selection(shape, target, c) for c in columns],
                "canCreate": "create" in target.allow,
            }
        )
    return out
