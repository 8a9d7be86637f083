"""Check a document against the JSON Schema and word each failure for a person.

jsonschema's own messages ("Additional properties are not allowed ('x' was unexpected)")
point at the parent and name schema keywords. Here each failure points at the offending key
or value and says what would be valid, with a "did you mean" where a near miss is likely.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from metadata.automation import SECRET_ENV_PATTERN, SECRET_ENV_PREFIX
from metadata.errors import Issue, pointer
from metadata.field_types import TYPES
from metadata.json_schema import LOCALE_PATTERN, build_schema
from metadata.source import Document

#: What a value of each pattern-checked default looks like, in words.
_DEFAULT_FORMATS = {
    "date": "a date as YYYY-MM-DD, or 'today'",
    "datetime": "a date-time with a UTC offset such as 2024-05-01T09:30:00+08:00, or 'now'",
    "time": "a time of day as HH:MM or HH:MM:SS",
    "email": "an e-mail address such as sales@example.com",
    "phone": "a phone number of digits, spaces and + ( ) - .",
    "url": "an http:// or https:// address",
    "uuid": "a UUID such as 0b3c1f9e-6a51-4f5e-9a43-2c8b1d1f7a10",
}
_TEXT_KEYS = ("label", "plural", "description", "help_text")
#: JSON Schema type names in the words a YAML author uses.
_WANTED = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}
_JSON_TYPES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a mapping",
    type(None): "nothing (null)",
}


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(build_schema())


@cache
def _fast_validator() -> Any:
    return fast_validator(build_schema())


def fast_validator(schema: dict[str, Any], references: dict[str, Any] | None = None) -> Any:
    """Return jsonschema-rs's validator of ``schema`` (formats not asserted, as by the
    Python validator): it says whether a document is valid ~20x faster, and a valid
    document (nearly every one) needs nothing more. Only an invalid one goes through the
    Python validator, for issues worded with their locations. ``references``: other
    schemas by URI, for ``$ref``."""
    import jsonschema_rs

    registry = jsonschema_rs.Registry(list((references or {}).items())) if references else None
    return jsonschema_rs.validator_for(schema, validate_formats=False, registry=registry)


def _describe_container(path: list[Any], instance: Any) -> str:
    if not path:
        return "the document"
    if len(path) == 2 and path[0] == "objects":
        return f"object {path[1]!r}"
    if len(path) == 4 and path[2] == "fields":
        kind = instance.get("type") if isinstance(instance, dict) else None
        return f"a {kind} field" if kind in TYPES else f"field {path[3]!r}"
    if len(path) == 4 and path[2] == "indexes":
        return "an index"
    if path[-1] == "values" or (len(path) >= 2 and path[-2] == "values"):
        return "a picklist value"
    return "this mapping"


def suggest(word: str, choices: list[str]) -> str:
    """Return ' (did you mean X?)' for the closest of ``choices``, or ''."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _found(value: Any) -> str:
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    shown = repr(value) if not isinstance(value, dict | list) else kind
    return f"{kind} ({shown})" if kind != shown else kind


def _issues_for(doc: Document, error: ValidationError) -> Iterator[Issue]:
    path = list(error.absolute_path)
    ptr = pointer(*path)
    keyword = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance

    if keyword == "propertyNames" or "propertyNames" in error.schema_path:
        return  # identifiers get a fuller explanation from the semantic checks
    if keyword == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        what = _describe_container(path, value)
        for key in sorted(set(value) - set(allowed)):
            yield doc.issue(
                ptr + pointer(key),
                f"{key!r} is not allowed on {what}{suggest(key, allowed)}; "
                f"allowed: {', '.join(allowed)}",
                "unknown_option",
            )
        return
    if keyword == "required":
        what = _describe_container(path, value)
        for key in schema.get("required", []):
            if isinstance(value, dict) and key not in value:
                yield doc.issue(ptr, f"{what} is missing {key!r}", "missing_option")
        return
    if keyword == "enum" and path and path[-1] == "type":
        yield doc.issue(
            ptr,
            f"{value!r} is not a field type{suggest(str(value), list(TYPES))}; "
            f"valid types: {', '.join(TYPES)}",
            "unknown_type",
        )
        return
    if keyword == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        yield doc.issue(ptr, f"{value!r} is not one of: {choices}", "invalid_value")
        return
    if keyword == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else wanted
        wanted = " or ".join(_WANTED.get(w, w) for w in wanted)
        yield doc.issue(ptr, f"expected {wanted}, found {_found(value)}", "wrong_type")
        return
    if keyword == "pattern" and path and path[-1] == "default":
        field = _field_at(doc, path[:-1])
        hint = _DEFAULT_FORMATS.get(field.get("type"), f"a value matching {schema['pattern']}")
        yield doc.issue(ptr, f"default {value!r} is not {hint}", "invalid_default")
        return
    if keyword == "pattern" and len(path) >= 2 and "values" in path[-3:]:
        yield doc.issue(
            ptr,
            f"picklist value {value!r} must be a code of letters, digits, '_', '.' and '-' "
            "(up to 100 characters, starting with a letter or digit); put display text in "
            "its label",
            "invalid_value",
        )
        return
    if keyword == "pattern" and error.validator_value == SECRET_ENV_PATTERN:
        yield doc.issue(
            ptr,
            f"{value!r} is not a webhook secret's variable: its name must start with "
            f"{SECRET_ENV_PREFIX} (other variables may hold the platform's own secrets)",
            "invalid_value",
        )
        return
    if keyword == "pattern":
        yield doc.issue(
            ptr,
            f"{value!r} does not have the expected form (pattern {error.validator_value})",
            "invalid_value",
        )
        return
    if keyword in ("anyOf", "oneOf") and error.context:
        # Explain the failure of the branch meant for this kind of value: a label given as
        # a map is judged as a map, a picklist value given as text is judged as text.
        branch = _branch_for(error, value)
        if branch and not (isinstance(value, dict) and path and path[-1] in _TEXT_KEYS):
            for inner in branch:
                yield from _issues_for(doc, inner)
            return
        yield doc.issue(ptr, _any_of_message(path, value), "invalid_value")
        return
    if keyword in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
        yield doc.issue(ptr, _bound_message(keyword, error.validator_value, value), "out_of_range")
        return
    if keyword == "uniqueItems":
        yield doc.issue(ptr, "list has repeated entries; each may appear once", "duplicate")
        return
    yield doc.issue(ptr, error.message, "invalid_value")


def _branch_for(error: ValidationError, value: Any) -> list[ValidationError]:
    """Return the errors of the anyOf branch whose declared type fits ``value``."""
    branches: dict[int, list[ValidationError]] = {}
    for inner in error.context or ():
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    if isinstance(value, dict):
        # Objects told apart by their keys (a trigger's {webhook: ...}): the branch whose
        # required keys the value has.
        for index, subschema in enumerate(error.validator_value):
            required = subschema.get("required")
            if required and set(required) <= set(value) and index in branches:
                return branches[index]
    for index, subschema in enumerate(error.validator_value):
        wanted = subschema.get("type")
        if wanted and Draft202012Validator.TYPE_CHECKER.is_type(value, wanted):
            return branches.get(index, [])
    return []


def _any_of_message(path: list[Any], value: Any) -> str:
    if isinstance(value, dict) and path and path[-1] in _TEXT_KEYS:
        bad = [k for k in value if not re.match(LOCALE_PATTERN, str(k))]
        if bad:
            return (
                f"{bad[0]!r} is not a locale code; use codes such as en, zh-CN or ja "
                "(lowercase language, then an optional region)"
            )
        empty = [k for k, v in value.items() if not isinstance(v, str) or not v]
        if empty:
            return f"the {empty[0]!r} text must be a non-empty string"
        return "a locale map needs at least one translation"
    if path and path[-1] in _TEXT_KEYS:
        return (
            f"expected text or a locale map such as {{en: ..., zh-CN: ...}}, found {_found(value)}"
        )
    return f"{_found(value)} is not an accepted form here"


def _bound_message(keyword: str, bound: Any, value: Any) -> str:
    return {
        "minimum": f"{value!r} is below the minimum of {bound}",
        "maximum": f"{value!r} is above the maximum of {bound}",
        "minLength": f"text must have at least {bound} character(s)",
        "maxLength": f"text must have at most {bound} characters",
        "minItems": f"list must have at least {bound} item(s)",
        "maxItems": f"list must have at most {bound} items",
    }[keyword]


def _field_at(doc: Document, path: list[Any]) -> dict[str, Any]:
    node: Any = doc.data
    for part in path:
        node = node[part] if isinstance(node, dict | list) else {}
    return node if isinstance(node, dict) else {}


def check_structure(
    doc: Document, validator: Draft202012Validator | None = None, fast: Any = None
) -> list[Issue]:
    """Return every JSON Schema violation in ``doc`` as plainly worded issues.

    ``validator`` checks against another schema (a pack file's), ``fast`` being the
    same schema's ``fast_validator``; default: metadata's.
    """
    if (fast if validator is not None else _fast_validator()).is_valid(doc.data):
        return []
    issues: list[Issue] = []
    seen: set[tuple[str, str]] = set()
    for error in (validator or _validator()).iter_errors(doc.data):
        for issue in _issues_for(doc, error):
            if (issue.pointer, issue.message) not in seen:
                seen.add((issue.pointer, issue.message))
                issues.append(issue)
    return issues
