"""Typed operations: one metadata change each, as plain data.

An operation knows how to describe itself, how it changes a model (``state_forwards``,
as in Django's migrations) and what undoes it (``reverse``). It never builds SQL: the
runtime's storage layer implements each operation type (``runtime/storage/executor.py``),
the way Alembic keeps its ops apart from their implementations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, ClassVar

from metadata.diff.conversions import Conversion, classify
from metadata.errors import pointer
from metadata.model import Field, Index, Model, ObjectDef


def _rename_key(mapping: Iterable[tuple[str, Any]], old: str, new: str, value: Any) -> dict:
    """Return the mapping with key ``old`` replaced by ``new`` in the same position."""
    return {(new if k == old else k): (value if k == old else v) for k, v in mapping}


class Operation(ABC):
    """Base class: every operation is a frozen dataclass with these methods."""

    kind: ClassVar[str]
    #: Whether the operation changes tables (False: metadata only, no DDL).
    touches_storage: ClassVar[bool] = True

    @property
    def destructive(self) -> bool:
        """Return whether applying this loses data unless it is archived first."""
        return False

    @property
    @abstractmethod
    def object_name(self) -> str:
        """Return the object the operation is about (its new name for renames)."""

    @property
    def target_pointer(self) -> str:
        """Return the JSON pointer of what changed, in the new document."""
        return pointer("objects", self.object_name)

    @abstractmethod
    def describe(self) -> str:
        """Return a plain sentence saying what the operation does."""

    @abstractmethod
    def state_forwards(self, model: Model) -> Model:
        """Return the model as it is after this operation."""

    @abstractmethod
    def reverse(self) -> Operation:
        """Return the operation that undoes this one."""

    def to_dict(self) -> dict[str, Any]:
        """Return the operation as JSON-ready data for plans and the REST API."""
        return {
            "op": self.kind,
            "object": self.object_name,
            "description": self.describe(),
            "destructive": self.destructive,
            "touches_storage": self.touches_storage,
        }


def _replace_object(model: Model, obj: ObjectDef) -> Model:
    return model.with_objects({**model.objects, obj.name: obj})


def _replace_field(model: Model, object_name: str, field: Field) -> Model:
    obj = model.objects[object_name]
    return _replace_object(model, obj.with_fields({**obj.fields, field.name: field}))


# -- objects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateObject(Operation):
    obj: ObjectDef
    kind: ClassVar[str] = "create_object"

    @property
    def object_name(self) -> str:
        return self.obj.name

    def describe(self) -> str:
        count = len(self.obj.fields)
        return f"Create object {self.obj.name} with {count} field{'s' * (count != 1)}"

    def state_forwards(self, model: Model) -> Model:
        return _replace_object(model, self.obj)

    def reverse(self) -> Operation:
        return DropObject(self.obj)


@dataclass(frozen=True)
class DropObject(Operation):
    obj: ObjectDef
    kind: ClassVar[str] = "drop_object"

    @property
    def destructive(self) -> bool:
        return True

    @property
    def object_name(self) -> str:
        return self.obj.name

    def describe(self) -> str:
        return f"Drop object {self.obj.name}; its records are archived until purged"

    def state_forwards(self, model: Model) -> Model:
        return model.with_objects({k: v for k, v in model.objects.items() if k != self.obj.name})

    def reverse(self) -> Operation:
        return CreateObject(self.obj)


@dataclass(frozen=True)
class RenameObject(Operation):
    old_name: str
    new_name: str
    kind: ClassVar[str] = "rename_object"

    @property
    def object_name(self) -> str:
        return self.new_name

    def describe(self) -> str:
        return f"Rename object {self.old_name} to {self.new_name} (records kept)"

    def state_forwards(self, model: Model) -> Model:
        objects = {}
        for name, obj in model.objects.items():
            # Relations elsewhere follow the rename, as foreign keys do in the database.
            fields = {
                fname: (
                    replace(f, options={**f.options, "to": self.new_name})
                    if f.target == self.old_name
                    else f
                )
                for fname, f in obj.fields.items()
            }
            obj = obj.with_fields(fields)
            if name == self.old_name:
                obj = replace(obj, name=self.new_name, renamed_from=None)
            objects[obj.name] = obj
        return model.with_objects(objects)

    def reverse(self) -> Operation:
        return RenameObject(self.new_name, self.old_name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "from": self.old_name}


@dataclass(frozen=True)
class AlterObject(Operation):
    """Labels, plural API name or field order changed: metadata only, no DDL."""

    old: ObjectDef
    new: ObjectDef
    changes: tuple[str, ...]
    kind: ClassVar[str] = "alter_object"
    touches_storage: ClassVar[bool] = False

    @property
    def object_name(self) -> str:
        return self.new.name

    def describe(self) -> str:
        return f"Change {', '.join(self.changes)} of object {self.new.name} (metadata only)"

    def state_forwards(self, model: Model) -> Model:
        current = model.objects[self.new.name]
        fields = dict(current.fields)
        ordered = {n: fields.pop(n) for n in self.new.fields if n in fields}
        ordered.update(fields)
        return _replace_object(
            model,
            replace(
                current,
                label=self.new.label,
                plural=self.new.plural,
                plural_name=self.new.plural_name,
                description=self.new.description,
                search=self.new.search,
                junction=self.new.junction,
                history=self.new.history,
                validation_rules=self.new.validation_rules,
                transitions=self.new.transitions,
            ).with_fields(ordered),
        )

    def reverse(self) -> Operation:
        return AlterObject(self.new, self.old, self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "changes": list(self.changes)}


# -- fields --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldOperation(Operation):
    object: str

    @property
    def object_name(self) -> str:
        return self.object

    @property
    @abstractmethod
    def field_name(self) -> str:
        """Return the field the operation is about (its new name for renames)."""

    @property
    def target_pointer(self) -> str:
        return pointer("objects", self.object, "fields", self.field_name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "field": self.field_name}


@dataclass(frozen=True)
class AddField(_FieldOperation):
    field: Field
    position: int | None = None
    """Where among the object's fields to insert (None: at the end)."""
    kind: ClassVar[str] = "add_field"

    @property
    def field_name(self) -> str:
        return self.field.name

    def describe(self) -> str:
        extra = f" to {self.field.target}" if self.field.target else ""
        return f"Add {self.field.type} field {self.object}.{self.field.name}{extra}"

    def state_forwards(self, model: Model) -> Model:
        if self.position is None:
            return _replace_field(model, self.object, self.field)
        obj = model.objects[self.object]
        items = list(obj.fields.items())
        items.insert(self.position, (self.field.name, self.field))
        return _replace_object(model, obj.with_fields(dict(items)))

    def reverse(self) -> Operation:
        return DropField(self.object, self.field, self.position)


@dataclass(frozen=True)
class DropField(_FieldOperation):
    field: Field
    position: int | None = None
    """The field's place among the object's fields just before the drop, so that the
    reverse puts it back where it was (filled in by the diff)."""
    kind: ClassVar[str] = "drop_field"

    @property
    def destructive(self) -> bool:
        return not self.field.computed  # a computed field stores nothing to lose

    @property
    def field_name(self) -> str:
        return self.field.name

    def describe(self) -> str:
        return f"Drop field {self.object}.{self.field.name}; its values are archived until purged"

    def state_forwards(self, model: Model) -> Model:
        obj = model.objects[self.object]
        return _replace_object(
            model, obj.with_fields({k: v for k, v in obj.fields.items() if k != self.field.name})
        )

    def reverse(self) -> Operation:
        return AddField(self.object, self.field, self.position)


@dataclass(frozen=True)
class RenameField(_FieldOperation):
    old_name: str
    new_name: str
    kind: ClassVar[str] = "rename_field"

    @property
    def field_name(self) -> str:
        return self.new_name

    def describe(self) -> str:
        return (
            f"Rename field {self.object}.{self.old_name} to {self.object}.{self.new_name} "
            "(values kept)"
        )

    def state_forwards(self, model: Model) -> Model:
        obj = model.objects[self.object]
        renamed = replace(obj.fields[self.old_name], name=self.new_name, renamed_from=None)
        indexes = tuple(
            replace(i, fields=tuple(self.new_name if f == self.old_name else f for f in i.fields))
            for i in obj.indexes
        )
        obj = replace(
            obj.with_fields(_rename_key(obj.fields.items(), self.old_name, self.new_name, renamed)),
            indexes=indexes,
        )
        return _replace_object(model, obj)

    def reverse(self) -> Operation:
        return RenameField(self.object, self.new_name, self.old_name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "from": self.old_name}


@dataclass(frozen=True)
class AlterField(_FieldOperation):
    """A field's type, options or texts changed (not its name, uniqueness or values)."""

    old: Field
    new: Field
    changes: tuple[str, ...]
    conversion: Conversion
    kind: ClassVar[str] = "alter_field"

    @property
    def field_name(self) -> str:
        return self.new.name

    @property
    def destructive(self) -> bool:
        return self.conversion.kind == "lossy"

    @property
    def touches_storage(self) -> bool:  # type: ignore[override]
        if self.old.computed and self.new.computed:
            return False  # a new expression or scale changes what is computed, not stored
        return any(c in STORAGE_CHANGES for c in self.changes)

    def describe(self) -> str:
        parts = []
        for change in self.changes:
            if change == "type":
                parts.append(
                    f"type {_type_text(self.old)} → {_type_text(self.new)} "
                    f"({self.conversion.kind} conversion: {self.conversion.reason})"
                )
            elif change == "required":
                parts.append("make required" if self.new.required else "make optional")
            elif change in (
                "default",
                "max_length",
                "precision",
                "scale",
                "on_delete",
                "default_currency",
                "format",
                "start",
                "reset",
                "related_name",
            ):
                before, after = _option(self.old, change), _option(self.new, change)
                if before is None and "type" in self.changes:
                    continue  # an option the new type brings: shown with the type
                shown = ["none" if v is None else repr(v) for v in (before, after)]
                parts.append(f"{change.replace('_', ' ')} {shown[0]} → {shown[1]}")
            else:
                parts.append(f"change {change.replace('_', ' ')}")
        if "type" not in self.changes and self.conversion.kind in ("lossy", "checked"):
            parts.append(f"{self.conversion.kind}: {self.conversion.reason}")
        if not self.touches_storage:
            parts.append("metadata only")
        return f"Alter field {self.object}.{self.new.name}: {'; '.join(parts)}"

    def state_forwards(self, model: Model) -> Model:
        return _replace_field(model, self.object, self.new)

    def reverse(self) -> Operation:
        return AlterField(
            self.object, self.new, self.old, self.changes, classify(self.new, self.old)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "changes": list(self.changes),
            "conversion": {"kind": self.conversion.kind, "reason": self.conversion.reason},
        }


#: AlterField changes that need DDL; the rest (labels, help text, formats) are metadata.
STORAGE_CHANGES = frozenset(
    {
        "type",
        "max_length",
        "precision",
        "scale",
        "required",
        "default",
        "on_delete",
        "default_currency",
    }
)


def _type_text(field: Field) -> str:
    """Return a type with its size, e.g. ``decimal(22, 2)`` or ``text(255)``."""
    if field.option("precision") is not None:
        return f"{field.type}({field.option('precision')}, {field.option('scale')})"
    if field.option("max_length") is not None:
        return f"{field.type}({field.option('max_length')})"
    return field.type


def _option(field: Field, name: str) -> Any:
    return field.default if name == "default" else field.option(name)


@dataclass(frozen=True)
class ChangePicklistValues(_FieldOperation):
    """Values were added, removed, relabelled or reordered: no DDL, records keep values."""

    field: str
    old_values: tuple[Any, ...]
    new_values: tuple[Any, ...]
    kind: ClassVar[str] = "change_picklist_values"
    touches_storage: ClassVar[bool] = False

    @property
    def field_name(self) -> str:
        return self.field

    def describe(self) -> str:
        old = [v.value for v in self.old_values]
        new = [v.value for v in self.new_values]
        parts = []
        added = [v for v in new if v not in old]
        removed = [v for v in old if v not in new]
        if added:
            parts.append("add " + ", ".join(repr(v) for v in added))
        if removed:
            parts.append(
                "remove "
                + ", ".join(repr(v) for v in removed)
                + " (records that hold them keep them)"
            )
        if not parts:
            parts.append("relabel or reorder values")
        return f"Change picklist {self.object}.{self.field}: {'; '.join(parts)}"

    def state_forwards(self, model: Model) -> Model:
        field = model.objects[self.object].fields[self.field]
        return _replace_field(model, self.object, replace(field, values=self.new_values))

    def reverse(self) -> Operation:
        return ChangePicklistValues(self.object, self.field, self.new_values, self.old_values)


@dataclass(frozen=True)
class AddUniqueConstraint(_FieldOperation):
    field: str
    kind: ClassVar[str] = "add_unique_constraint"

    @property
    def field_name(self) -> str:
        return self.field

    def describe(self) -> str:
        return f"Make {self.object}.{self.field} unique among live records"

    def state_forwards(self, model: Model) -> Model:
        field = model.objects[self.object].fields[self.field]
        return _replace_field(model, self.object, replace(field, unique=True))

    def reverse(self) -> Operation:
        return DropUniqueConstraint(self.object, self.field)


@dataclass(frozen=True)
class DropUniqueConstraint(_FieldOperation):
    field: str
    kind: ClassVar[str] = "drop_unique_constraint"

    @property
    def field_name(self) -> str:
        return self.field

    def describe(self) -> str:
        return f"Allow repeated values in {self.object}.{self.field}"

    def state_forwards(self, model: Model) -> Model:
        field = model.objects[self.object].fields[self.field]
        return _replace_field(model, self.object, replace(field, unique=False))

    def reverse(self) -> Operation:
        return AddUniqueConstraint(self.object, self.field)


# -- indexes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddIndex(Operation):
    object: str
    index: Index
    kind: ClassVar[str] = "add_index"

    @property
    def object_name(self) -> str:
        return self.object

    def describe(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"Add {kind} on {self.object} ({', '.join(self.index.fields)})"

    def state_forwards(self, model: Model) -> Model:
        obj = model.objects[self.object]
        return _replace_object(model, replace(obj, indexes=(*obj.indexes, self.index)))

    def reverse(self) -> Operation:
        return DropIndex(self.object, self.index)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "index": self.index.to_json()}


@dataclass(frozen=True)
class DropIndex(Operation):
    object: str
    index: Index
    kind: ClassVar[str] = "drop_index"

    @property
    def object_name(self) -> str:
        return self.object

    def describe(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"Drop {kind} on {self.object} ({', '.join(self.index.fields)})"

    def state_forwards(self, model: Model) -> Model:
        obj = model.objects[self.object]
        return _replace_object(
            model, replace(obj, indexes=tuple(i for i in obj.indexes if i != self.index))
        )

    def reverse(self) -> Operation:
        return AddIndex(self.object, self.index)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "index": self.index.to_json()}


# -- metadata-only sections ----------------------------------------------------------------

_SECTION_WORDS = {
    "roles": "role",
    "permission_sets": "permission set",
    "sharing_rules": "sharing rule",
    "workflows": "workflow",
    "approvals": "approval process",
    "layouts": "layout",
    "list_views": "list view",
}


@dataclass(frozen=True)
class _ChangeNamed(Operation):
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
class ChangePermission(_ChangeNamed):
    """A role, permission set or sharing rule changed. Permissions are compiled into each
    request's SQL, so no table changes; the audit log records these as permission changes."""

    kind: ClassVar[str] = "change_permission"
    container: ClassVar[str] = "security"
    area: ClassVar[str] = "permissions"


@dataclass(frozen=True)
class ChangeAutomation(_ChangeNamed):
    """A workflow or approval process changed. Workflows run from the active metadata when
    an event is handled; runs under way finish with the definition they started with."""

    kind: ClassVar[str] = "change_automation"
    container: ClassVar[str] = "automation"
    area: ClassVar[str] = "automation"


@dataclass(frozen=True)
class ChangeView(_ChangeNamed):
    """A layout or list view changed; only what people see changes."""

    kind: ClassVar[str] = "change_view"
    container: ClassVar[str] = "views"
    area: ClassVar[str] = "views"


ALL_OPERATIONS: tuple[type[Operation], ...] = (
    CreateObject,
    DropObject,
    RenameObject,
    AlterObject,
    AddField,
    DropField,
    RenameField,
    AlterField,
    ChangePicklistValues,
    AddUniqueConstraint,
    DropUniqueConstraint,
    AddIndex,
    DropIndex,
    ChangePermission,
    ChangeAutomation,
    ChangeView,
)
