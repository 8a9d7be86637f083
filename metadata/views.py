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

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label.to_json(), "columns": self.columns, "fields": list(self.fields)}


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
class Layout:
    """The record page of one object."""

    name: str
    object: str
    label: Text
    sections: tuple[Section, ...]
    related: tuple[RelatedList, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "object": self.object,
            "label": self.label.to_json(),
            "sections": [s.to_json() for s in self.sections],
        }
        if self.related:
            out["related"] = [r.to_json() for r in self.related]
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
        return out


@dataclass(frozen=True)
class Views:
    """All layouts and list views of a tenant, by name."""

    layouts: Mapping[str, Layout] = field(default_factory=lambda: MappingProxyType({}))
    list_views: Mapping[str, ListView] = field(default_factory=lambda: MappingProxyType({}))

    def to_document(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("layouts", "list_views"):
            items = getattr(self, key)
            if items:
                out[key] = {name: items[name].to_json() for name in sorted(items)}
        return out


EMPTY_VIEWS = Views()


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
                )
                for i, s in enumerate(raw.get("sections") or ())
            ),
            related=tuple(
                RelatedList(r["object"], r["field"], tuple(r.get("columns") or ()))
                for r in raw.get("related") or ()
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
        )
        for name, raw in (document.get("list_views") or {}).items()
    }
    if not layouts and not list_views:
        return EMPTY_VIEWS
    return Views(MappingProxyType(layouts), MappingProxyType(list_views))
