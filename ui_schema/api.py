"""The metadata GraphQL API (Strawberry): what the web app and other clients read to
render a tenant, as the caller sees it.

Its types are static (objects, fields, views), unlike the generated data API, so it is
written with Strawberry. It is served per tenant at ``/t/{tenant}/metadata`` beside the
data API at ``/t/{tenant}/graphql``; the admin console will extend it. Labels come in
the request's language (``Accept-Language``), or the ``locale`` argument's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.type.introspection import introspection_types
from sqlalchemy import Connection
from strawberry.scalars import JSON
from strawberry.types import Info

from ui_schema.compiler import UiCompiler, UnknownObject
from ui_schema.locales import LOCALES, negotiate
from ui_schema.saved_views import Reader, ViewError, delete_view, list_views, save_view
from ui_schema.words import WORDS


@dataclass(frozen=True)
class MetadataContext:
    """What a request's resolvers need: a compiler per locale, the reader for saved
    views, the tenant's connections and its members."""

    compiler: Callable[[str], UiCompiler]
    locale: str
    reader: Reader
    schema: str | None
    read: Callable[[], AbstractContextManager[Connection]]
    write: Callable[[], AbstractContextManager[Connection]]
    members: Callable[[], list[dict[str, Any]]]


def _ctx(info: Info) -> MetadataContext:
    return info.context


def _compiler(info: Info, locale: str | None = None) -> UiCompiler:
    ctx = _ctx(info)
    return ctx.compiler(negotiate(None, locale) if locale else ctx.locale)


def _error(exc: ViewError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code, "field": exc.field})


@strawberry.type(description="An object the caller can read.")
class ObjectInfo:
    name: str
    label: str
    plural: str
    type: str = strawberry.field(description="Its GraphQL type in the data API.")
    list: str = strawberry.field(description="Its list root field in the data API.")
    one: str = strawberry.field(description="Its single-record root field.")
    title_field: str
    searchable: bool
    can: JSON = strawberry.field(description="create, update, delete: true or false.")


@strawberry.type(description="A field the caller can read, in the request's language.")
class FieldInfo:
    name: str
    api: str | None = strawberry.field(description="Its name in the data API.")
    label: str
    type: str
    widget: str
    required: bool
    read_only: bool
    select: str | None = strawberry.field(description="The data API selection reading it.")
    values: JSON | None = strawberry.field(description="Picklist values: value, label, color.")
    target: str | None


@strawberry.type(description="A list view: from metadata, or saved by a person.")
class ViewInfo:
    id: str | None
    name: str
    label: str
    kind: str = strawberry.field(description="metadata or saved.")
    visibility: str
    role: str | None
    mine: bool
    definition: JSON = strawberry.field(
        description="columns, filter and orderBy (the data API's forms), groupBy, kanban, "
        "and for metadata views the view name the data API's view argument takes."
    )


@strawberry.type
class Member:
    id: strawberry.ID
    email: str
    name: str
    role: str | None


def _view(item: dict[str, Any]) -> ViewInfo:
    return ViewInfo(
        id=item["id"],
        name=item["name"],
        label=item["name"],
        kind="saved",
        visibility=item["visibility"],
        role=item["role"],
        mine=item["mine"],
        definition=item["definition"],
    )


@strawberry.type
class Query:
    @strawberry.field(description="The version of what this caller sees (an ETag).")
    def version(self, info: Info, locale: str | None = None) -> str:
        return _compiler(info, locale).version

    @strawberry.field(description="The app shell: words, apps (navigation) and objects.")
    def shell(self, info: Info, locale: str | None = None) -> JSON:
        return _compiler(info, locale).shell()

    @strawberry.field(description="The objects the caller can read.")
    def objects(self, info: Info, locale: str | None = None) -> list[ObjectInfo]:
        return [
            ObjectInfo(
                name=o["name"],
                label=o["label"],
                plural=o["plural"],
                type=o["type"],
                list=o["list"],
                one=o["one"],
                title_field=o["titleField"],
                searchable=o["searchable"],
                can=o["can"],
            )
            for o in _compiler(info, locale).shell()["objects"]
        ]

    @strawberry.field(description="The fields of an object the caller can read.")
    def fields(self, info: Info, object: str, locale: str | None = None) -> list[FieldInfo]:
        try:
            compiled = _compiler(info, locale).object(object)
        except UnknownObject:
            raise GraphQLError(
                f"there is no object {object!r}", extensions={"code": "NOT_FOUND"}
            ) from None
        return [
            FieldInfo(
                name=f["name"],
                api=f["api"],
                label=f["label"],
                type=f["type"],
                widget=f["widget"],
                required=f["required"],
                read_only=f["readOnly"],
                select=f["select"],
                values=f.get("values"),
                target=f.get("target"),
            )
            for f in compiled["fields"].values()
        ]

    @strawberry.field(
        description="An object's record form (JSON Schema), record page (UI schema), "
        "fields, list views and kanbans, trimmed to the caller."
    )
    def ui_schema(
        self, info: Info, object: str, layout: str | None = None, locale: str | None = None
    ) -> JSON:
        try:
            return _compiler(info, locale).object(object, layout)
        except UnknownObject:
            raise GraphQLError(
                f"there is no object {object!r}", extensions={"code": "NOT_FOUND"}
            ) from None

    @strawberry.field(description="An object's list views: the metadata's, then saved ones.")
    def views(self, info: Info, object: str, locale: str | None = None) -> list[ViewInfo]:
        ctx = _ctx(info)
        try:
            compiled = _compiler(info, locale).object(object)
        except UnknownObject:
            return []
        out = [
            ViewInfo(
                id=None,
                name=v["name"],
                label=v["label"],
                kind="metadata",
                visibility="public",
                role=None,
                mine=False,
                definition={k: v[k] for k in ("columns", "orderBy", "groupBy", "view")},
            )
            for v in compiled["views"]
        ]
        with ctx.read() as conn:
            out += [_view(item) for item in list_views(conn, ctx.schema, ctx.reader, object)]
        return out

    @strawberry.field(description="The web app's words and the objects' and fields' labels.")
    def labels(self, info: Info, locale: str | None = None) -> JSON:
        compiler = _compiler(info, locale)
        shape = compiler.shape
        objects = {}
        for name, s in shape.objects.items():
            objects[name] = {
                "label": s.obj.label.get(compiler.locale),
                "plural": s.obj.plural.get(compiler.locale),
                "fields": {f.name: f.label.get(compiler.locale) for f in s.fields.values()},
            }
        return {"locale": compiler.locale, "words": WORDS[compiler.locale], "objects": objects}

    @strawberry.field(description="The languages labels come in.")
    def locales(self) -> list[str]:
        return list(LOCALES)

    @strawberry.field(description="The tenant's members (owner pickers and names).")
    def members(self, info: Info) -> list[Member]:
        return [
            Member(id=m["id"], email=m["email"], name=m["name"], role=m["role"])
            for m in _ctx(info).members()
        ]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Save a list view (with id: replace one of yours).")
    def save_view(
        self,
        info: Info,
        object: str,
        name: str,
        definition: JSON,
        visibility: str = "private",
        role: str | None = None,
        id: str | None = None,
    ) -> ViewInfo:
        ctx = _ctx(info)
        try:
            with ctx.write() as conn:
                item = save_view(
                    conn,
                    ctx.schema,
                    ctx.reader,
                    object,
                    name,
                    visibility,
                    definition,
                    role=role,
                    view_id=id,
                )
        except ViewError as exc:
            raise _error(exc) from None
        return _view(item)

    @strawberry.mutation(description="Delete one of your saved views.")
    def delete_view(self, info: Info, id: str) -> bool:
        ctx = _ctx(info)
        try:
            with ctx.write() as conn:
                return delete_view(conn, ctx.schema, ctx.reader, id)
        except ViewError as exc:
            raise _error(exc) from None


def build_metadata_schema() -> strawberry.Schema:
    """Return the metadata API's schema (static: built once per process).

    Building a Strawberry schema replaces ``__Type.isOneOf`` in graphql-core's shared
    introspection types with a resolver that knows only Strawberry's types, so every
    other schema in the process would then say its ``@oneOf`` inputs (the data API's
    ``orderBy`` keys) are not. The original field is put back: this schema has no
    ``@oneOf`` input, and graphql-core's own resolver reads the flag from any type.
    """
    introspection = introspection_types["__Type"]
    original = introspection.fields.get("isOneOf")  # type: ignore[union-attr]
    schema = strawberry.Schema(query=Query, mutation=Mutation)
    if original is not None:
        introspection.fields["isOneOf"] = original  # type: ignore[union-attr]
    return schema
