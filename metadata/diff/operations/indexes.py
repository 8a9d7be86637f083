"""Operations on indexes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from metadata.diff.operations.base import (
    Operation,
    _replace_object,
)
from metadata.model import Index, Model

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
