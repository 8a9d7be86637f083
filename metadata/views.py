"""Layouts and list views: how people see records (metadata only, no storage).

A layout arranges one object's fields into sections for its record page, followed by
related lists (the records of other objects that point at it: an account's contacts,
opportunities, cases). A list view is a named, filtered and sorted table of records. The
UI reads both from the active metadata; packs ship them and tenants override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metadata.identifiers import humanize
from metadata.text import Text


@dataclass(frozen=True)
class Section:
    """A titled group of fields on a record page."""

    label: Text
    fields: tuple[str, ...]
    columns: int = 2
    tab: Text | None = None
    """The tab it is on; None: the first tab."""

    def to_json(self) -> dict[str, Any]:
        out = {"label": self.label.to_json(), "columns": self.columns, "fields": list(self.fields)}
        if self.tab is not None:
            out["tab"] = self.tab.to_json()
        return out


@dataclass(frozen=True)
class RelatedList:
    """Records of ``object`` whose lookup ``field`` points at the page's record."""

    object: str
    field: str
    columns: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object, "field": self.field}
        if self.columns:
            out["columns"] = list(self.columns)
        return out


@dataclass(frozen=True)
class FieldRule:
    """When a field of a layout shows and when it is read-only: boolean expressions over
    the record and the person (``ROLE()``, ``ISMEMBER('role')``). The web app evaluates
    them as the form changes; the record service refuses a change of a field that is
    hidden or read-only by them."""

    visible: str | None = None
    read_only: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.visible:
            out["visible"] = self.visible
        if self.read_only:
            out["read_only"] = self.read_only
        return out


@dataclass(frozen=True)
class Layout:
    """The record page of one object."""

    name: str
    object: str
    label: Text
    sections: tuple[Section, ...]
    related: tuple[RelatedList, ...] = ()
    path: str | None = None
    """A picklist field shown as a path bar."""
    actions: tuple[str, ...] = ()
    """Manual workflows and approval processes shown as buttons."""
    rules: Mapping[str, FieldRule] = field(default_factory=lambda: MappingProxyType({}))
    """Field → when it shows and when it is read-only."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object": self.object,
            "label": self.label.to_json(),
            "sections": [s.to_json() for s in self.sections],
        }
        if self.related:
            out["related"] = [r.to_json() for r in self.related]
        if self.path:
            out["path"] = self.path
        if self.actions:
            out["actions"] = list(self.actions)
        if self.rules:
            out["rules"] = {name: self.rules[name].to_json() for name in sorted(self.rules)}
        return out


@dataclass(frozen=True)
class ListView:
    """A named table of records: columns, an optional filter expression and a sort."""

    name: str
    object: str
    label: Text
    columns: tuple[str, ...]
    filter: str | None = None
    """A boolean expression over the record (docs/expressions.md); None: every record."""
    sort: tuple[str, ...] = ()
    """Field names, each optionally prefixed with ``-`` for descending."""
    group_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object": self.object,
            "label": self.label.to_json(),
            "columns": list(self.columns),
        }
        if self.filter:
            out["filter"] = self.filter
        if self.sort:
            out["sort"] = list(self.sort)
        if self.group_by:
            out["group_by"] = self.group_by
        return out


@dataclass(frozen=True)
class NavItem:
    """One page of an app's navigation: an object's records, a list view or a kanban."""

    object: str
    label: Text | None = None
    list_view: str | None = None
    kanban: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object": self.object}
        if self.label is not None:
            out["label"] = self.label.to_json()
        if self.list_view:
            out["list_view"] = self.list_view
        if self.kanban:
            out["kanban"] = self.kanban
        return out


@dataclass(frozen=True)
class App:
    """An app of the web app's switcher (packs ship one each)."""

    name: str
    label: Text
    items: tuple[NavItem, ...]
    order: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label.to_json(),
            "items": [i.to_json() for i in self.items],
        }
        if self.order:
            out["order"] = self.order
        return out


@dataclass(frozen=True)
class Views:
    """All layouts and list views of a tenant, by name."""

    layouts: Mapping[str, Layout] = field(default_factory=lambda: MappingProxyType({}))
    list_views: Mapping[str, ListView] = field(default_factory=lambda: MappingProxyType({}))
    navigation: Mapping[str, App] = field(default_factory=lambda: MappingProxyType({}))

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in SECTIONS:
            items = getattr(self, key)
            if items:
                out[key] = {name: items[name].to_json() for name in sorted(items)}
        return out


EMPTY_VIEWS = Views()
#: The metadata sections these views come from.
SECTIONS = ("layouts", "list_views", "navigation")


def _label(raw: Mapping[str, Any], name: str) -> Text:
    return Text.of(raw.get("label") or humanize(name))


def build_views(document: Mapping[str, Any]) -> Views:
    """Return the layouts and list views of a validated (or canonical) document."""
    layouts = {
        name: Layout(
            name=name,
            object=raw["object"],
            label=_label(raw, name),
            sections=tuple(
                Section(
                    label=_label(s, f"section_{i + 1}"),
                    fields=tuple(s["fields"]),
                    columns=int(s.get("columns", 2)),
                    tab=Text.of(s["tab"]) if s.get("tab") else None,
                )
                for i, s in enumerate(raw.get("sections") or ())
            ),
            related=tuple(
                RelatedList(r["object"], r["field"], tuple(r.get("columns") or ()))
                for r in raw.get("related") or ()
            ),
            path=raw.get("path") or None,
            actions=tuple(raw.get("actions") or ()),
            rules=MappingProxyType(
                {
                    name: FieldRule(rule.get("visible"), rule.get("read_only"))
                    for name, rule in (raw.get("rules") or {}).items()
                }
            ),
        )
        for name, raw in (document.get("layouts") or {}).items()
    }
    list_views = {
        name: ListView(
            name=name,
            object=raw["object"],
            label=_label(raw, name),
            columns=tuple(raw["columns"]),
            filter=raw.get("filter") or None,
            sort=tuple(raw.get("sort") or ()),
            group_by=raw.get("group_by") or None,
        )
        for name, raw in (document.get("list_views") or {}).items()
    }
    navigation = {
        name: App(
            name=name,
            label=_label(raw, name),
            order=int(raw.get("order") or 0),
            items=tuple(
                NavItem(
                    object=i["object"],
                    label=Text.of(i["label"]) if i.get("label") else None,
                    list_view=i.get("list_view") or None,
                    kanban=i.get("kanban") or None,
                )
                for i in raw.get("items") or ()
            ),
        )
        for name, raw in (document.get("navigation") or {}).items()
    }
    if not layouts and not list_views and not navigation:
        return EMPTY_VIEWS
    return Views(
        MappingProxyType(layouts), MappingProxyType(list_views), MappingProxyType(navigation)
    )
