"""The expression language of formula fields, validation rules and workflow conditions.

``syntax`` parses text into a tree, ``checker`` types it against the metadata; the
runtime compiles typed trees to SQL (``runtime/expressions/sql.py``) or evaluates them
(``runtime/expressions/evaluate.py``), with the same results. See docs/expressions.md.
"""

from metadata.expressions.checker import FUNCTIONS, Typed, check
from metadata.expressions.syntax import ExpressionError, parse

__all__ = ["FUNCTIONS", "ExpressionError", "Typed", "check", "parse"]
