"""Compile a Select (``runtime.query.ir``) into SQL that builds a record's JSON object.

Scalars become formatted columns; to-one relations become correlated subqueries; to-many
and many-to-many relations become ordered, limited JSON arrays. All of it nests inside
the one statement of the query.
"""

from __future__ import annotations

from typing import Any

from metadata.identifiers import camel_case
from metadata.kinds.files import AttachmentKind
from metadata.kinds.places import ADDRESS_PARTS, AddressKind, GeolocationKind
from metadata.kinds.references import PolymorphicLookupKind
from metadata.model import SYSTEM_FIELDS, Field
from runtime.model.shape import ObjectShape
from runtime.query.filters import (
    col,
    field_named,
    field_sql,
    live,
    related_rows,
    visible,
    where,
)
from runtime.query.ir import History, Item, Label, Many, One, OneOf, Parts, Select, Text, Value
from runtime.query.ordering import order_keys
from runtime.query.scope import QueryError, ReadScope
from runtime.sql import naming
from runtime.sql.dialect import currency_code


def record_json(scope: ReadScope, select: Select, alias: str) -> str:
    """Return SQL for the JSON object of row ``alias`` of ``select.object``."""
    s = scope.shape.objects.get(select.object)
    if s is None:
        raise QueryError(f"there is no object {select.object!r} to read")
    pairs = [(key, _item(scope, s, alias, item)) for key, item in select.items]
    return scope.dialect.json_object(pairs)


def _item(scope: ReadScope, s: ObjectShape, alias: str, item: Item) -> str:
    d = scope.dialect
    if isinstance(item, Text):
        return d.literal(item.value)
    if isinstance(item, Value):
        f = field_named(s, item.field)
        if item.field not in s.fields:
            return col(alias, f.name)  # a reference's id
        if f.type in _COMPOSITES or f.type == "polymorphic_lookup":
            raise QueryError(f"{item.field!r} is a {f.type} field: select its parts")
        return d.output(f, field_sql(scope, s, alias, f))
    if isinstance(item, Parts):
        f = field_named(s, item.field)
        composite = _COMPOSITES.get(f.type)
        if composite is None:
            raise QueryError(f"{item.field!r} is a {f.type} field, which has no parts")
        return composite(scope, s.name, f, alias, item.parts)
    if isinstance(item, Label):
        # Each value and label a bound parameter; a value without a label gives itself.
        f = field_named(s, item.field)
        column = field_sql(scope, s, alias, f)
        cases = " ".join(
            f"WHEN {scope.param(value)} THEN {scope.param(label)}" for value, label in item.labels
        )
        return f"(CASE {column} {cases} ELSE {column} END)" if cases else column
    if isinstance(item, OneOf):
        return _polymorphic(scope, s, alias, item)
    if isinstance(item, History):
        return _history(scope, s, alias, item)
    return _relation(scope, s, alias, item)


def _pairs(
    scope: ReadScope, parts: tuple[tuple[str, str | Text], ...], columns: dict[str, str]
) -> list[tuple[str, str]]:
    out = []
    for key, part in parts:
        if isinstance(part, Text):
            out.append((key, scope.dialect.literal(part.value)))
        elif part in columns:
            out.append((key, columns[part]))
        else:
            raise QueryError(f"there is no part {part!r}; parts: {', '.join(columns)}")
    return out


def _present(scope: ReadScope, f: Field, alias: str, pairs: list[tuple[str, str]]) -> str:
    """The object of a composite field's parts, null when the field is empty."""
    value = scope.dialect.json_object(pairs)
    return f"CASE WHEN {col(alias, f.name)} IS NULL THEN NULL ELSE {value} END"


def _currency(scope: ReadScope, obj: str, f: Field, alias: str, parts: Any) -> str:
    columns = {
        "amount": scope.dialect.output(f, col(alias, f.name)),
        "currencyCode": currency_code(alias, f),
    }
    return _present(scope, f, alias, _pairs(scope, parts, columns))


def _address(scope: ReadScope, obj: str, f: Field, alias: str, parts: Any) -> str:
    columns = {
        api: col(alias, AddressKind.part_column(f.name, part)) for part, api, _ in ADDRESS_PARTS
    }
    columns["line"] = col(alias, f.name)
    return _present(scope, f, alias, _pairs(scope, parts, columns))


def _geopoint(scope: ReadScope, obj: str, f: Field, alias: str, parts: Any) -> str:
    d = scope.dialect
    columns = {
        "latitude": d.round_float(col(alias, f.name), 7),
        "longitude": d.round_float(col(alias, GeolocationKind.longitude_column(f.name)), 7),
    }
    return _present(scope, f, alias, _pairs(scope, parts, columns))


def _attachment(scope: ReadScope, obj: str, f: Field, alias: str, parts: Any) -> str:
    """The file's description, and its download address (``runtime/server/files_api.py``)."""
    d = scope.dialect
    columns = {
        api: col(alias, AttachmentKind.part_column(f.name, column))
        for api, column in (
            ("name", "file_name"),
            ("size", "size"),
            ("contentType", "content_type"),
            ("checksum", "sha256"),
        )
    }
    if any(part == "url" for _, part in parts):
        columns["url"] = (
            f"({scope.param('/t/' + scope.principal.tenant + '/files/' + obj + '/')} || "
            f"{d.text_of_id(col(alias, 'id'))} || {scope.param('/' + f.name)})"
        )
    return _present(scope, f, alias, _pairs(scope, parts, columns))


#: Field kinds whose value is an object of parts: how each builds it from its columns.
_COMPOSITES = {
    "currency": _currency,
    "address": _address,
    "geolocation": _geopoint,
    "attachment": _attachment,
}


def _polymorphic(scope: ReadScope, s: ObjectShape, alias: str, item: OneOf) -> str:
    """The referred record, selected as its own object, chosen by the object column;
    null when it is gone or the reader cannot see it."""
    d = scope.dialect
    f = field_named(s, item.field)
    if f.type != "polymorphic_lookup":
        raise QueryError(f"{item.field!r} is a {f.type} field, not a polymorphic lookup")
    cases = []
    for select in item.branches:
        if select.object not in f.targets:
            raise QueryError(f"{item.field!r} cannot refer to {select.object!r}")
        inner = scope.alias()
        body = record_json(scope, select, inner)
        record = (
            f"(SELECT {body} FROM {d.table(select.object)} {inner} WHERE "
            f"{col(inner, 'id')} = {col(alias, f.name)} AND {visible(scope, select.object, inner)})"
        )
        cases.append(f"WHEN {d.literal(select.object)} THEN {d.embed(record)}")
    if not cases:
        return "NULL"
    column = col(alias, PolymorphicLookupKind.object_column(f.name))
    return f"CASE {column} {' '.join(cases)} ELSE NULL END"


def _history(scope: ReadScope, s: ObjectShape, alias: str, item: History) -> str:
    """The record's field history: changes to tracked fields the reader can read
    (``s.obj.history`` already leaves out the others), newest first."""
    d = scope.dialect
    tracked = set(s.obj.history)
    names = [n for n in item.fields if n in tracked]
    h = scope.alias()
    label = (
        "CASE "
        + " ".join(
            f"WHEN {col(h, 'field')} = {d.literal(n)} THEN {d.literal(camel_case(n))}"
            for n in names
        )
        + " END"
    )
    columns = {
        "field": label,
        "oldValue": d.json_text(col(h, "old_value")),
        "newValue": d.json_text(col(h, "new_value")),
        "changedBy": col(h, "changed_by"),
        "changedAt": d.output(SYSTEM_FIELDS["updated_at"], col(h, "changed_at")),
    }
    pairs = _pairs(scope, item.parts, columns)
    fields = ", ".join(scope.param(n) for n in names) or "NULL"
    source = (
        f"(SELECT {d.json_object(pairs)} AS j, {col(h, 'changed_at')} AS k0, {col(h, 'id')} AS k1 "
        f"FROM {d.table(naming.HISTORY_TABLE)} {h} WHERE {col(h, 'record_id')} = "
        f"{col(alias, 'id')} AND {col(h, 'object')} = {scope.param(s.name)} AND "
        f"{col(h, 'field')} IN ({fields}) ORDER BY k0 DESC, k1 DESC "
        f"LIMIT {scope.param(scope.bounded(item.limit))}) AS s"
    )
    return d.json_array("j", source, "k0 DESC, k1 DESC")


def _relation(scope: ReadScope, s: ObjectShape, alias: str, item: One | Many) -> str:
    """A relation: an object (to-one) or an ordered, bounded array (to-many)."""
    d = scope.dialect
    rel = s.relations.get(item.relation)
    if rel is None:
        raise QueryError(f"{s.type_name} has no relation {item.relation!r}")
    if (rel.kind == "to_one") != isinstance(item, One):
        raise QueryError(f"{item.relation!r} is {rel.kind.replace('_', '-')}")
    target = scope.shape.objects[rel.target]
    inner = scope.alias()
    table = d.table(rel.target)
    if isinstance(item, One):
        parent = scope.parents.get((alias, rel.via))
        if parent is not None and parent[1] == rel.target:
            # The record this lookup names is the one this row was reached from (an
            # account's contacts, each asking for its account): read already, and readable
            # to this reader, so no subquery (W3's 1,000 contacts cost 1,000 index probes).
            body = record_json(scope, item.select, parent[0])
            return d.embed(f"(CASE WHEN {live(parent[0])} THEN {body} END)")
        body = record_json(scope, item.select, inner)
        return d.embed(
            f"(SELECT {body} FROM {table} {inner} WHERE {col(inner, 'id')} = "
            f"{col(alias, rel.via)} AND {visible(scope, rel.target, inner)})"
        )
    condition = where(scope, target, inner, item.where)
    keys = order_keys(scope, target, inner, item.order)
    if item.offset < 0:
        raise QueryError("offset cannot be negative")
    if rel.kind == "to_many":
        # Each of these rows names this one by ``rel.via``: a lookup back to it reuses it.
        scope.parents[(inner, rel.via)] = (alias, s.name)
    body = record_json(scope, item.select, inner)
    sort_columns = ", ".join(f"{k.sql} AS k{i}" for i, k in enumerate(keys))
    source = (
        f"(SELECT {body} AS j, {sort_columns} FROM {table} {inner} "
        f"WHERE {related_rows(scope, rel, alias, inner)} AND {condition} "
        f"ORDER BY {', '.join(k.clause() for k in keys)} "
        f"LIMIT {scope.param(scope.bounded(item.limit))} OFFSET {scope.param(item.offset)}) AS s"
    )
    order = ", ".join(k.clause(f"k{i}") for i, k in enumerate(keys))
    return d.json_array("j", source, order)
