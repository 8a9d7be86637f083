"""Semantic checks of permission metadata: every name it uses must exist.

Roles must form a tree (no cycles), permission sets and sharing rules may only name
objects, fields and roles of the same document, and criteria values must suit their
fields. Like the other semantic checks, these skip what the JSON Schema already reports.
"""

from __future__ import annotations

from typing import Any

from metadata.errors import Issue, pointer
from metadata.identifiers import IDENTIFIER_PATTERN, SYSTEM_FIELD_NAMES, is_identifier
from metadata.kinds import types_where
from metadata.source import Document
from metadata.validation.structural import suggest

#: Field types a sharing rule's criteria can compare.
_CRITERIA_TYPES = types_where(lambda k: k.comparable)
_ORDER_OPERATORS = frozenset({"gt", "gte", "lt", "lte"})


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _PermissionChecker:
    def __init__(self, doc: Document) -> None:
        data = _mapping(doc.data)
        self.doc = doc
        self.objects = _mapping(data.get("objects"))
        self.roles = _mapping(data.get("roles"))
        self.sets = _mapping(data.get("permission_sets"))
        self.rules = _mapping(data.get("sharing_rules"))
        self.issues: list[Issue] = []

    def error(self, ptr: str, message: str, code: str) -> None:
        self.issues.append(self.doc.issue(ptr, message, code))

    def fields_of(self, obj: str) -> dict[str, Any]:
        return _mapping(_mapping(self.objects.get(obj)).get("fields"))

    def run(self) -> list[Issue]:
        for section, kind in (
            ("roles", "role"),
            ("permission_sets", "permission set"),
            ("sharing_rules", "sharing rule"),
        ):
            # These names are stored as values, never spliced into SQL, so SQL reserved
            # words are fine; they still follow the identifier pattern so they read the
            # same in YAML, the CLI and JWT claims.
            for name in _mapping(_mapping(self.doc.data).get(section)):
                if not (isinstance(name, str) and is_identifier(name)):
                    self.error(
                        pointer(section, str(name)),
                        f"{kind} name {name!r} is not a valid identifier: use 1-63 lowercase "
                        f"letters, digits and underscores, starting with a letter "
                        f"(pattern {IDENTIFIER_PATTERN})",
                        "invalid_name",
                    )
        self.check_roles()
        self.check_sets()
        self.check_rules()
        self.check_history()
        return self.issues

    def known_role(self, name: Any, ptr: str) -> bool:
        if not isinstance(name, str) or name in self.roles:
            return True
        self.error(ptr, f"no role named {name!r}" + suggest(name, list(self.roles)), "unknown_role")
        return False

    def known_object(self, name: Any, ptr: str) -> bool:
        if not isinstance(name, str) or name in self.objects:
            return isinstance(name, str)
        self.error(
            ptr, f"no object named {name!r}" + suggest(name, list(self.objects)), "unknown_object"
        )
        return False

    def known_field(self, obj: str, name: str, ptr: str) -> dict[str, Any] | None:
        fields = self.fields_of(obj)
        if name in fields:
            return _mapping(fields[name])
        if name in SYSTEM_FIELD_NAMES:
            self.error(ptr, f"system field {obj}.{name} cannot be named here", "system_field")
        else:
            self.error(
                ptr,
                f"object {obj!r} has no field {name!r}" + suggest(name, list(fields)),
                "unknown_field",
            )
        return None

    def check_roles(self) -> None:
        for name, raw in self.roles.items():
            parent = _mapping(raw).get("reports_to")
            ptr = pointer("roles", name, "reports_to")
            if parent == name:
                self.error(ptr, f"role {name!r} cannot report to itself", "role_cycle")
            elif self.known_role(parent, ptr) and isinstance(parent, str):
                seen = [name]
                current: Any = parent
                while isinstance(current, str) and current in self.roles and current not in seen:
                    seen.append(current)
                    current = _mapping(self.roles[current]).get("reports_to")
                if current == name:
                    self.error(
                        ptr,
                        "roles report to each other in a cycle: " + " → ".join([*seen, name]),
                        "role_cycle",
                    )

    def check_sets(self) -> None:
        for set_name, raw in self.sets.items():
            raw = _mapping(raw)
            for i, role in enumerate(raw.get("roles") or []):
                self.known_role(role, pointer("permission_sets", set_name, "roles", str(i)))
            for obj, grant in _mapping(raw.get("objects")).items():
                ptr = pointer("permission_sets", set_name, "objects", obj)
                if not self.known_object(obj, ptr):
                    continue
                for field_name in _mapping(_mapping(grant).get("fields")):
                    self.known_field(
                        obj,
                        field_name,
                        pointer("permission_sets", set_name, "objects", obj, "fields", field_name),
                    )

    def check_rules(self) -> None:
        for rule_name, raw in self.rules.items():
            raw = _mapping(raw)
            role = _mapping(raw.get("share_with")).get("role")
            self.known_role(role, pointer("sharing_rules", rule_name, "share_with", "role"))
            obj = raw.get("object")
            if not self.known_object(obj, pointer("sharing_rules", rule_name, "object")):
                continue
            for field_name, condition in _mapping(raw.get("criteria")).items():
                here = pointer("sharing_rules", rule_name, "criteria", field_name)
                field = self.known_field(obj, field_name, here)
                if field is None:
                    continue
                self.check_condition(obj, field_name, field, condition, here)

    def check_condition(
        self, obj: str, name: str, field: dict[str, Any], condition: Any, ptr: str
    ) -> None:
        kind = field.get("type")
        if kind not in _CRITERIA_TYPES:
            self.error(
                ptr,
                f"sharing criteria cannot compare {obj}.{name}, a {kind} field",
                "invalid_criteria",
            )
            return
        [(operator, value)] = (
            condition.items() if isinstance(condition, dict) else [("eq", condition)]
        )
        if operator in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.error(ptr, f"{operator} needs a non-empty list of values", "invalid_criteria")
                return
            values = value
        elif operator == "is_null":
            if not isinstance(value, bool):
                self.error(ptr, "is_null needs true or false", "invalid_criteria")
            return
        else:
            if isinstance(value, list | dict) or value is None:
                self.error(ptr, f"{operator} needs a single value", "invalid_criteria")
                return
            values = [value]
        if operator in _ORDER_OPERATORS and kind in ("boolean", "picklist", "lookup", "uuid"):
            self.error(ptr, f"{operator} cannot compare a {kind} field", "invalid_criteria")
        if kind == "picklist":
            codes = [
                v.get("value") if isinstance(v, dict) else v for v in field.get("values") or []
            ]
            for v in values:
                if v not in codes:
                    self.error(
                        ptr,
                        f"{v!r} is not a value of {obj}.{name}" + suggest(str(v), codes),
                        "invalid_criteria",
                    )

    def check_history(self) -> None:
        for obj, raw in self.objects.items():
            for i, field_name in enumerate(_mapping(raw).get("history") or []):
                if isinstance(field_name, str):
                    self.known_field(obj, field_name, pointer("objects", obj, "history", str(i)))


def check_permissions(doc: Document) -> list[Issue]:
    """Return every problem in ``doc``'s permission metadata and field history lists."""
    return _PermissionChecker(doc).run()
