"""Build IR from the JSON forms of filters, orders and page sizes.

The JSON filter form is what GraphQL's ``filter`` argument takes (``{name: {startsWith:
"A"}, or: [...]}``) and what a saved list view or report keeps. Building checks it against
the reader's shape and the limits: how deep it nests, how many relations it follows
inside one another and how many conditions it holds, so a small request cannot ask for a
statement that runs for minutes (or overflows SQLite's parser).
"""

from __future__ import annotations

from typing import Any

from runtime.model.shape import ApiShape, ObjectShape
from runtime.query.ir import (
    EVERYTHING,
    AllOf,
    AnyOf,
    Compare,
    Condition,
    Not,
    RefersTo,
    Related,
    Sort,
    Within,
)
from runtime.query.scope import QueryError, ReadScope, dotted

_DIRECTIONS = {
    "ASC": (False, True),
    "DESC": (True, False),
    "ASC_NULLS_FIRST": (False, False),
    "ASC_NULLS_LAST": (False, True),
    "DESC_NULLS_FIRST": (True, False),
    "DESC_NULLS_LAST": (True, True),
}

#: Composite kinds filtered by their parts, each part's conditions as text.
_BY_PARTS = ("address", "attachment")


def condition(
    scope: ReadScope,
    s: ObjectShape,
    spec: dict[str, Any] | None,
    path: list[str | int],
    *,
    depth: int = 0,
    hops: int = 0,
) -> Condition:
    """Return the condition of filter ``spec`` on records of ``s``.

    ``depth`` counts the ``and``/``or``/``not`` and relation levels above ``spec``, and
    ``hops`` the relation conditions; both are bounded, as is the number of conditions.
    """
    if not spec:
        return EVERYTHING
    limits = scope.limits
    if depth > limits.max_filter_depth:
        raise QueryError(
            f"{dotted(path)}: the filter nests more than {limits.max_filter_depth} levels "
            f"of and/or/not and relations; the limit is {limits.max_filter_depth}",
            "LIMIT_EXCEEDED",
            field=list(path),
        )
    items: list[Condition] = []
    inner = {"depth": depth + 1, "hops": hops}
    for key, value in spec.items():
        here = [*path, key]
        if value is None:
            continue
        if key == "and":
            items += [
                condition(scope, s, item, [*here, i], **inner) for i, item in enumerate(value)
            ]
        elif key == "or":
            items.append(
                AnyOf(
                    tuple(
                        condition(scope, s, item, [*here, i], **inner)
                        for i, item in enumerate(value)
                    )
                )
            )
        elif key == "not":
            items.append(Not(condition(scope, s, value, here, **inner)))
        elif key in s.fields or key in s.id_fields:
            _count(scope, value, here)
            f = s.fields.get(key) or s.id_fields[key]
            if key in s.fields and f.type == "polymorphic_lookup":
                items.append(_polymorphic(scope, key, f.targets, value, here, depth + 1, hops))
            else:
                items.append(_field(key, f.type if key in s.fields else "lookup", value, here))
        elif key in s.relations:
            _hop(scope, hops, here)
            _count(scope, {key: 1}, here)
            items.append(_relation(scope, s, key, value, here, depth + 1, hops + 1))
        else:
            raise QueryError(
                f"{dotted(here)}: {s.type_name} has no field {key!r} to filter on",
                field=here,
            )
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _hop(scope: ReadScope, hops: int, here: list[str | int]) -> None:
    limit = scope.limits.max_filter_relations
    if hops + 1 > limit:
        raise QueryError(
            f"{dotted(here)}: the filter follows more than {limit} relations inside one "
            f"another; the limit is {limit}",
            "LIMIT_EXCEEDED",
            field=here,
        )


def _count(scope: ReadScope, ops: Any, path: list[str | int]) -> None:
    """Count a field's conditions (each item of a list once) against the request's bound."""
    terms = 0
    for value in ops.values() if isinstance(ops, dict) else (ops,):
        if isinstance(value, dict):
            terms += sum(len(v) if isinstance(v, list) else 1 for v in value.values())
        else:
            terms += len(value) if isinstance(value, list) else 1
    scope.filter_terms += terms
    limit = scope.limits.max_filter_terms
    if scope.filter_terms > limit:
        raise QueryError(
            f"{dotted(path)}: the request's filters hold more than {limit:,} conditions "
            f"(each item of an in list counts); the limit is {limit:,}",
            "LIMIT_EXCEEDED",
            field=list(path),
        )


def _relation(
    scope: ReadScope,
    s: ObjectShape,
    name: str,
    value: dict[str, Any],
    path: list[str | int],
    depth: int,
    hops: int,
) -> Condition:
    rel = s.relations[name]
    target = scope.shape.objects[rel.target]
    if rel.kind == "to_one":
        return Related(name, "one", condition(scope, target, value, path, depth=depth, hops=hops))
    items: list[Condition] = []
    for quantifier, spec in value.items():
        if spec is None:
            continue
        if quantifier not in ("some", "none", "every"):
            raise QueryError(
                f"{dotted([*path, quantifier])}: a to-many relation is filtered with some, "
                "none or every",
                field=[*path, quantifier],
            )
        where = condition(scope, target, spec, [*path, quantifier], depth=depth, hops=hops)
        items.append(Related(name, quantifier, where))
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _polymorphic(
    scope: ReadScope,
    name: str,
    targets: tuple[str, ...] | list[str],
    value: dict[str, Any],
    path: list[str | int],
    depth: int,
    hops: int,
) -> Condition:
    """Which object, which id, and, per object, conditions on the referred record."""
    by_single = {
        scope.shape.objects[t].single: scope.shape.objects[t]
        for t in targets
        if t in scope.shape.objects
    }
    items: list[Condition] = []
    for key, spec in value.items():
        here = [*path, key]
        if spec is None:
            continue
        if key == "isNull":
            items.append(Compare(name, "isNull", spec, at=tuple(path)))
        elif key in ("id", "object"):
            items += _ops(name, spec, here, part=key)
        elif key in by_single:
            _hop(scope, hops, here)
            target = by_single[key]
            where = condition(scope, target, spec, here, depth=depth, hops=hops + 1)
            items.append(RefersTo(name, target.name, where))
        else:
            raise QueryError(
                f"{dotted(here)}: {name!r} refers to {', '.join(by_single)}, not {key!r}",
                field=here,
            )
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _field(name: str, kind: str, ops: dict[str, Any], path: list[str | int]) -> Condition:
    items: list[Condition] = []
    if kind == "currency" or kind in _BY_PARTS:
        for key, value in ops.items():
            if value is None:
                continue
            if key == "isNull":
                items.append(Compare(name, "isNull", value, at=tuple(path)))
            elif kind == "currency" and key == "amount":
                items += _ops(name, value, [*path, key])
            else:
                items += _ops(name, value, [*path, key], part=key)
    elif kind == "geolocation":
        for key, value in ops.items():
            if value is None:
                continue
            if key == "isNull":
                items.append(Compare(name, "isNull", value, at=tuple(path)))
            else:
                point = (value["latitude"], value["longitude"], value["km"])
                items.append(Within(name, *point, at=(*path, key)))
    else:
        items = _ops(name, ops, path)
    return items[0] if len(items) == 1 else AllOf(tuple(items))


def _ops(
    name: str, ops: dict[str, Any], path: list[str | int], *, part: str | None = None
) -> list[Condition]:
    items: list[Condition] = []
    for op, value in ops.items():
        if op == "isNull":
            if value is not None:
                items.append(Compare(name, op, value, part, tuple(path)))
            continue
        if value is None:
            raise QueryError(
                f"{dotted(path)}.{op} cannot be null; use isNull to match missing values",
                field=[*path, op],
            )
        items.append(Compare(name, op, value, part, tuple(path)))
    return items


def sorts(
    shape: ApiShape, s: ObjectShape, order_by: list[dict[str, Any]] | None, path: list[str | int]
) -> tuple[Sort, ...]:
    """Return the sorts of an ``orderBy`` list (``[{name: ASC}, {owner: {name: DESC}}]``)."""
    out = []
    for i, entry in enumerate(order_by or ()):
        out.append(_sort(shape, s, entry, [*path, i], ()))
    return tuple(out)


def _sort(
    shape: ApiShape,
    s: ObjectShape,
    entry: dict[str, Any],
    path: list[str | int],
    through: tuple[str, ...],
) -> Sort:
    given = {k: v for k, v in entry.items() if v is not None}
    if len(given) != 1:
        raise QueryError(
            f"orderBy[{path[-1]}] must name exactly one field, found {len(given)}; give one "
            "entry per sort key",
            field=path,
        )
    [(name, value)] = given.items()
    if name in s.relations and s.relations[name].kind == "to_one":
        target = shape.objects[s.relations[name].target]
        return _sort(shape, target, value, path, (*through, name))
    if (name not in s.fields and name not in s.id_fields) or value not in _DIRECTIONS:
        raise QueryError(f"orderBy[{path[-1]}]: cannot sort by {name!r}", field=path)
    descending, nulls_last = _DIRECTIONS[value]
    return Sort((*through, name), descending, nulls_last)


def page_size(scope: ReadScope, first: int | None, path: list[str | int]) -> int:
    """Return the page size asked for, checked against the limits."""
    limits = scope.limits
    if first is None:  # a default above the configured maximum is held to the maximum
        return min(limits.default_page_size, limits.max_page_size)
    if first < 0:
        raise QueryError(f"{path[-1]} cannot be negative", field=path)
    if first > limits.max_page_size:
        raise QueryError(
            f"{path[-1]} is {first}, above the page size limit of {limits.max_page_size}; "
            "page through with cursors",
            "LIMIT_EXCEEDED",
            field=path,
        )
    return first
