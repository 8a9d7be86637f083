"""Checks the JSON Schema cannot express: names, references, cycles and defaults.

These run on the raw document even when it also has structural errors, so an author sees
every problem at once. Each check skips quietly what the schema already reports (a label
that is a number, a field without a type) instead of failing on it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from metadata.auto_number import parse_format
from metadata.errors import Issue, pointer
from metadata.field_types import TYPES
from metadata.identifiers import (
    SYSTEM_FIELD_NAMES,
    camel_case,
    default_plural,
    identifier_problem,
    is_identifier,
    pascal_case,
)
from metadata.kinds import KINDS
from metadata.source import Document
from metadata.validation.structural import suggest

#: Longest suffix storage appends to a field's column name (a currency's code column).
_LONGEST_COLUMN_SUFFIX = len("__currency")
#: PostgreSQL allows 1,600 columns per table; leave room for system and generated columns.
MAX_FIELDS_PER_OBJECT = 700
#: Field types full-text search can match.
SEARCHABLE_TYPES = tuple(name for name, k in KINDS.items() if k.searchable)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _values(field: dict[str, Any]) -> list[str]:
    """Return the picklist value codes of ``field``, skipping malformed entries."""
    codes = []
    for entry in field.get("values") or []:
        code = entry.get("value") if isinstance(entry, dict) else entry
        if isinstance(code, str):
            codes.append(code)
    return codes


class _Checker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.objects = _mapping(_mapping(doc.data).get("objects"))
        self.issues: list[Issue] = []

    def error(self, ptr: str, message: str, code: str) -> None:
        self.issues.append(self.doc.issue(ptr, message, code))

    def warn(self, ptr: str, message: str, code: str) -> None:
        self.issues.append(self.doc.issue(ptr, message, code, severity="warning"))

    def fields(self) -> Iterator[tuple[str, str, dict[str, Any], str]]:
        for obj_name, obj in self.objects.items():
            for field_name, field in _mapping(_mapping(obj).get("fields")).items():
                if isinstance(field, dict):
                    ptr = pointer("objects", obj_name, "fields", field_name)
                    yield obj_name, field_name, field, ptr

    def run(self) -> list[Issue]:
        self.check_names()
        self.check_api_names()
        for obj_name, field_name, field, ptr in self.fields():
            self.check_field(obj_name, field_name, field, ptr)
        self.check_reverse_relations()
        self.check_search()
        self.check_master_detail_cycles()
        self.check_indexes()
        self.check_renames()
        self.check_translations()
        return self.issues

    # -- names ---------------------------------------------------------------------------

    def check_names(self) -> None:
        for obj_name, obj in self.objects.items():
            obj_ptr = pointer("objects", obj_name)
            problem = identifier_problem(obj_name, kind="object")
            if problem:
                self.error(obj_ptr, problem, "invalid_name")
            fields = _mapping(_mapping(obj).get("fields"))
            if len(fields) > MAX_FIELDS_PER_OBJECT:
                self.error(
                    obj_ptr + "/fields",
                    f"object {obj_name!r} has {len(fields)} fields; the limit is "
                    f"{MAX_FIELDS_PER_OBJECT}. Split it into related objects",
                    "too_many_fields",
                )
            for field_name, field in fields.items():
                ptr = pointer("objects", obj_name, "fields", field_name)
                problem = identifier_problem(field_name, kind="field")
                if problem:
                    self.error(ptr, problem, "invalid_name")
                elif (
                    _mapping(field).get("type") == "currency"
                    and len(field_name) + _LONGEST_COLUMN_SUFFIX > 63
                ):
                    self.error(
                        ptr,
                        f"currency field name {field_name!r} is too long: its currency-code "
                        f"column needs {_LONGEST_COLUMN_SUFFIX} more characters within the "
                        f"63-character limit, so use at most {63 - _LONGEST_COLUMN_SUFFIX}",
                        "name_too_long",
                    )

    def check_api_names(self) -> None:
        """Object names become GraphQL types and root fields; none of them may collide."""
        types: dict[str, str] = {}
        roots: dict[str, str] = {}
        for obj_name, obj in self.objects.items():
            if not is_identifier(obj_name):
                continue
            obj_ptr = pointer("objects", obj_name)
            type_name = pascal_case(obj_name)
            if type_name in types:
                self.error(
                    obj_ptr,
                    f"object {obj_name!r} and object {types[type_name]!r} would both become "
                    f"GraphQL type {type_name!r}; rename one",
                    "name_collision",
                )
            types[type_name] = obj_name
            plural = _mapping(obj).get("plural_name")
            plural = plural if isinstance(plural, str) else default_plural(obj_name)
            if plural == obj_name:
                self.error(
                    obj_ptr + ("/plural_name" if "plural_name" in _mapping(obj) else ""),
                    f"the plural API name of {obj_name!r} is the same as its singular; set "
                    "plural_name to a different identifier, e.g. "
                    f"{obj_name + '_list'!r}",
                    "name_collision",
                )
                continue
            for root, role in ((obj_name, "singular"), (plural, "plural")):
                key = camel_case(root)
                if key in roots and roots[key] != obj_name:
                    self.error(
                        obj_ptr,
                        f"the {role} API name {root!r} of object {obj_name!r} collides with "
                        f"object {roots[key]!r}; set plural_name on one of them",
                        "name_collision",
                    )
                roots.setdefault(key, obj_name)

    # -- fields --------------------------------------------------------------------------

    def check_field(self, obj: str, name: str, field: dict[str, Any], ptr: str) -> None:
        kind = field.get("type")
        ftype = TYPES.get(kind) if isinstance(kind, str) else None
        if ftype is None:
            return  # the schema reports unknown types
        if ftype.is_relation:
            target = field.get("to")
            if isinstance(target, str) and target not in self.objects:
                self.error(
                    ptr + "/to",
                    f"{kind} field {obj}.{name} refers to object {target!r}, which does not "
                    f"exist{suggest(target, list(self.objects))}; known objects: "
                    f"{', '.join(sorted(self.objects)) or 'none'}",
                    "unknown_reference",
                )
        if kind == "polymorphic_lookup" and isinstance(field.get("to"), list):
            for i, target in enumerate(field["to"]):
                if isinstance(target, str) and target not in self.objects:
                    self.error(
                        f"{ptr}/to/{i}",
                        f"polymorphic_lookup field {obj}.{name} refers to object {target!r}, "
                        f"which does not exist{suggest(target, list(self.objects))}; known "
                        f"objects: {', '.join(sorted(self.objects)) or 'none'}",
                        "unknown_reference",
                    )
        if field.get("unique") is True and not ftype.can_be_unique:
            self.error(ptr + "/unique", f"a {kind} field cannot be unique", "invalid_option")
        if kind == "master_detail" and field.get("required") is False:
            self.error(
                ptr + "/required",
                "a master_detail field is always required (a detail cannot exist without "
                "its master); use a lookup for an optional reference",
                "invalid_option",
            )
        if kind == "auto_number":
            if field.get("required") is True:
                self.error(
                    ptr + "/required",
                    "an auto_number value is always assigned on insert; remove 'required'",
                    "invalid_option",
                )
            if field.get("unique") is False:
                self.error(
                    ptr + "/unique",
                    "auto_number values are always unique; remove 'unique: false'",
                    "invalid_option",
                )
            fmt, reset = field.get("format"), field.get("reset", "never")
            if isinstance(fmt, str) and isinstance(reset, str):
                try:
                    parse_format(fmt, reset)
                except ValueError as exc:
                    self.error(ptr + "/format", str(exc), "invalid_format")
        if (
            kind == "lookup"
            and field.get("required") is True
            and field.get("on_delete") == "set_null"
        ):
            self.error(
                ptr + "/on_delete",
                "a required lookup cannot use on_delete: set_null (the value could not be "
                "cleared); use restrict or cascade",
                "invalid_option",
            )
        precision, scale = field.get("precision"), field.get("scale")
        if isinstance(precision, int) and isinstance(scale, int) and scale > precision:
            self.error(
                ptr + "/scale",
                f"scale {scale} is larger than precision {precision}; the scale counts "
                "digits after the point and must fit within the precision",
                "invalid_option",
            )
        if "values" in field:
            seen: set[str] = set()
            for index, code in enumerate(_values(field)):
                if code in seen:
                    self.error(
                        ptr + f"/values/{index}",
                        f"picklist value {code!r} is listed twice",
                        "duplicate",
                    )
                seen.add(code)
        if "default" in field:
            problem = default_problem(field)
            if problem:
                self.error(ptr + "/default", problem, "invalid_default")

    def check_reverse_relations(self) -> None:
        """Reverse to-many names must not clash with fields on the target object."""
        taken: dict[str, dict[str, str]] = {}
        for target, obj in self.objects.items():
            names = taken.setdefault(target, {})
            for field_name in [*SYSTEM_FIELD_NAMES, *_mapping(_mapping(obj).get("fields"))]:
                names.setdefault(camel_case(field_name), f"field {field_name!r}")
        for obj_name, field_name, field, ptr in self.fields():
            target = field.get("to")
            kind = field.get("type")
            if not (
                kind in ("lookup", "master_detail")
                and isinstance(target, str)
                and target in self.objects
            ):
                continue
            related = field.get("related_name")
            if isinstance(related, str):
                problem = identifier_problem(related, kind="field")
                if problem:
                    self.error(
                        ptr + "/related_name",
                        problem.replace("field name", "related_name", 1),
                        "invalid_name",
                    )
                    continue
            else:
                plural = _mapping(self.objects.get(obj_name)).get("plural_name")
                related = plural if isinstance(plural, str) else default_plural(obj_name)
            owner = f"the reverse relation of {obj_name}.{field_name}"
            clash = taken[target].get(camel_case(related))
            if clash:
                self.error(
                    ptr + ("/related_name" if "related_name" in field else ""),
                    f"{owner} would be named {related!r} on {target!r}, which {clash} "
                    f"already uses; set related_name to a free name, e.g. "
                    f"{related + '_by_' + field_name!r}",
                    "name_collision",
                )
            else:
                taken[target][camel_case(related)] = owner
        self.check_junctions(taken)
        for obj_name, obj in self.objects.items():
            seen: dict[str, str] = {}
            fields = _mapping(_mapping(obj).get("fields"))
            for field_name in fields:
                key = camel_case(field_name)
                if key in seen:
                    self.error(
                        pointer("objects", obj_name, "fields", field_name),
                        f"fields {seen[key]!r} and {field_name!r} would both be GraphQL "
                        f"field {key!r}; rename one",
                        "name_collision",
                    )
                seen[key] = field_name
            # A reference field `account` also gives GraphQL field `accountId`.
            for field_name, field in fields.items():
                if _mapping(field).get("type") in ("lookup", "master_detail"):
                    id_key = camel_case(field_name) + "Id"
                    if id_key in seen:
                        self.error(
                            pointer("objects", obj_name, "fields", seen[id_key]),
                            f"field {seen[id_key]!r} would be GraphQL field {id_key!r}, which "
                            f"reference field {field_name!r} already gives; rename one",
                            "name_collision",
                        )

    def check_junctions(self, taken: dict[str, dict[str, str]]) -> None:
        """A junction maps its two reference fields to free relation names on their targets."""
        for obj_name, obj in self.objects.items():
            junction = _mapping(_mapping(obj).get("junction"))
            fields = _mapping(_mapping(obj).get("fields"))
            for field_name, relation in junction.items():
                ptr = pointer("objects", obj_name, "junction", field_name)
                field = _mapping(fields.get(field_name))
                if field.get("type") not in ("lookup", "master_detail"):
                    self.error(
                        ptr,
                        f"junction field {field_name!r} must be a lookup or master_detail "
                        f"field of {obj_name!r}"
                        + suggest(field_name, [n for n in fields if n not in junction]),
                        "invalid_junction",
                    )
                    continue
                target = field.get("to")
                if not isinstance(relation, str) or target not in taken:
                    continue
                problem = identifier_problem(relation, kind="field")
                if problem:
                    self.error(
                        ptr, problem.replace("field name", "relation name", 1), "invalid_name"
                    )
                    continue
                clash = taken[target].get(camel_case(relation))
                if clash:
                    self.error(
                        ptr,
                        f"the many-to-many relation {relation!r} on {target!r} is already "
                        f"used by {clash}; choose another name",
                        "name_collision",
                    )
                else:
                    taken[target][camel_case(relation)] = f"junction {obj_name!r}"

    def check_search(self) -> None:
        """Search fields must be text fields of the object."""
        for obj_name, obj in self.objects.items():
            fields = _mapping(_mapping(obj).get("fields"))
            for position, field_name in enumerate(_mapping(obj).get("search") or []):
                if not isinstance(field_name, str):
                    continue
                kind = _mapping(fields.get(field_name)).get("type")
                if kind not in SEARCHABLE_TYPES:
                    texts = [
                        n for n, f in fields.items() if _mapping(f).get("type") in SEARCHABLE_TYPES
                    ]
                    self.error(
                        pointer("objects", obj_name, "search", str(position)),
                        f"search field {field_name!r} must be a text field of {obj_name!r} "
                        f"({', '.join(SEARCHABLE_TYPES)})" + suggest(field_name, texts),
                        "invalid_search",
                    )

    def check_master_detail_cycles(self) -> None:
        edges: dict[str, list[tuple[str, str]]] = {}
        for obj_name, field_name, field, _ in self.fields():
            if field.get("type") == "master_detail" and isinstance(field.get("to"), str):
                edges.setdefault(obj_name, []).append((field.get("to"), field_name))
        reported: set[frozenset[str]] = set()

        def walk(start: str, node: str, path: list[tuple[str, str]]) -> None:
            for target, via in edges.get(node, []):
                step = [*path, (node, via)]
                if target == start:
                    members = frozenset(n for n, _ in step)
                    if members not in reported:
                        reported.add(members)
                        chain = " → ".join(f"{n}.{f}" for n, f in step) + f" → {start}"
                        self.error(
                            pointer("objects", node, "fields", via, "to"),
                            f"master-detail chain forms a cycle: {chain}; a record cannot "
                            "be its own master. Make one link a lookup",
                            "master_detail_cycle",
                        )
                elif target not in {n for n, _ in step} and len(step) < 64:
                    walk(start, target, step)

        for start in sorted(edges):
            walk(start, start, [])

    def check_indexes(self) -> None:
        for obj_name, obj in self.objects.items():
            fields = _mapping(_mapping(obj).get("fields"))
            indexes = _mapping(obj).get("indexes")
            seen: dict[tuple[str, ...], int] = {}
            for position, index in enumerate(indexes if isinstance(indexes, list) else []):
                names = _mapping(index).get("fields")
                if not isinstance(names, list):
                    continue
                ptr = pointer("objects", obj_name, "indexes", position)
                for i, name in enumerate(names):
                    if not isinstance(name, str):
                        continue
                    field = fields.get(name)
                    if field is None and name not in SYSTEM_FIELD_NAMES:
                        self.error(
                            ptr + f"/fields/{i}",
                            f"index on {obj_name!r} names field {name!r}, which the object "
                            f"does not have{suggest(name, [*fields, *SYSTEM_FIELD_NAMES])}",
                            "unknown_reference",
                        )
                    elif (
                        isinstance(field, dict)
                        and field.get("type") in TYPES
                        and not TYPES[field["type"]].can_be_indexed
                    ):
                        self.error(
                            ptr + f"/fields/{i}",
                            f"a {field['type']} field such as {name!r} cannot be indexed",
                            "invalid_option",
                        )
                key = tuple(n for n in names if isinstance(n, str))
                if key in seen:
                    self.error(
                        ptr,
                        f"index on ({', '.join(key)}) repeats index #{seen[key]} of {obj_name!r}",
                        "duplicate",
                    )
                seen.setdefault(key, position)

    def check_renames(self) -> None:
        sources: dict[str, str] = {}
        for obj_name, obj in self.objects.items():
            old = _mapping(obj).get("renamed_from")
            if isinstance(old, str):
                ptr = pointer("objects", obj_name, "renamed_from")
                if old in self.objects:
                    self.error(
                        ptr,
                        f"object {obj_name!r} is renamed from {old!r}, but {old!r} is still "
                        "defined; remove one of them",
                        "invalid_rename",
                    )
                elif old in sources:
                    self.error(
                        ptr,
                        f"objects {sources[old]!r} and {obj_name!r} are both renamed from {old!r}",
                        "invalid_rename",
                    )
                sources[old] = obj_name
            fields = _mapping(_mapping(obj).get("fields"))
            field_sources: dict[str, str] = {}
            for field_name, field in fields.items():
                old = _mapping(field).get("renamed_from")
                if not isinstance(old, str):
                    continue
                ptr = pointer("objects", obj_name, "fields", field_name, "renamed_from")
                if old in fields:
                    self.error(
                        ptr,
                        f"field {field_name!r} is renamed from {old!r}, but {old!r} is "
                        "still defined; remove one of them",
                        "invalid_rename",
                    )
                elif old in field_sources:
                    self.error(
                        ptr,
                        f"fields {field_sources[old]!r} and {field_name!r} are both renamed "
                        f"from {old!r}",
                        "invalid_rename",
                    )
                field_sources[old] = field_name

    def check_translations(self) -> None:
        """Warn where a label map exists but lacks one of the locales every label ships in."""
        for obj_name, obj in self.objects.items():
            places = [(pointer("objects", obj_name), _mapping(obj))]
            places += [
                (pointer("objects", obj_name, "fields", f), _mapping(v))
                for f, v in _mapping(_mapping(obj).get("fields")).items()
            ]
            for ptr, node in places:
                for key in ("label", "plural"):
                    text = node.get(key)
                    if isinstance(text, dict):
                        for locale in ("en", "zh-CN"):
                            if locale not in text:
                                self.warn(
                                    f"{ptr}/{key}",
                                    f"{key} has no {locale!r} translation",
                                    "missing_translation",
                                )


def default_problem(field: dict[str, Any]) -> str | None:
    """Return why ``field['default']`` does not fit the field, or None when it does."""
    kind, value = field.get("type"), field.get("default")
    ftype = TYPES.get(kind) if isinstance(kind, str) else None
    if ftype is None or ftype.default_schema is None or value is None:
        return None
    pattern = ftype.default_schema.get("pattern")
    if isinstance(value, str) and pattern and not re.match(pattern, value):
        return None  # wrong shape: the schema check already says what shape is expected
    max_length = field.get(
        "max_length", ftype.options.get("max_length") and ftype.options["max_length"].default
    )
    if isinstance(value, str) and isinstance(max_length, int) and len(value) > max_length:
        return f"default is {len(value)} characters long; the field allows {max_length}"
    if kind == "date" and isinstance(value, str) and value != "today":
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return f"default {value!r} is not a real calendar date"
    if kind == "datetime" and isinstance(value, str) and value != "now":
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"default {value!r} is not a real date and time"
    if kind == "time" and isinstance(value, str):
        try:
            dt.time.fromisoformat(value)
        except ValueError:
            return f"default {value!r} is not a real time of day"
    if (
        kind in ("decimal", "currency", "percent")
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        return _decimal_problem(value, field, ftype)
    if kind == "picklist" and isinstance(value, str):
        return _picklist_problem([value], field)
    if kind == "multi_picklist" and isinstance(value, list):
        return _picklist_problem([v for v in value if isinstance(v, str)], field)
    return None


def _decimal_problem(value: float, field: dict[str, Any], ftype: Any) -> str | None:
    precision = field.get("precision", ftype.options["precision"].default)
    scale = field.get("scale", ftype.options["scale"].default)
    if not (isinstance(precision, int) and isinstance(scale, int)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    _sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int):
        return f"default {value!r} is not a finite number"
    decimals = max(0, -exponent)
    whole = max(0, len(digits) + exponent)
    if decimals > scale:
        return f"default {value!r} has {decimals} decimal places; the field keeps {scale}"
    if whole > precision - scale:
        return (
            f"default {value!r} has {whole} digits before the point; precision {precision} "
            f"with scale {scale} leaves room for {precision - scale}"
        )
    return None


def _picklist_problem(chosen: list[str], field: dict[str, Any]) -> str | None:
    allowed = _values(field)
    if not allowed:
        return None
    inactive = {
        e.get("value")
        for e in field.get("values") or []
        if isinstance(e, dict) and e.get("inactive")
    }
    for code in chosen:
        if code not in allowed:
            return f"default {code!r} is not one of the values: {', '.join(allowed)}"
        if code in inactive:
            return f"default {code!r} is an inactive value"
    return None


def check_semantics(doc: Document) -> list[Issue]:
    """Return every semantic problem in ``doc`` (errors and warnings)."""
    return _Checker(doc).run()
