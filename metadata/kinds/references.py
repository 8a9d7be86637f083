"""Reference kinds: lookup, master-detail and uuid, all stored as a UUID.

In text a reference is the referred record's id; finding a record by its name is the
importer's work (it needs the data), not the kind's.
"""

from __future__ import annotations

import uuid
from typing import Any

from metadata.kinds.base import Column, Kind, ValueProblem
from metadata.model import Field


class UuidKind(Kind):
    name = "uuid"
    storage = "uuid"
    graphql = "ID"
    filter = "id"
    widget = "text"
    expression = "id"
    groupable = True
    comparable = True

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None or isinstance(value, uuid.UUID):
            return value
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise ValueProblem(
                f"{value!r} is not a valid ID (a UUID)",
                f"{value!r} 不是有效的 ID（UUID）",
                "BAD_USER_INPUT",
            ) from None

    def text_forms(self) -> tuple[str, str]:
        return (
            "a UUID: 0f8fad5b-d9cb-469f-a165-70867728950e",
            "UUID：0f8fad5b-d9cb-469f-a165-70867728950e",
        )


class LookupKind(UuidKind):
    name = "lookup"
    widget = "lookup"

    def text_forms(self) -> tuple[str, str]:
        return ("the referred record's id (a UUID)", "被关联记录的 ID（UUID）")


class MasterDetailKind(LookupKind):
    name = "master_detail"


class PolymorphicLookupKind(Kind):
    """A reference to one record of any of the field's ``to`` objects: the record's id in
    the field's column and the object's name beside it. A value is ``{"object": name,
    "id": UUID}``. The database cannot keep a foreign key to several tables, so the
    record service checks that the record exists and can be read when it is written,
    and a reference to a record deleted since reads as null."""

    name = "polymorphic_lookup"
    storage = "uuid"
    graphql = "<Object><Field> union"
    filter = "polymorphic"
    widget = "polymorphic_lookup"
    sortable = False
    expression = "id"  # the referred record's id: ISBLANK(related_to) in conditions

    @staticmethod
    def object_column(field: str) -> str:
        return f"{field}__object"

    def columns(self, f: Field) -> list[Column]:
        return [Column(f.name, "uuid"), Column(self.object_column(f.name), "name")]

    def to_columns(self, f: Field, value: Any) -> dict[str, Any]:
        if value is None:
            return {f.name: None, self.object_column(f.name): None}
        return {f.name: value["id"], self.object_column(f.name): value["object"]}

    def from_json(self, f: Field, value: Any, *, rounding: bool = False) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or set(value) != {"object", "id"}:
            raise ValueProblem.expected(
                value,
                self.name,
                'an object {"object": "account", "id": "<uuid>"}',
                '对象 {"object": "account", "id": "<uuid>"}',
            )
        targets = f.targets
        if value["object"] not in targets:
            raise ValueProblem(
                f"{f.name} refers to one of {', '.join(targets)}, not {value['object']!r}",
                f"{f.name} 只能关联 {'、'.join(targets)}，不能关联 {value['object']!r}",
                "INVALID_VALUE",
                part="object",
            )
        try:
            record_id = (
                value["id"] if isinstance(value["id"], uuid.UUID) else uuid.UUID(str(value["id"]))
            )
        except ValueError:
            raise ValueProblem(
                f"{value['id']!r} is not a valid ID (a UUID)",
                f"{value['id']!r} 不是有效的 ID（UUID）",
                "BAD_USER_INPUT",
                part="id",
            ) from None
        return {"object": value["object"], "id": record_id}

    def parse(self, f: Field, text: str, locale: str) -> Any:
        obj, sep, record_id = text.partition(":")
        if not sep:
            raise ValueProblem.expected(
                text,
                self.name,
                f"object:id, such as {f.targets[0] if f.targets else 'account'}:<uuid>",
                f"对象:ID，例如 {f.targets[0] if f.targets else 'account'}:<uuid>",
            )
        return self.from_json(f, {"object": obj.strip(), "id": record_id.strip()})

    def text_forms(self) -> tuple[str, str]:
        return ("object:id, such as account:<uuid>", "对象:ID，例如 account:<uuid>")
