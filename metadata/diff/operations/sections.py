"""Metadata-only operations: permissions, automation and views (no storage change)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, ClassVar

from metadata.diff.operations.base import (
    Operation,
)
from metadata.errors import pointer
from metadata.model import Model

# -- metadata-only sections ----------------------------------------------------------------

_SECTION_WORDS = {
    "roles": "role",
    "permission_sets": "permission set",
    "sharing_rules": "sharing rule",
    "workflows": "workflow",
    "approvals": "approval process",
    "calendars": "working-day calendar",
    "conversions": "conversion",
    "layouts": "layout",
    "list_views": "list view",
    "navigation": "app",
}


@dataclass(frozen=True)
class ChangeNamed(Operation):
    """A named item of a metadata-only section was added, changed or removed.

    The subclasses differ only in which part of the Model holds the section (``container``)
    and how the change is worded, so the audit log and plans can tell them apart.
    """

    section: str
    name: str
    old: Any
    new: Any
    touches_storage: ClassVar[bool] = False
    container: ClassVar[str]
    """The Model attribute holding the section: ``security``, ``automation`` or ``views``."""
    area: ClassVar[str]
    """How ``describe`` names the kind of change."""

    @property
    def object_name(self) -> str:
        item = self.new if self.new is not None else self.old
        return getattr(item, "object", None) or ""

    @property
    def target_pointer(self) -> str:
        return pointer(self.section, self.name)

    def describe(self) -> str:
        what = f"{_SECTION_WORDS[self.section]} {self.name}"
        verb = "Add" if self.old is None else "Remove" if self.new is None else "Change"
        return f"{verb} {what} ({self.area}, metadata only)"

    def state_forwards(self, model: Model) -> Model:
        holder = getattr(model, self.container)
        items = dict(getattr(holder, self.section))
        if self.new is None:
            items.pop(self.name, None)
        else:
            items[self.name] = self.new
        return replace(
            model, **{self.container: replace(holder, **{self.section: MappingProxyType(items)})}
        )

    def reverse(self) -> Operation:
        return type(self)(self.section, self.name, self.new, self.old)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "section": self.section,
            "name": self.name,
            "before": self.old.to_json() if self.old is not None else None,
            "after": self.new.to_json() if self.new is not None else None,
        }


@dataclass(frozen=True)
class ChangePermission(ChangeNamed):
    """A role, permission set or sharing rule changed. Permissions are compiled into each
    request's SQL, so no table changes; the audit log records these as permission changes."""

    kind: ClassVar[str] = "change_permission"
    container: ClassVar[str] = "security"
    area: ClassVar[str] = "permissions"


@dataclass(frozen=True)
class ChangeAutomation(ChangeNamed):
    """A workflow or approval process changed. Workflows run from the active metadata when
    an event is handled; runs under way finish with the definition they started with."""

    kind: ClassVar[str] = "change_automation"
    container: ClassVar[str] = "automation"
    area: ClassVar[str] = "automation"


@dataclass(frozen=True)
class ChangeView(ChangeNamed):
    """A layout or list view changed; only what people see changes."""

    kind: ClassVar[str] = "change_view"
    container: ClassVar[str] = "views"
    area: ClassVar[str] = "views"
