"""What compiling one root field needs: the schema, the request's values and the output.

A Context collects bound parameters as the compiler writes SQL, so every value a client
sends reaches the database as a parameter, never as SQL text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    VariableNode,
    get_argument_values,
)
from graphql.execution.values import VariableValues

from runtime.limits import Limits
from runtime.model.shape import ApiShape
from runtime.security.principal import Principal
from runtime.security.rows import row_predicate
from runtime.sql.dialect import SqlDialect


class QueryError(Exception):
    """A request the API refuses; becomes a GraphQL error with ``extensions.code``."""

    def __init__(
        self,
        message: str,
        code: str = "BAD_USER_INPUT",
        *,
        field: list[str | int] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        """Path of the offending argument or input field, e.g. ["input", "email"]."""
        self.extra = extra or {}
        """More ``extensions`` for the error (a validation rule's name and messages)."""


@dataclass
class Context:
    """State for compiling one root field into one statement."""

    schema: GraphQLSchema
    shape: ApiShape
    dialect: SqlDialect
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues
    limits: Limits
    principal: Principal
    """Who the request runs as; their row predicate goes wherever a table is read."""
    today: dt.date | None = None
    """The tenant's date, for TODAY() in formulas (None: the server's)."""
    request_id: str | None = None
    """The HTTP request's id (or the workflow run's), carried into outbox events."""
    params: dict[str, Any] = field(default_factory=dict)
    filter_terms: int = 0
    """Conditions compiled from the request's filters so far (bounded by the limits)."""
    _aliases: int = 0

    def param(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder."""
        key = f"p{len(self.params)}"
        self.params[key] = value
        return self.dialect.placeholder(key)

    def rows(self, obj: str, alias: str, *, write: bool = False) -> str | None:
        """Return the principal's row predicate on ``alias`` of ``obj`` (None: all rows)."""
        definition = self.shape.complete.objects[obj]
        return row_predicate(self, self.principal, definition, alias, write=write)

    def alias(self) -> str:
        """Return a fresh table alias."""
        self._aliases += 1
        return f"t{self._aliases}"

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """Return the field's arguments, coerced (variables and defaults applied)."""
        return get_argument_values(definition, node, self.variables)

    def collect(
        self, parent: GraphQLObjectType, nodes: Iterable[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        """Return the sub-selections of ``nodes`` by response key, fragments expanded and
        @skip/@include applied, in the order the response must show them."""
        out: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._visit(parent, node.selection_set.selections, out, set())
        return out

    def _visit(
        self,
        parent: GraphQLObjectType,
        selections: Iterable[Any],
        out: dict[str, list[FieldNode]],
        seen: set[str],
    ) -> None:
        for selection in selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                out.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or condition.name.value == parent.name:
                    self._visit(parent, selection.selection_set.selections, out, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if name in seen or fragment is None:
                    continue
                if fragment.type_condition.name.value == parent.name:
                    self._visit(parent, fragment.selection_set.selections, out, seen | {name})

    def _included(self, node: Any) -> bool:
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            value = directive.arguments[0].value
            flag = (
                self.variables.coerced.get(value.name.value)
                if isinstance(value, VariableNode)
                else isinstance(value, BooleanValueNode) and value.value
            )
            if (name == "skip") == bool(flag):
                return False
        return True
