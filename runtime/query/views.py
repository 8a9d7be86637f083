"""List views as conditions: a view's filter expression, checked against the reader.

A list view's filter is metadata (``metadata.views.ListView.filter``), an expression
such as ``stage <> 'won' AND close_date <= ADDDAYS(TODAY(), 90)``. It is checked against
the model *as the reader sees it*: a view that filters on a field the reader cannot
read is refused whole, with a message that does not name the field, so neither its
records nor its count tell the reader anything about that field (a public view made by
someone who can see more must not leak through its count). Relative dates stay relative:
TODAY() is the tenant's date when the statement is written.
"""

from __future__ import annotations

from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN
from runtime.model.shape import ObjectShape
from runtime.query.ir import EVERYTHING, Condition, Matches
from runtime.query.scope import QueryError, ReadScope


def view_condition(scope: ReadScope, s: ObjectShape, name: str, path: list[str | int]) -> Condition:
    """Return the condition of list view ``name`` of ``s``'s object for this reader."""
    shape = scope.shape
    view = shape.complete.views.list_views.get(name)
    if view is None or view.object != s.name:
        raise QueryError(
            f"{s.type_name} has no list view {name!r}", "BAD_USER_INPUT", field=list(path)
        )
    if not view.filter:
        return EVERYTHING
    key = ("list_view", name)
    typed = shape._memo.get(key)
    if typed is None:
        try:
            typed = check(view.filter, shape.model, view.object, expect=BOOLEAN)
        except ExpressionError:
            typed = False
        shape._memo[key] = typed
    if typed is False:
        raise QueryError(
            f"the list view {name!r} filters on fields you cannot see",
            "FORBIDDEN",
            field=list(path),
        )
    return Matches(typed)
