"""The operation base class and what every operation shares."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar

from metadata.errors import pointer
from metadata.model import Field, Model, ObjectDef


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
