"""Build a tenant's GraphQL schema from its metadata, directly at the graphql-core level.

Types are built without resolvers: the compiler turns each root field into SQL, so the
schema only has to describe. Building at this level takes milliseconds (Strawberry's
decorators take ~60x longer), see ``benchmarks/schema_build.py``.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLArgument,
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
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from metadata.identifiers import camel_case
from metadata.kinds import KINDS, kind_of
from metadata.model import Field
from runtime.graphql.scalars import BigInt, Date, DateTime, DecimalScalar, JSONScalar, Time
from runtime.graphql.types import InputObjectType, ObjectType
from runtime.limits import Limits
from runtime.model.shape import (
    GROUPABLE_TYPES,
    NUMERIC_TYPES,
    ORDERED_TYPES,
    UNSORTABLE_TYPES,
    ApiShape,
    ObjectShape,
    build_shape,
)


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


class _Builder:
    def __init__(self, shape: ApiShape, limits: Limits) -> None:
        self.shape = shape
        self.limits = limits
        self.g = _Globals()
        self.objects: dict[str, GraphQLObjectType] = {}
        self.filters: dict[str, GraphQLInputObjectType] = {}
        self.list_filters: dict[str, GraphQLInputObjectType] = {}
        self.order_bys: dict[str, GraphQLInputObjectType] = {}

    # -- per object types, created lazily so relations can refer in any order -----------

    def object_type(self, s: ObjectShape) -> GraphQLObjectType:
        if s.name not in self.objects:
            self.objects[s.name] = ObjectType(
                s.type_name, self._object_fields(s), description=self._object_doc(s)
            )
        return self.objects[s.name]

    def _object_doc(self, s: ObjectShape) -> str:
        doc = f"{s.obj.label.get('en')} / {s.obj.label.get('zh-CN')}"
        return doc + (f"\n\n{s.obj.description.get('en')}" if s.obj.description else "")

    def _object_fields(self, s: ObjectShape) -> Callable[[], dict[str, GraphQLField]]:
        def thunk() -> dict[str, GraphQLField]:
            out: dict[str, GraphQLField] = {}
            for name, f in s.fields.items():
                out[name] = GraphQLField(self.g.output(f), description=_description(f))
            for name, f in s.id_fields.items():
                out[name] = GraphQLField(
                    _nn(GraphQLID) if f.required else GraphQLID,
                    description=f"ID of the record `{f.name}` refers to.",
                )
            for name, rel in s.relations.items():
                target = self.shape.objects[rel.target]
                if rel.kind == "to_one":
                    f = s.obj.fields[rel.via]
                    out[name] = GraphQLField(self.object_type(target), description=_description(f))
                else:
                    out[name] = GraphQLField(
                        _list(self.object_type(target)),
                        self._list_args(target),
                        description=(
                            f"{target.obj.plural.get('en')} whose `{rel.via}` is this record."
                            if rel.kind == "to_many"
                            else f"{target.obj.plural.get('en')} linked through `{rel.junction}`."
                        ),
                    )
            if s.obj.history:
                tracked = ", ".join(camel_case(n) for n in s.obj.history)
                out["fieldHistory"] = GraphQLField(
                    _list(self.g.field_change),
                    {
                        "field": GraphQLArgument(GraphQLString, description="Only this field."),
                        "first": GraphQLArgument(GraphQLInt, default_value=50),
                    },
                    description=f"Changes to tracked fields ({tracked}), newest first.",
                )
            return out

        return thunk

    def _list_args(self, s: ObjectShape) -> dict[str, GraphQLArgument]:
        return {
            "filter": GraphQLArgument(self.filter_type(s)),
            "orderBy": GraphQLArgument(GraphQLList(_nn(self.order_by_type(s)))),
            "first": GraphQLArgument(
                GraphQLInt,
                description=f"At most this many (default and limit {self.limits.max_page_size}).",
            ),
            "offset": GraphQLArgument(GraphQLInt, description="Skip this many first."),
        }

    def filter_type(self, s: ObjectShape) -> GraphQLInputObjectType:
        if s.name not in self.filters:

            def thunk() -> dict[str, GraphQLInputField]:
                out: dict[str, GraphQLInputField] = {}
                for name, f in s.fields.items():
                    out[name] = GraphQLInputField(self.g.filter_for(f))
                for name in s.id_fields:
                    out[name] = GraphQLInputField(self.g.filters["id"])
                for name, rel in s.relations.items():
                    target = self.shape.objects[rel.target]
                    if rel.kind == "to_one":
                        out[name] = GraphQLInputField(
                            self.filter_type(target),
                            description="Conditions on the referred record.",
                        )
                    else:
                        out[name] = GraphQLInputField(self.list_filter_type(target))
                me = self.filters[s.name]
                out["and"] = GraphQLInputField(GraphQLList(_nn(me)), description="All hold.")
                out["or"] = GraphQLInputField(GraphQLList(_nn(me)), description="Any holds.")
                out["not"] = GraphQLInputField(
                    me, description="Does not hold (records where it is unknown count too)."
                )
                return out

            self.filters[s.name] = InputObjectType(f"{s.type_name}Filter", thunk)
        return self.filters[s.name]

    def list_filter_type(self, s: ObjectShape) -> GraphQLInputObjectType:
        if s.name not in self.list_filters:
            inner = self.filter_type(s)
            self.list_filters[s.name] = InputObjectType(
                f"{s.type_name}ListFilter",
                {
                    "some": GraphQLInputField(inner, description="At least one related matches."),
                    "none": GraphQLInputField(inner, description="No related record matches."),
                    "every": GraphQLInputField(inner, description="Every related record matches."),
                },
            )
        return self.list_filters[s.name]

    def order_by_type(self, s: ObjectShape) -> GraphQLInputObjectType:
        if s.name not in self.order_bys:

            def thunk() -> dict[str, GraphQLInputField]:
                out: dict[str, GraphQLInputField] = {}
                for name, f in s.fields.items():
                    if f.type not in UNSORTABLE_TYPES:
                        out[name] = GraphQLInputField(self.g.direction)
                for name in s.id_fields:
                    out[name] = GraphQLInputField(self.g.direction)
                for name, rel in s.relations.items():
                    if rel.kind == "to_one":
                        out[name] = GraphQLInputField(
                            self.order_by_type(self.shape.objects[rel.target])
                        )
                return out

            self.order_bys[s.name] = InputObjectType(
                f"{s.type_name}OrderBy",
                thunk,
                description="One sort key: give exactly one field per list entry.",
                is_one_of=True,
            )
        return self.order_bys[s.name]

    # -- root fields ---------------------------------------------------------------------

    def query_fields(self, s: ObjectShape) -> dict[str, GraphQLField]:
        node = self.object_type(s)
        edge = ObjectType(
            f"{s.type_name}Edge",
            {"cursor": GraphQLField(_nn(GraphQLString)), "node": GraphQLField(_nn(node))},
        )
        connection = ObjectType(
            f"{s.type_name}Connection",
            {
                "edges": GraphQLField(_list(edge)),
                "nodes": GraphQLField(_list(node), description="The nodes of edges, directly."),
                "pageInfo": GraphQLField(_nn(self.g.page_info)),
                "totalCount": GraphQLField(
                    _nn(GraphQLInt), description="Records matching the filter, all pages."
                ),
            },
        )
        deleted = GraphQLArgument(
            GraphQLBoolean, default_value=False, description="Include soft-deleted records."
        )
        connection_args = {
            "filter": GraphQLArgument(self.filter_type(s)),
            "orderBy": GraphQLArgument(
                GraphQLList(_nn(self.order_by_type(s))),
                description="Sort keys, most significant first; the id breaks ties.",
            ),
            "first": GraphQLArgument(GraphQLInt),
            "after": GraphQLArgument(GraphQLString),
            "last": GraphQLArgument(GraphQLInt),
            "before": GraphQLArgument(GraphQLString),
            "includeDeleted": deleted,
        }
        if s.obj.search:
            connection_args["search"] = GraphQLArgument(
                GraphQLString,
                description="Only records containing every word, in any of: "
                + ", ".join(s.obj.search),
            )
        fields = {
            s.single: GraphQLField(
                node,
                {"id": GraphQLArgument(_nn(GraphQLID)), "includeDeleted": deleted},
                description=f"One {s.obj.label.get('en')} by id.",
            ),
            s.plural: GraphQLField(
                connection,
                connection_args,
                description=f"{s.obj.plural.get('en')} / {s.obj.plural.get('zh-CN')}, "
                "a page at a time.",
            ),
            f"{s.plural}Aggregate": GraphQLField(
                _list(self.aggregate_type(s)),
                {
                    "filter": GraphQLArgument(self.filter_type(s)),
                    "groupBy": GraphQLArgument(GraphQLList(_nn(self.group_by_type(s)))),
                    "first": GraphQLArgument(GraphQLInt),
                    "includeDeleted": deleted,
                },
                description="Count, sum, average, minimum and maximum, per group.",
            ),
        }
        return fields

    def aggregate_type(self, s: ObjectShape) -> GraphQLObjectType:
        fields: dict[str, GraphQLField] = {"count": GraphQLField(_nn(GraphQLInt))}
        numeric = {n: f for n, f in s.fields.items() if f.type in NUMERIC_TYPES}
        ordered = {n: f for n, f in s.fields.items() if f.type in ORDERED_TYPES}
        fields["key"] = GraphQLField(self.group_key_type(s), description="The group's values.")
        if numeric:
            sums = {
                n: GraphQLField(BigInt if f.type in ("integer", "duration") else DecimalScalar)
                for n, f in numeric.items()
            }
            fields["sum"] = GraphQLField(ObjectType(f"{s.type_name}SumAggregates", sums))
            avgs = {n: GraphQLField(GraphQLFloat) for n in numeric}
            fields["avg"] = GraphQLField(
                ObjectType(f"{s.type_name}AvgAggregates", avgs),
                description="Averages, rounded to 6 decimal places.",
            )
        if ordered:
            for which in ("min", "max"):
                values = {
                    n: GraphQLField(DecimalScalar if f.type == "currency" else _SCALAR_OF[f.type])
                    for n, f in ordered.items()
                }
                fields[which] = GraphQLField(
                    ObjectType(f"{s.type_name}{which.title()}Aggregates", values)
                )
        return ObjectType(f"{s.type_name}Aggregate", fields)

    def _groupable(self, s: ObjectShape) -> dict[str, Field]:
        out = {n: f for n, f in s.fields.items() if f.type in GROUPABLE_TYPES and n != "id"}
        out.update(s.id_fields)
        return out

    def group_key_type(self, s: ObjectShape) -> GraphQLObjectType:
        fields = {
            n: GraphQLField(Date if f.type in ("date", "datetime") else _SCALAR_OF[f.type])
            for n, f in self._groupable(s).items()
        }
        return ObjectType(
            f"{s.type_name}GroupKey",
            fields,
            description="Values of the grouped fields (dates: the bucket's first day); "
            "fields not grouped by are null.",
        )

    def group_by_type(self, s: ObjectShape) -> GraphQLInputObjectType:
        enum = GraphQLEnumType(
            f"{s.type_name}GroupField", {n: GraphQLEnumValue(n) for n in self._groupable(s)}
        )
        return InputObjectType(
            f"{s.type_name}GroupBy",
            {
                "field": GraphQLInputField(_nn(enum)),
                "granularity": GraphQLInputField(
                    self.g.granularity, description="For date fields; DAY if omitted."
                ),
            },
        )

    def mutation_fields(self, s: ObjectShape) -> dict[str, GraphQLField]:
        node = self.object_type(s)
        if s.allow == {"read"}:
            return {}
        writable = {
            n: f
            for n, f in s.fields.items()
            if not f.system and f.type != "auto_number" and f.name not in s.read_only
        }
        create_fields = {
            n: GraphQLInputField(self.g.input(f, create=True)) for n, f in writable.items()
        }
        update_fields = {
            n: GraphQLInputField(self.g.input(f, create=False)) for n, f in writable.items()
        }
        for name, f in s.id_fields.items():
            if f.name in s.read_only:
                continue
            create_fields[name] = GraphQLInputField(self.g.input(f, create=True))
            update_fields[name] = GraphQLInputField(self.g.input(f, create=False))
        create_fields["owner"] = GraphQLInputField(
            GraphQLID, description="Member who owns the record (defaults to the caller)."
        )
        create = InputObjectType(f"{s.type_name}CreateInput", create_fields)
        update = InputObjectType(
            f"{s.type_name}UpdateInput",
            update_fields,
            description="Only the fields given change; null clears a field.",
        )
        row_version = GraphQLArgument(
            GraphQLInt,
            description="The rowVersion you read: the change is refused if the record "
            "changed since (optimistic concurrency).",
        )
        update_many = InputObjectType(
            f"{s.type_name}UpdateManyInput",
            {
                "id": GraphQLInputField(_nn(GraphQLID)),
                "rowVersion": GraphQLInputField(GraphQLInt),
                "input": GraphQLInputField(_nn(update)),
            },
        )
        bulk = f"at most {self.limits.max_bulk_size} records"
        t = s.type_name
        every = {
            f"create{t}": GraphQLField(node, {"input": GraphQLArgument(_nn(create))}),
            f"create{self._plural_type(s)}": GraphQLField(
                GraphQLList(_nn(node)),
                {"inputs": GraphQLArgument(_list(create))},
                description=f"Create several in one transaction ({bulk}).",
            ),
            f"update{t}": GraphQLField(
                node,
                {
                    "id": GraphQLArgument(_nn(GraphQLID)),
                    "rowVersion": row_version,
                    "input": GraphQLArgument(_nn(update)),
                },
            ),
            f"update{self._plural_type(s)}": GraphQLField(
                GraphQLList(_nn(node)),
                {"inputs": GraphQLArgument(_list(update_many))},
                description=f"Update several in one transaction ({bulk}).",
            ),
            f"delete{t}": GraphQLField(
                node,
                {"id": GraphQLArgument(_nn(GraphQLID)), "rowVersion": row_version},
                description="Soft-delete: the record is hidden until restored.",
            ),
            f"delete{self._plural_type(s)}": GraphQLField(
                GraphQLList(_nn(node)),
                {"ids": GraphQLArgument(_list(GraphQLID))},
                description=f"Soft-delete several ({bulk}).",
            ),
            f"restore{t}": GraphQLField(node, {"id": GraphQLArgument(_nn(GraphQLID))}),
            f"transfer{self._plural_type(s)}": GraphQLField(
                GraphQLList(_nn(node)),
                {
                    "ids": GraphQLArgument(_list(GraphQLID)),
                    "ownerId": GraphQLArgument(_nn(GraphQLID), description="The new owner."),
                },
                description=f"Give records to another member ({bulk}); needs edit access.",
            ),
            f"share{t}": GraphQLField(
                node,
                {
                    "id": GraphQLArgument(_nn(GraphQLID)),
                    "userId": GraphQLArgument(GraphQLID),
                    "role": GraphQLArgument(GraphQLString),
                    "access": GraphQLArgument(self.g.share_access, default_value="read"),
                },
                description="Share the record with one member or one role (give exactly "
                "one); needs edit access.",
            ),
            f"unshare{t}": GraphQLField(
                node,
                {
                    "id": GraphQLArgument(_nn(GraphQLID)),
                    "userId": GraphQLArgument(GraphQLID),
                    "role": GraphQLArgument(GraphQLString),
                },
                description="Remove a manual share; needs edit access.",
            ),
        }
        needs = {
            f"create{t}": "create",
            f"create{self._plural_type(s)}": "create",
            f"update{t}": "update",
            f"update{self._plural_type(s)}": "update",
            f"delete{t}": "delete",
            f"delete{self._plural_type(s)}": "delete",
            f"restore{t}": "restore",
            f"transfer{self._plural_type(s)}": "update",
            f"share{t}": "update",
            f"unshare{t}": "update",
        }
        fields = {name: f for name, f in every.items() if needs[name] in s.allow}
        uniques = s.unique_fields()
        if uniques and {"create", "update"} <= s.allow:
            enum = GraphQLEnumType(
                f"{t}UniqueField", {camel_case(f.name): GraphQLEnumValue(f.name) for f in uniques}
            )
            fields[f"upsert{t}"] = GraphQLField(
                node,
                {"on": GraphQLArgument(_nn(enum)), "input": GraphQLArgument(_nn(create))},
                description="Update the live record whose `on` field equals the input's, "
                "or create one.",
            )
        return fields

    @staticmethod
    def _plural_type(s: ObjectShape) -> str:
        return s.plural[:1].upper() + s.plural[1:]

    def search_field(self, searchable: list[ObjectShape]) -> GraphQLField:
        union = GraphQLUnionType(
            "SearchRecord",
            [self.object_type(s) for s in searchable],
            description="A search hit's record.",
        )
        hit = ObjectType(
            "SearchHit",
            {
                "objectName": GraphQLField(_nn(GraphQLString)),
                "id": GraphQLField(_nn(GraphQLID)),
                "title": GraphQLField(GraphQLString, description="The first search field."),
                "record": GraphQLField(_nn(union)),
            },
        )
        names = ", ".join(s.name for s in searchable)
        return GraphQLField(
            _list(hit),
            {
                "text": GraphQLArgument(_nn(GraphQLString)),
                "objects": GraphQLArgument(
                    GraphQLList(_nn(GraphQLString)), description=f"Limit to some of: {names}."
                ),
                "first": GraphQLArgument(GraphQLInt, default_value=20),
            },
            description="Records of any searchable object containing every word of `text` "
            "(case-insensitive). Best title matches first, then most recently updated.",
        )

    def build(self) -> GraphQLSchema:
        query: dict[str, GraphQLField] = {}
        mutation: dict[str, GraphQLField] = {}
        for name in sorted(self.shape.objects):
            s = self.shape.objects[name]
            query.update(self.query_fields(s))
            mutation.update(self.mutation_fields(s))
        searchable = self.shape.searchable()
        if searchable:
            query["search"] = self.search_field(searchable)
        if self.shape.complete.automation:
            from runtime.graphql import automation

            query.update(automation.query_fields())
            mutation.update(automation.mutation_fields())
        if not query:
            query["_empty"] = GraphQLField(
                GraphQLBoolean, description="The tenant has no objects yet; always null."
            )
        return GraphQLSchema(
            query=ObjectType("Query", query),
            mutation=ObjectType("Mutation", mutation) if mutation else None,
        )


def build_schema(
    shape: ApiShape | None = None, *, model: Any = None, limits: Limits | None = None
) -> GraphQLSchema:
    """Return the GraphQL schema for a model's API shape."""
    if shape is None:
        shape = build_shape(model)
    # A build makes tens of thousands of long-lived objects; collecting garbage in the
    # middle of it finds none and took a quarter of the time (measured).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Builder(shape, limits or Limits()).build()
    finally:
        if enabled:
            gc.enable()
