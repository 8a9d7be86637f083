"""The GraphQL types every tenant's schema shares: scalars of the field kinds, filter
inputs per kind, currency, history, ordering and grouping enums."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLOutputType,
    GraphQLString,
)

from metadata.kinds import KINDS, kind_of
from metadata.model import Field
from runtime.graphql.scalars import BigInt, Date, DateTime, DecimalScalar, JSONScalar, Time
from runtime.graphql.types import InputObjectType, ObjectType


def _nn(t: Any) -> Any:
    return GraphQLNonNull(t)


def _list(t: Any) -> Any:
    return GraphQLNonNull(GraphQLList(GraphQLNonNull(t)))


#: The GraphQL scalar of each name a field kind gives (``metadata.kinds``).
_SCALARS: dict[str, Any] = {
    "String": GraphQLString,
    "BigInt": BigInt,
    "Decimal": DecimalScalar,
    "Boolean": GraphQLBoolean,
    "Date": Date,
    "DateTime": DateTime,
    "Time": Time,
    "JSON": JSONScalar,
    "ID": GraphQLID,
}
#: Each stored field type's scalar (currency and multi-picklist have types of their own).
_SCALAR_OF: dict[str, Any] = {
    name: _SCALARS[k.graphql] for name, k in KINDS.items() if k.graphql in _SCALARS
}


def _description(f: Field) -> str:
    parts = [f"{f.label.get('en')} / {f.label.get('zh-CN')}"]
    if f.description:
        parts.append(f.description.get("en"))
    if f.values:
        shown = ", ".join(
            f"`{v.value}` ({v.label.get('en')} / {v.label.get('zh-CN')})"
            + (" (inactive)" if v.inactive else "")
            for v in f.values
        )
        parts.append(f"One of: {shown}." if f.type == "picklist" else f"Any of: {shown}.")
    return "\n\n".join(parts)


def _operators(name: str, scalar: Any, ops: tuple[str, ...], doc: str) -> GraphQLInputObjectType:
    lists = {"in", "notIn"}
    fields = {
        op: GraphQLInputField(GraphQLList(_nn(scalar)) if op in lists else scalar)
        for op in ops
        if op != "isNull"
    }
    fields["isNull"] = GraphQLInputField(
        GraphQLBoolean, description="true: only records without a value; false: only with one."
    )
    return InputObjectType(name, fields, description=doc)


_COMPARE = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "notIn", "isNull")
_TEXT_OPS = (*_COMPARE, "like", "ilike", "startsWith", "contains")


class _Globals:
    """Types every tenant schema shares (created per schema: graphql-core types are not
    meant to be shared between schemas)."""

    def __init__(self) -> None:
        self.currency = ObjectType(
            "CurrencyAmount",
            {
                "amount": GraphQLField(_nn(DecimalScalar)),
                "currencyCode": GraphQLField(_nn(GraphQLString), description="ISO 4217 code."),
            },
            description="A money amount with its currency.",
        )
        self.currency_input = InputObjectType(
            "CurrencyAmountInput",
            {
                "amount": GraphQLInputField(_nn(DecimalScalar)),
                "currencyCode": GraphQLInputField(
                    GraphQLString, description="ISO 4217 code; the field's default if omitted."
                ),
            },
        )
        self.page_info = ObjectType(
            "PageInfo",
            {
                "hasNextPage": GraphQLField(_nn(GraphQLBoolean)),
                "hasPreviousPage": GraphQLField(_nn(GraphQLBoolean)),
                "startCursor": GraphQLField(GraphQLString),
                "endCursor": GraphQLField(GraphQLString),
            },
        )
        self.share_access = GraphQLEnumType(
            "ShareAccess",
            {"READ": GraphQLEnumValue("read"), "EDIT": GraphQLEnumValue("edit")},
            description="What a manual share grants on a record.",
        )
        self.field_change = ObjectType(
            "FieldChange",
            {
                "field": GraphQLField(_nn(GraphQLString), description="API name of the field."),
                "oldValue": GraphQLField(JSONScalar, description="Value before the change."),
                "newValue": GraphQLField(JSONScalar, description="Value after the change."),
                "changedBy": GraphQLField(GraphQLID, description="Member who made it."),
                "changedAt": GraphQLField(_nn(DateTime)),
            },
            description="One change of a tracked field (objects opt in with `history`).",
        )
        self.direction = GraphQLEnumType(
            "OrderDirection",
            {
                name: GraphQLEnumValue(name)
                for name in (
                    "ASC",
                    "DESC",
                    "ASC_NULLS_FIRST",
                    "ASC_NULLS_LAST",
                    "DESC_NULLS_FIRST",
                    "DESC_NULLS_LAST",
                )
            },
            description="Sort direction. Without an explicit choice nulls sort last "
            "ascending and first descending, on every backend.",
        )
        self.granularity = GraphQLEnumType(
            "DateGranularity",
            {g: GraphQLEnumValue(g.lower()) for g in ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")},
            description="Bucket for grouping dates; a bucket is named by its first day "
            "(weeks start on Monday, times are UTC).",
        )
        doc = "Conditions on a {} value; all given conditions must hold."
        self.filters: dict[str, GraphQLInputObjectType] = {
            "string": _operators("StringFilter", GraphQLString, _TEXT_OPS, doc.format("text")),
            "bigint": _operators("BigIntFilter", BigInt, _COMPARE, doc.format("whole-number")),
            "decimal": _operators("DecimalFilter", DecimalScalar, _COMPARE, doc.format("decimal")),
            "date": _operators("DateFilter", Date, _COMPARE, doc.format("date")),
            "datetime": _operators("DateTimeFilter", DateTime, _COMPARE, doc.format("date-time")),
            "time": _operators("TimeFilter", Time, _COMPARE, doc.format("time")),
            "boolean": _operators(
                "BooleanFilter", GraphQLBoolean, ("eq", "neq", "isNull"), doc.format("boolean")
            ),
            "id": _operators(
                "IDFilter", GraphQLID, ("eq", "neq", "in", "notIn", "isNull"), doc.format("ID")
            ),
            "json": _operators("JSONFilter", JSONScalar, ("isNull",), doc.format("JSON")),
            "multi": _operators(
                "MultiPicklistFilter",
                GraphQLString,
                ("containsAny", "containsAll", "isNull"),
                doc.format("multi-picklist"),
            ),
        }
        for op in ("containsAny", "containsAll"):
            self.filters["multi"].fields[op].type = GraphQLList(_nn(GraphQLString))
        self.filters["currency"] = InputObjectType(
            "CurrencyAmountFilter",
            {
                "amount": GraphQLInputField(self.filters["decimal"]),
                "currencyCode": GraphQLInputField(self.filters["string"]),
                "isNull": GraphQLInputField(GraphQLBoolean),
            },
        )

    def filter_for(self, f: Field) -> GraphQLInputObjectType:
        family = kind_of(f.type).filter
        assert family is not None, f"{f.type} fields cannot be filtered"
        return self.filters[family]

    def output(self, f: Field) -> GraphQLOutputType:
        if f.name == "row_version" and f.system:
            base: Any = GraphQLInt
        elif f.type == "currency":
            base = self.currency
        elif f.type == "multi_picklist":
            base = GraphQLList(_nn(GraphQLString))
        else:
            base = _SCALAR_OF[f.type]
        return _nn(base) if f.required else base

    def input(self, f: Field, *, create: bool) -> GraphQLInputType:
        if f.type == "currency":
            base: Any = self.currency_input
        elif f.type == "multi_picklist":
            base = GraphQLList(_nn(GraphQLString))
        else:
            base = _SCALAR_OF[f.type]
        needed = create and f.required and f.default is None and f.type != "auto_number"
        return _nn(base) if needed else base
