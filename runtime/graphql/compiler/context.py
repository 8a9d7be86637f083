"""What translating one root field needs: the schema, the document and its variables.

A Context is also the reader's ReadScope: it collects bound parameters as SQL is written,
so every value a client sends reaches the database as a parameter, never as SQL text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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

from runtime.query.scope import QueryError, ReadScope

__all__ = ["Context", "QueryError"]


@dataclass(kw_only=True)
class Context(ReadScope):
    """State for compiling one root field into one statement: the reader's scope, and
    the document its values come from."""

    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: VariableValues
    locale: str = "en"
    """The caller's language, for picklist labels."""

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
