"""Fields as the viewer sees them: label, widget, values, how to select them in GraphQL,
and the record's JSON Schema.

Everything starts from the viewer's ``ObjectShape``: a field they cannot read is not in
it, so it cannot reach a descriptor, a schema or a selection.
"""

from __future__ import annotations

from typing import Any

from metadata.kinds import kind_of
from metadata.model import SYSTEM_FIELDS, Field
from runtime.model.shape import ApiShape, ObjectShape
from ui_schema.locales import pick

#: System fields people see on a record page (the others are plumbing).
SHOWN_SYSTEM = ("owner", "created_at", "updated_at")
#: Kinds whose GraphQL value is an object of parts: the parts the web app reads.
_PARTS = {
    "currency": "{ amount currencyCode }",
    "address": "{ line province city district street }",
    "geolocation": "{ latitude longitude }",
    "attachment": "{ name size url }",
}
_TEXT_TYPES = ("text", "auto_number", "email", "phone")


def api_name(s: ObjectShape, name: str) -> str | None:
    """Return the GraphQL name of field ``name`` of ``s`` (None when the viewer lacks it)."""
    for key, f in s.fields.items():
        if f.name == name:
            return key
    for key, f in s.id_fields.items():
        if f.name == name:
            return key
    return None


def by_name(s: ObjectShape) -> dict[str, Field]:
    """Return the fields of ``s`` the viewer can read, by metadata name."""
    out = {f.name: f for f in s.fields.values()}
    for f in s.id_fields.values():
        out.setdefault(f.name, f)
    return out


def title_field(s: ObjectShape) -> str:
    """Return the field that names a record of ``s``: its first search field, ``name``,
    else its first text field, else the id."""
    fields = by_name(s)
    for name in (*s.obj.search, "name", "number", "subject"):
        if name in fields and fields[name].type in _TEXT_TYPES:
            return name
    for name, f in fields.items():
        if f.type in _TEXT_TYPES and not f.system:
            return name
    return "id"


def display_type(f: Field) -> str:
    """Return the type a value is shown as. In the API shape a formula or roll-up field
    already has its result's type; a sum of money keeps its currency
    (``default_currency``), so it shows as money."""
    if f.type == "formula":
        return str(f.option("returns") or "text")
    if f.type in ("decimal", "rollup") and f.option("default_currency"):
        return "currency"
    return f.type


def selection(shape: ApiShape, s: ObjectShape, name: str) -> str | None:
    """Return the GraphQL selection reading field ``name`` of ``s`` for this viewer."""
    f = by_name(s).get(name)
    key = api_name(s, name)
    if f is None or key is None:
        return None
    if f.type in ("lookup", "master_detail"):
        target = shape.objects.get(f.target or "")
        rel = next((r for r, rel in s.relations.items() if rel.via == f.name), None)
        if target is None or rel is None:
            return f"{rel or key}Id" if rel else key
        return f"{rel} {{ id {api_name(target, title_field(target))} }}"
    if f.type == "polymorphic_lookup":
        parts = []
        for t in f.targets:
            target = shape.objects.get(t)
            if target is not None:
                parts.append(
                    f"... on {target.type_name} {{ id {api_name(target, title_field(target))} }}"
                )
        return f"{key} {{ __typename {' '.join(parts)} }}"
    if f.type in _PARTS:
        return f"{key} {_PARTS[f.type]}"
    return key


def describe(shape: ApiShape, s: ObjectShape, f: Field, locale: str) -> dict[str, Any]:
    """Return one field for the web app: names, label, widget, rules and values."""
    kind = kind_of(f.type)
    # Writable on a create or an update, as the viewer may do either (the record page
    # offers editing only with update, quick create only with create).
    writes = "update" in s.allow or "create" in s.allow
    editable = writes and f.name not in s.read_only and not f.system and kind.widget != "readonly"
    if f.name == "owner":
        editable = writes
    out: dict[str, Any] = {
        "name": f.name,
        "api": api_name(s, f.name),
        "label": pick(f.label, locale),
        "type": f.type,
        "display": display_type(f),
        "widget": "owner" if f.name == "owner" else kind.widget,
        "required": f.required and not f.system,
        "readOnly": not editable,
        "select": selection(shape, s, f.name),
    }
    if f.help_text is not None:
        out["help"] = pick(f.help_text, locale)
    if f.values:
        out["values"] = [
            {"value": v.value, "label": pick(v.label, locale), "color": v.color}
            for v in f.values
            if not v.inactive
        ]
    if f.target:
        out["target"] = f.target if f.target in shape.objects else None
        rel = next((r for r, rel in s.relations.items() if rel.via == f.name), None)
        out["relation"] = rel if out["target"] else None
    if f.targets:
        out["targets"] = [t for t in f.targets if t in shape.objects]
    if out["display"] == "currency":
        out["currency"] = f.option("default_currency") or "CNY"
    if f.option("max_length"):
        out["maxLength"] = f.option("max_length")
    if f.option("scale") is not None:
        out["scale"] = f.option("scale")
    return out


def describe_all(shape: ApiShape, s: ObjectShape, locale: str) -> dict[str, dict[str, Any]]:
    """Return every readable field of ``s`` (system fields people see included)."""
    fields = by_name(s)
    out = {}
    for name, f in fields.items():
        if f.system and name not in SHOWN_SYSTEM:
            continue
        if name in SYSTEM_FIELDS and name not in SHOWN_SYSTEM:
            continue
        out[name] = describe(shape, s, f, locale)
    return out


_JSON_TYPES = {
    "integer": {"type": "integer"},
    "duration": {"type": "integer"},
    "decimal": {"type": "string", "format": "decimal"},
    "percent": {"type": "string", "format": "decimal"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "email": {"type": "string", "format": "email"},
    "url": {"type": "string", "format": "uri"},
    "uuid": {"type": "string", "format": "uuid"},
    "lookup": {"type": "string", "format": "uuid"},
    "master_detail": {"type": "string", "format": "uuid"},
    "json": {},
    "currency": {
        "type": "object",
        "properties": {
            "amount": {"type": "string", "format": "decimal"},
            "currencyCode": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
    },
}


def json_schema(described: dict[str, dict[str, Any]], title: str) -> dict[str, Any]:
    """Return the JSON Schema of a record as the viewer may read and write it."""
    properties: dict[str, Any] = {}
    for name, d in described.items():
        prop: dict[str, Any] = dict(_JSON_TYPES.get(d["display"], {"type": "string"}))
        prop["title"] = d["label"]
        if d.get("values"):
            choices = [{"const": v["value"], "title": v["label"]} for v in d["values"]]
            if d["type"] == "multi_picklist":
                prop = {"title": d["label"], "type": "array", "items": {"oneOf": choices}}
            else:
                prop["oneOf"] = choices
        if d.get("maxLength"):
            prop["maxLength"] = d["maxLength"]
        if d["readOnly"]:
            prop["readOnly"] = True
        properties[name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": properties,
        "required": [n for n, d in described.items() if d["required"] and not d["readOnly"]],
    }
