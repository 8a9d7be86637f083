"""Object and input types that trust their field names.

graphql-core checks every field name again when a type's fields are first resolved; for
a 100-object tenant that is ~34,000 checks and over half of the schema build. The names
here come from validated metadata (``metadata.identifiers``), so the check cannot fail
and is skipped. ``validate_schema`` still checks the finished schema.
"""

from __future__ import annotations

from functools import cached_property

from graphql import GraphQLField, GraphQLInputField, GraphQLInputObjectType, GraphQLObjectType
from graphql.type.definition import resolve_thunk


class ObjectType(GraphQLObjectType):
    @cached_property
    def fields(self) -> dict[str, GraphQLField]:  # type: ignore[override]
        return dict(resolve_thunk(self._fields))


class InputObjectType(GraphQLInputObjectType):
    @cached_property
    def fields(self) -> dict[str, GraphQLInputField]:  # type: ignore[override]
        return dict(resolve_thunk(self._fields))
