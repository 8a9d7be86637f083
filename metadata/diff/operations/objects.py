"""Operations on objects: create, drop, rename and alter."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from metadata.diff.operations.base import (
    Operation,
    _replace_object,
)
from metadata.model import Model, ObjectDef

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
