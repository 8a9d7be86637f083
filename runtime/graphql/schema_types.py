"""The GraphQL types every tenant's schema shares: scalars of the field kinds, filter
inputs per kind, currency, history, ordering and grouping enums."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLFloat,
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


#: The parts of an address as the API names them, with their descriptions.
_ADDRESS_DOCS = (
    ("country", "Country (中国)."),
    ("province", "Province, autonomous region or municipality (广东省)."),
    ("city", "City or prefecture (深圳市)."),
    ("district", "District or county (南山区)."),
    ("street", "Street and number, building, room (科技园路1号)."),
    ("postalCode", "Postal code (518057)."),
)


class _Globals:
    """Types every tenant schema shares (created per schema: graphql-core types are not
    meant to be shared between schemas)."""

    #: Field kinds whose value is an object, and the attribute holding its type (the
    #: input type is the same name with ``_input``).
    _composite_outputs = {
        "currency": "currency",
        "address": "address",
        "geolocation": "geo_point",
        "polymorphic_lookup": "polymorphic",  # its output is a union the builder makes
        "attachment": "attachment",  # no input: files come through the files API
    }

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
        self._places()
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
        self.relative = InputObjectType(
            "RelativeDates",
            {
                "unit": GraphQLInputField(_nn(self.granularity)),
                "from": GraphQLInputField(_nn(GraphQLInt), description="0: the current one."),
                "to": GraphQLInputField(_nn(GraphQLInt)),
            },
            description="Periods counted from the current one in the tenant's time zone, "
            "both ends included: {unit: DAY, from: -6, to: 0} is the last 7 days with today, "
            "{unit: MONTH, from: 0, to: 0} this month, {unit: QUARTER, from: 1, to: 1} the "
            "next quarter. Weeks start on Monday.",
        )
        for family in ("date", "datetime"):
            self.filters[family].fields["relative"] = GraphQLInputField(self.relative)
        self.filters["currency"] = InputObjectType(
            "CurrencyAmountFilter",
            {
                "amount": GraphQLInputField(self.filters["decimal"]),
                "currencyCode": GraphQLInputField(self.filters["string"]),
                "isNull": GraphQLInputField(GraphQLBoolean),
            },
        )
        self._place_filters()

    def _places(self) -> None:
        parts = [(api, doc) for api, doc in _ADDRESS_DOCS]
        self.address = ObjectType(
            "Address",
            {
                **{api: GraphQLField(GraphQLString, description=doc) for api, doc in parts},
                "line": GraphQLField(
                    _nn(GraphQLString), description="All parts on one line, in Chinese order."
                ),
            },
            description="A postal address in Chinese order (country first).",
        )
        self.address_input = InputObjectType(
            "AddressInput",
            {api: GraphQLInputField(GraphQLString, description=doc) for api, doc in parts},
            description="The parts of an address; those left out stay empty.",
        )
        self.geo_point = ObjectType(
            "GeoPoint",
            {
                "latitude": GraphQLField(_nn(GraphQLFloat), description="Degrees north (-90-90)."),
                "longitude": GraphQLField(
                    _nn(GraphQLFloat), description="Degrees east (-180-180)."
                ),
            },
            description="A point on Earth (WGS 84).",
        )
        self.attachment = ObjectType(
            "Attachment",
            {
                "name": GraphQLField(_nn(GraphQLString), description="The file's name."),
                "size": GraphQLField(_nn(BigInt), description="Bytes."),
                "contentType": GraphQLField(_nn(GraphQLString)),
                "checksum": GraphQLField(_nn(GraphQLString), description="SHA-256, hex."),
                "url": GraphQLField(
                    _nn(GraphQLString),
                    description="Where to download it (GET, with the same credentials); "
                    "PUT uploads a new one, DELETE removes it.",
                ),
            },
            description="A file kept for an attachment field.",
        )
        self.polymorphic_input = InputObjectType(
            "PolymorphicReferenceInput",
            {
                "object": GraphQLInputField(
                    _nn(GraphQLString), description="The object referred to (its name)."
                ),
                "id": GraphQLInputField(_nn(GraphQLID), description="The record's id."),
            },
            description="A reference to a record of one of a polymorphic lookup's objects.",
        )
        self.geo_point_input = InputObjectType(
            "GeoPointInput",
            {
                "latitude": GraphQLInputField(_nn(GraphQLFloat)),
                "longitude": GraphQLInputField(_nn(GraphQLFloat)),
            },
        )

    def _place_filters(self) -> None:
        self.filters["address"] = InputObjectType(
            "AddressFilter",
            {
                **{api: GraphQLInputField(self.filters["string"]) for api, _ in _ADDRESS_DOCS},
                "line": GraphQLInputField(
                    self.filters["string"], description="The whole address on one line."
                ),
                "isNull": GraphQLInputField(GraphQLBoolean),
            },
            description="Conditions on an address's parts; all given conditions must hold.",
        )
        self.filters["attachment"] = InputObjectType(
            "AttachmentFilter",
            {
                "name": GraphQLInputField(self.filters["string"]),
                "contentType": GraphQLInputField(self.filters["string"]),
                "isNull": GraphQLInputField(GraphQLBoolean),
            },
        )
        self.filters["geo"] = InputObjectType(
            "GeoFilter",
            {
                "within": GraphQLInputField(
                    InputObjectType(
                        "GeoWithin",
                        {
                            "latitude": GraphQLInputField(_nn(GraphQLFloat)),
                            "longitude": GraphQLInputField(_nn(GraphQLFloat)),
                            "km": GraphQLInputField(
                                _nn(GraphQLFloat), description="Great-circle distance."
                            ),
                        },
                    ),
                    description="Only points at most `km` kilometres from the given point.",
                ),
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
        elif f.type in self._composite_outputs:
            base = getattr(self, self._composite_outputs[f.type])
        elif f.type == "multi_picklist":
            base = GraphQLList(_nn(GraphQLString))
        else:
            base = _SCALAR_OF[f.type]
        return _nn(base) if f.required else base

    def input(self, f: Field, *, create: bool) -> GraphQLInputType:
        if f.type in self._composite_outputs:
            base: Any = getattr(self, self._composite_outputs[f.type] + "_input")
        elif f.type == "multi_picklist":
            base = GraphQLList(_nn(GraphQLString))
        else:
            base = _SCALAR_OF[f.type]
        needed = create and f.required and f.default is None and f.type != "auto_number"
        return _nn(base) if needed else base
