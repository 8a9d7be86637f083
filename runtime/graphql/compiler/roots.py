"""Compile a GraphQL query root field into one SQL statement returning JSON text:
translated into the query IR, then written as SQL by ``runtime.query``."""

from __future__ import annotations

from graphql import FieldNode

from runtime.graphql.compiler.context import Context
from runtime.graphql.compiler.translate import translate_root
from runtime.query.statements import compile_query


def compile_root(ctx: Context, node: FieldNode, key: str) -> str:
    """Return the SQL for query root field ``node`` (response key ``key``)."""
    query = translate_root(ctx, node, key)
    return "SELECT NULL" if query is None else compile_query(ctx, query)
