"""Validation rules of Tessera's own, run with graphql-core's standard rules on every
document (once: validated documents are cached per schema).

The HTTP boundary (runtime/server/inputs.py) refuses NUL characters in the request body,
which covers variables; a document's own string literals are only unescaped by the GraphQL
parser (``"a\\u0000b"``), so this rule covers them, with the literal's location.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule, specified_rules


class NoNulCharacters(ValidationRule):
    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError(
                    "a string value contains a NUL character (\\u0000), which Tessera "
                    "does not store",
                    node,
                )
            )


RULES = (*specified_rules, NoNulCharacters)
