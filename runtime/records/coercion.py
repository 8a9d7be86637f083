"""Input values to column values: each field's checks, with the path of the input.

Values arrive already parsed to Python (a GraphQL scalar, or an import's column parsed by
its field kind); here they are checked against the field's definition (picklist values,
lengths, scales, patterns, members) so the caller gets a field path instead of a
constraint name.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from metadata.kinds import Kind, ValueProblem, kind_of
from metadata.model import Field
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
        plan = self._plan
        for key, value in values.items():
            if key == "owner":
                row["owner"] = self.member(value, [*path, key])
                continue
            f, kind, single, read_value = plan[key]
            if value is None:
                if f.required:
                    raise RecordError(
                        f"{key} is required and cannot be null",
                        "REQUIRED",
                        field=[*path, key],
                        zh=f"{key} 为必填项，不能为空",
                    )
                row.update(kind.to_columns(f, None))
                continue
            try:
                read = read_value(value)
            except ValueProblem as problem:
                where = [*path, key, problem.part] if problem.part else [*path, key]
                raise RecordError(problem.en, problem.code, field=where, zh=problem.zh) from None
            if single:
                row[f.name] = read
            else:
                row.update(kind.to_columns(f, read))
        return row

    @functools.cached_property
    def _plan(self) -> dict[str, tuple[Field, Kind, bool, Callable[[Any], Any]]]:
        """Each input key's field, kind, whether one column stores it, and its reader
        (a bulk write reads thousands of rows through this)."""
        out = {}
        for key, f in {**self.s.fields, **self.s.id_fields}.items():
            kind = kind_of(f.type)
            out[key] = (f, kind, len(kind.columns(f)) == 1, kind.reader(f, key))
        return out

    def member(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        """Return ``value`` as the id of a member of the tenant (records' owners)."""
        user = self._uuid(value, path)
        if (
            user is not None
            and self.principal.user_id is not None
            and user not in self.principal.members
        ):
            raise RecordError(
                f"{value} is not a member of this tenant",
                "INVALID_VALUE",
                field=path,
                zh=f"{value} 不是本租户的成员",
            )
        return user

    def _uuid(self, value: Any, path: list[str | int]) -> uuid.UUID | None:
        if value is None:
            return None
        try:
            return uuid.UUID(str(value))
        except ValueError:
            raise RecordError(
                f"{value!r} is not a valid ID (a UUID)",
                field=path,
                zh=f"{value!r} 不是有效的 ID（UUID）",
            ) from None
