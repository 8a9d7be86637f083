"""Input values to column values: each field's checks, with the path of the input.

Values arrive already parsed to Python (a GraphQL scalar, or an import's column parsed by
its field kind); here they are checked against the field's definition (picklist values,
lengths, scales, patterns, members) so the caller gets a field path instead of a
constraint name.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from metadata.kinds import ValueProblem, kind_of
from runtime.records.errors import RecordError

if TYPE_CHECKING:
    from runtime.model.shape import ObjectShape
    from runtime.security.principal import Principal


class Values:
    """The value half of a Writer: ``row`` turns one input into its columns."""

    s: ObjectShape
    principal: Principal

    def row(self, values: Mapping[str, Any], path: list[str | int]) -> dict[str, Any]:
        """Return the column values for input ``values`` (API names), read and checked
        by each field's kind."""
        row: dict[str, Any] = {}
        for key, value in values.items():
            here = [*path, key]
            if key == "owner":
                row["owner"] = self.member(value, here)
                continue
            f = self.s.fields.get(key) or self.s.id_fields[key]
            kind = kind_of(f.type)
            if value is None:
                if f.required:
                    raise RecordError(
                        f"{key} is required and cannot be null",
                        "REQUIRED",
                        field=here,
                        zh=f"{key} 为必填项，不能为空",
                    )
                row.update(kind.to_columns(f, None))
                continue
            try:
                read = kind.from_json(f, value)
                kind.check(f, read, key)
            except ValueProblem as problem:
                where = [*here, problem.part] if problem.part else here
                raise RecordError(problem.en, problem.code, field=where, zh=problem.zh) from None
            row.update(kind.to_columns(f, read))
        return row

    def member(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        """Return ``value`` as the id of a member of the tenant (records' owners)."""
        user = self._uuid(value, path)
        if (
            user is not None
            and self.principal.user_id is not None
            and user not in self.principal.members
        ):
            raise RecordError(
                f"{value} is not a member of this tenant", "INVALID_VALUE", field=path
            )
        return user

    def _uuid(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        if value is None:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise RecordError(f"{value!r} is not a valid ID (a UUID)", field=path) from None
