"""Input values to column values: each field's checks, with the path of the input.

Values arrive already parsed to Python (a GraphQL scalar, or an import's column parsed by
its field kind); here they are checked against the field's definition (picklist values,
lengths, scales, patterns, members) so the caller gets a field path instead of a
constraint name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from metadata.field_types import TYPES
from metadata.model import Field
from runtime.records.errors import RecordError
from runtime.sql import naming

if TYPE_CHECKING:
    from runtime.model.shape import ObjectShape
    from runtime.security.principal import Principal

_PATTERNS = {
    kind: re.compile(TYPES[kind].default_schema["pattern"])  # type: ignore[index]
    for kind in ("email", "phone", "url")
}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")


class Values:
    """The value half of a Writer: ``row`` turns one input into its columns."""

    s: ObjectShape
    principal: Principal

    def row(self, values: Mapping[str, Any], path: list[str | int]) -> dict[str, Any]:
        """Return the column values for input ``values`` (GraphQL names), checked."""
        row: dict[str, Any] = {}
        for key, value in values.items():
            here = [*path, key]
            if key == "owner":
                row["owner"] = self.member(value, here)
                continue
            f = self.s.fields.get(key) or self.s.id_fields[key]
            if value is None:
                if f.required:
                    raise RecordError(
                        f"{key} is required and cannot be null", "REQUIRED", field=here
                    )
                row[f.name] = None
                if f.type == "currency":
                    row[naming.currency_code_column(f.name)] = None
                continue
            self._check(f, value, here)
            if f.type == "currency":
                row[f.name] = value["amount"]
                code = value.get("currencyCode") or f.option("default_currency")
                if not _CURRENCY_CODE.match(code):
                    raise RecordError(
                        f"currencyCode {code!r} is not an ISO 4217 code such as CNY or USD",
                        field=[*here, "currencyCode"],
                    )
                row[naming.currency_code_column(f.name)] = code
            elif f.is_relation or f.type == "uuid":
                row[f.name] = self._uuid(value, here)
            else:
                row[f.name] = value
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

    def _check(self, f: Field, value: Any, path: list[str | int]) -> None:
        kind = f.type
        name = path[-1]
        if TYPES[kind].is_string and len(value) > f.option("max_length"):
            raise RecordError(
                f"{name} is {len(value)} characters long; the limit is {f.option('max_length')}",
                "VALUE_TOO_LONG",
                field=path,
            )
        if kind in _PATTERNS and not _PATTERNS[kind].match(value):
            raise RecordError(f"{name}: {value!r} is not a valid {kind}", field=path)
        if kind in ("picklist", "multi_picklist"):
            allowed = [v.value for v in f.values if not v.inactive]
            chosen = [value] if kind == "picklist" else value
            for item in chosen:
                if item not in allowed:
                    raise RecordError(
                        f"{name}: {item!r} is not one of {', '.join(allowed)}",
                        "INVALID_VALUE",
                        field=path,
                    )
            if kind == "multi_picklist" and len(set(value)) != len(value):
                raise RecordError(f"{name} lists a value twice", "INVALID_VALUE", field=path)
        if kind in ("decimal", "percent", "currency"):
            amount: Decimal = value["amount"] if kind == "currency" else value
            scale, precision = f.option("scale"), f.option("precision")
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > scale:
                raise RecordError(
                    f"{name} has more than {scale} decimal places; round it first",
                    "INVALID_VALUE",
                    field=path,
                )
            # adjusted(): the exponent of the leading digit, with no arithmetic that could
            # overflow the decimal context (1e1000000 is a valid GraphQL Decimal).
            if amount and amount.adjusted() >= precision - scale:
                raise RecordError(
                    f"{name} is too large: at most {precision - scale} digits before the point",
                    "INVALID_VALUE",
                    field=path,
                )
        if kind == "duration" and value < 0:
            raise RecordError(f"{name} cannot be negative", "INVALID_VALUE", field=path)
