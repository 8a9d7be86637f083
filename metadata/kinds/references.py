"""Reference kinds: lookup, master-detail and uuid, all stored as a UUID.

In text a reference is the referred record's id; finding a record by its name is the
importer's work (it needs the data), not the kind's.
"""

from __future__ import annotations

import uuid
from typing import Any

from metadata.kinds.base import Kind, ValueProblem
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
