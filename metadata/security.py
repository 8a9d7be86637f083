"""Permission metadata: roles, permission sets and sharing rules.

These are part of a tenant's metadata like objects are, so they are versioned, diffed and
shipped in packs. What a person may do is decided at request time from these plus their
membership (role, extra permission sets); ``runtime/security`` compiles that into SQL.

Permission sets add up: a user gets the union of every set assigned to them or their role.
A set that grants an object grants all its fields for editing unless it lists a field with
a lower level, so to keep a field from someone, no set they hold may grant it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from metadata.text import Text

#: Object permissions, weakest first. ``read`` is implied by every other one.
OBJECT_ACTIONS = ("read", "create", "update", "delete", "restore")
#: Record access depths, narrowest first (like Dataverse's user / business unit /
#: organization): records one owns, records owned by anyone in one's role subtree, all.
ACCESS_DEPTHS = ("own", "subtree", "tenant")
#: Field permission levels, lowest first.
FIELD_LEVELS = ("none", "read", "edit")
#: What a sharing rule or manual share grants on a record.
SHARE_ACCESS = ("read", "edit")
#: Operators a sharing rule's criteria may use.
CRITERIA_OPERATORS = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "is_null")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Role:
    """A position in the role hierarchy; managers see what their subtree owns."""

    name: str
    label: Text
    reports_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label.to_json()}
        if self.reports_to:
            out["reports_to"] = self.reports_to
        return out


@dataclass(frozen=True)
class ObjectGrant:
    """What one permission set allows on one object."""

    allow: frozenset[str]
    access: str = "own"
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Field name → level (``none`` or ``read``); unlisted fields are editable."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "allow": [a for a in OBJECT_ACTIONS if a in self.allow],
            "access": self.access,
        }
        if self.fields:
            out["fields"] = dict(sorted(self.fields.items()))
        return out


@dataclass(frozen=True)
class PermissionSet:
    """A named bundle of object and field permissions, assigned to roles or users."""

    name: str
    label: Text
    objects: Mapping[str, ObjectGrant]
    roles: tuple[str, ...] = ()
    """Roles whose members all hold this set (users can also be given it directly)."""
    description: Text | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label.to_json()}
        if self.description:
            out["description"] = self.description.to_json()
        out["roles"] = sorted(self.roles)
        out["objects"] = {name: g.to_json() for name, g in sorted(self.objects.items())}
        return out


@dataclass(frozen=True)
class SharingRule:
    """Records of ``object`` matching ``criteria`` are shared with a role (and below)."""

    name: str
    label: Text
    object: str
    criteria: Mapping[str, Mapping[str, Any]]
    """Field name → {operator: value}; all must hold."""
    role: str
    subordinates: bool = False
    access: str = "read"

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label.to_json(),
            "object": self.object,
            "criteria": {k: dict(v) for k, v in self.criteria.items()},
            "share_with": {"role": self.role, "subordinates": self.subordinates},
            "access": self.access,
        }


@dataclass(frozen=True)
class Security:
    """All permission metadata of a tenant."""

    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    permission_sets: Mapping[str, PermissionSet] = field(
        default_factory=lambda: MappingProxyType({})
    )
    sharing_rules: Mapping[str, SharingRule] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.roles or self.permission_sets or self.sharing_rules)

    def to_document(self) -> dict[str, Any]:
        """Return the canonical form of each non-empty section, sorted by name."""
        out: dict[str, Any] = {}
        for key in ("roles", "permission_sets", "sharing_rules"):
            items = getattr(self, key)
            if items:
                out[key] = {name: items[name].to_json() for name in sorted(items)}
        return out

    def subtree(self, role: str) -> list[str]:
        """Return ``role`` and every role below it, top down."""
        children: dict[str, list[str]] = {}
        for r in self.roles.values():
            if r.reports_to:
                children.setdefault(r.reports_to, []).append(r.name)
        out, stack = [], [role]
        while stack:
            current = stack.pop()
            if current in out:
                continue  # validation refuses cycles; stay finite regardless
            out.append(current)
            stack.extend(sorted(children.get(current, ()), reverse=True))
        return out

    def ancestors(self, role: str) -> list[str]:
        """Return the roles above ``role``, nearest first."""
        out: list[str] = []
        current = self.roles.get(role)
        while current is not None and current.reports_to and current.reports_to not in out:
            out.append(current.reports_to)
            current = self.roles.get(current.reports_to)
        return out


EMPTY_SECURITY = Security()


def _humanize(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _label(raw: Mapping[str, Any], name: str) -> Text:
    return Text.of(raw.get("label", _humanize(name)))


def _grant(raw: Mapping[str, Any]) -> ObjectGrant:
    allow = set(raw.get("allow") or ())
    if allow:
        allow.add("read")
    return ObjectGrant(
        allow=frozenset(allow),
        access=raw.get("access", "own"),
        fields=_frozen({k: v for k, v in (raw.get("fields") or {}).items() if v != "edit"}),
    )


def build_security(document: Mapping[str, Any]) -> Security:
    """Return the permission metadata of a validated (or canonical) document."""
    roles = {
        name: Role(name, _label(raw or {}, name), (raw or {}).get("reports_to"))
        for name, raw in (document.get("roles") or {}).items()
    }
    sets = {
        name: PermissionSet(
            name=name,
            label=_label(raw, name),
            objects=_frozen({o: _grant(g) for o, g in (raw.get("objects") or {}).items()}),
            roles=tuple(sorted(raw.get("roles") or ())),
            description=Text.of(raw["description"]) if raw.get("description") else None,
        )
        for name, raw in (document.get("permission_sets") or {}).items()
    }
    rules = {}
    for name, raw in (document.get("sharing_rules") or {}).items():
        criteria = {
            f: _frozen(c if isinstance(c, dict) else {"eq": c})
            for f, c in (raw.get("criteria") or {}).items()
        }
        share_with = raw.get("share_with") or {}
        rules[name] = SharingRule(
            name=name,
            label=_label(raw, name),
            object=raw["object"],
            criteria=_frozen(criteria),
            role=share_with["role"],
            subordinates=bool(share_with.get("subordinates", False)),
            access=raw.get("access", "read"),
        )
    return Security(_frozen(roles), _frozen(sets), _frozen(rules))
