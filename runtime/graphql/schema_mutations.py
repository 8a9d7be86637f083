"""The mutation fields of one object: create, update, delete, restore, bulk, upsert,
transfer and share, with their input types.

One part of the schema builder (``runtime/graphql/schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLEnumValue,
    GraphQLField,
    GraphQLID,
    GraphQLInputField,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLString,
)

from metadata.identifiers import camel_case
from metadata.kinds import kind_of
from runtime.graphql.schema_types import (
    _Globals,
    _list,
    _nn,
)
from runtime.graphql.types import InputObjectType
from runtime.limits import Limits
from runtime.model.shape import (
    ApiShape,
    ObjectShape,
)


class MutationFields:
    """The builder's mutation half."""

    shape: ApiShape
    limits: Limits
    g: _Globals

    object_type: Callable[[ObjectShape], GraphQLObjectType]

    def mutation_fields(self, s: ObjectShape) -> dict[str, GraphQLField]:
        node = self.object_type(s)
        if s.allow == {"read"}:
            return {}
        writable = {
            n: f
            for n, f in s.fields.items()
            if not f.system and kind_of(f.type).writable and f.name not in s.read_only
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
            f"create{s.plural_type}": GraphQLField(
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
            f"update{s.plural_type}": GraphQLField(
                GraphQLList(_nn(node)),
                {"inputs": GraphQLArgument(_list(update_many))},
                description=f"Update several in one transaction ({bulk}).",
            ),
            f"delete{t}": GraphQLField(
                node,
                {"id": GraphQLArgument(_nn(GraphQLID)), "rowVersion": row_version},
                description="Soft-delete: the record is hidden until restored.",
            ),
            f"delete{s.plural_type}": GraphQLField(
                GraphQLList(_nn(node)),
                {"ids": GraphQLArgument(_list(GraphQLID))},
                description=f"Soft-delete several ({bulk}).",
            ),
            f"restore{t}": GraphQLField(node, {"id": GraphQLArgument(_nn(GraphQLID))}),
            f"transfer{s.plural_type}": GraphQLField(
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
            f"create{s.plural_type}": "create",
            f"update{t}": "update",
            f"update{s.plural_type}": "update",
            f"delete{t}": "delete",
            f"delete{s.plural_type}": "delete",
            f"restore{t}": "restore",
            f"transfer{s.plural_type}": "update",
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
