"""Operations on fields: add, drop, rename, alter, picklist values and uniqueness."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from metadata.diff.conversions import Conversion, classify
from metadata.diff.operations.base import (
    Operation,
    _rename_key,
    _replace_field,
    _replace_object,
)
from metadata.errors import pointer
from metadata.model import Field, Model

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
