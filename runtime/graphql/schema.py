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
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
)

from metadata.identifiers import camel_case
from metadata.model import Field
from runtime.graphql.scalars import BigInt, Date, DecimalScalar
from runtime.graphql.schema_mutations import MutationFields
from runtime.graphql.schema_types import (
    _SCALAR_OF,
    _description,
    _Globals,
    _list,
    _nn,
)
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


class _Builder(MutationFields):
    def __init__(self, shape: ApiShape, limits: Limits) -> None:
        self.shape = shape
        self.limits = limits
        self.g = _Globals()
        self.objects: dict[str, GraphQLObjectType] = {}
        self.filters: dict[str, GraphQLInputObjectType] = {}
        self.list_filters: dict[str, GraphQLInputObjectType] = {}
        self.order_bys: dict[str, GraphQLInputObjectType] = {}
        self.unions: dict[str, GraphQLUnionType] = {}

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
                if f.type == "polymorphic_lookup":
                    union = self.union_type(s, name, f)
                    if union is not None:
                        out[name] = GraphQLField(union, description=_description(f))
                    continue
                out[name] = GraphQLField(self.g.output(f), description=_description(f))
            taken = {*s.fields, *s.id_fields, *s.relations, "fieldHistory"}
            for name, f in s.fields.items():
                if f.type == "picklist" and f.values and f"{name}Label" not in taken:
                    out[f"{name}Label"] = GraphQLField(
                        GraphQLString,
                        description=f"The label of `{name}`'s value in the caller's language "
                        "(Accept-Language: en or zh-CN).",
                    )
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

    def _targets(self, f: Field) -> list[ObjectShape]:
        """The objects a polymorphic lookup may refer to that this reader can see."""
        return [self.shape.objects[t] for t in f.targets if t in self.shape.objects]

    def union_type(self, s: ObjectShape, name: str, f: Field) -> GraphQLUnionType | None:
        """``ActivityRelatedTo = Account | Contact | …`` (None: no target is visible)."""
        targets = self._targets(f)
        if not targets:
            return None
        key = f"{s.type_name}{name[:1].upper()}{name[1:]}"
        if key not in self.unions:
            self.unions[key] = GraphQLUnionType(
                key,
                [self.object_type(t) for t in targets],
                description=f"What `{s.single}.{name}` may refer to.",
            )
        return self.unions[key]

    def polymorphic_filter(self, s: ObjectShape, name: str, f: Field) -> GraphQLInputObjectType:
        key = f"{s.type_name}{name[:1].upper()}{name[1:]}Filter"
        targets = self._targets(f)
        return InputObjectType(
            key,
            lambda: {
                "object": GraphQLInputField(
                    self.g.filters["string"], description="Which object it refers to."
                ),
                "id": GraphQLInputField(self.g.filters["id"], description="The record's id."),
                "isNull": GraphQLInputField(GraphQLBoolean),
                **{
                    t.single: GraphQLInputField(
                        self.filter_type(t), description=f"It is a {t.name} meeting these."
                    )
                    for t in targets
                },
            },
            description=f"Conditions on what `{s.single}.{name}` refers to.",
        )

    def filter_type(self, s: ObjectShape) -> GraphQLInputObjectType:
        if s.name not in self.filters:

            def thunk() -> dict[str, GraphQLInputField]:
                out: dict[str, GraphQLInputField] = {}
                for name, f in s.fields.items():
                    if f.type == "polymorphic_lookup":
                        out[name] = GraphQLInputField(self.polymorphic_filter(s, name, f))
                        continue
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
        views = sorted(
            n for n, v in self.shape.complete.views.list_views.items() if v.object == s.name
        )
        if views:
            connection_args["view"] = GraphQLArgument(
                GraphQLString,
                description="A list view whose filter applies too: " + ", ".join(views),
            )
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
                    **({"view": connection_args["view"]} if views else {}),
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
