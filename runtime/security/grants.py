"""Effective permissions: the union of a member's permission sets, per object and field.

Pure functions of the tenant's permission metadata and the member's role and sets. The
result decides which schema the member sees (unreadable objects and fields are absent,
inputs hold only editable fields, mutations only allowed actions), so it is also the key
schemas are cached under: members with equal grants share one built schema.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType

from metadata.model import Model
from metadata.security import ACCESS_DEPTHS, FIELD_LEVELS, OBJECT_ACTIONS, Security

_ALL = frozenset(OBJECT_ACTIONS)


@dataclass(frozen=True)
class ObjectAccess:
    """What a member may do with one object."""

    allow: frozenset[str]
    depth: str
    hidden: frozenset[str] = frozenset()
    """Fields the member cannot read (absent from their schema)."""
    read_only: frozenset[str] = frozenset()
    """Fields the member can read but not edit."""

    def can(self, action: str) -> bool:
        return action in self.allow

    def readable(self, field: str) -> bool:
        return field not in self.hidden

    def editable(self, field: str) -> bool:
        return field not in self.hidden and field not in self.read_only


FULL_ACCESS = ObjectAccess(allow=_ALL, depth="tenant")


@dataclass(frozen=True)
class Grants:
    """A member's effective permissions; ``full`` for tenant admins (see everything)."""

    objects: Mapping[str, ObjectAccess]
    full: bool = False

    def on(self, obj: str) -> ObjectAccess | None:
        """Return the access to ``obj``, or None if the member cannot read it."""
        if self.full:
            return FULL_ACCESS
        return self.objects.get(obj)

    @cached_property
    def key(self) -> str:
        """Return a short hash naming what the schema depends on (not the depth)."""
        if self.full:
            return "full"
        shape = {
            name: [sorted(a.allow), sorted(a.hidden), sorted(a.read_only)]
            for name, a in sorted(self.objects.items())
        }
        return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:16]


FULL = Grants(objects=MappingProxyType({}), full=True)


def sets_of(security: Security, role: str | None, extra: tuple[str, ...] = ()) -> list[str]:
    """Return the permission sets a member holds: their role's and their own."""
    held = [s.name for s in security.permission_sets.values() if role and role in s.roles]
    held += [s for s in extra if s in security.permission_sets and s not in held]
    return held


def effective(model: Model, held: list[str]) -> Grants:
    """Return the union of permission sets ``held`` over ``model``'s objects."""
    security = model.security
    out: dict[str, ObjectAccess] = {}
    for obj_name, obj in model.objects.items():
        allow: set[str] = set()
        depth = -1
        levels = dict.fromkeys(obj.fields, -1)
        for set_name in held:
            grant = security.permission_sets[set_name].objects.get(obj_name)
            if grant is None or "read" not in grant.allow:
                continue
            allow |= grant.allow
            depth = max(depth, ACCESS_DEPTHS.index(grant.access))
            for field in obj.fields:
                level = FIELD_LEVELS.index(grant.fields.get(field, "edit"))
                levels[field] = max(levels[field], level)
        if "read" not in allow:
            continue
        out[obj_name] = ObjectAccess(
            allow=frozenset(allow),
            depth=ACCESS_DEPTHS[depth],
            hidden=frozenset(f for f, level in levels.items() if level <= 0),
            read_only=frozenset(f for f, level in levels.items() if level == 1),
        )
    return Grants(objects=MappingProxyType(out))


def visible_model(model: Model, grants: Grants) -> Model:
    """Return ``model`` as the member sees it: unreadable objects and fields removed.

    A lookup to an object the member cannot read keeps its id field but loses its
    relation (``build_shape`` drops relations to absent objects), and search and history
    lists keep only readable fields.
    """
    if grants.full:
        return model
    objects = {}
    for name, obj in model.objects.items():
        access = grants.on(name)
        if access is None:
            continue
        fields = {n: f for n, f in obj.fields.items() if access.readable(n)}
        junction = obj.junction if all(f in fields for f in obj.junction) else {}
        objects[name] = replace(
            obj,
            fields=MappingProxyType(fields),
            search=tuple(f for f in obj.search if f in fields),
            history=tuple(f for f in obj.history if f in fields),
            junction=MappingProxyType(dict(junction)),
            indexes=tuple(i for i in obj.indexes if all(f in fields for f in i.fields)),
        )
    return model.with_objects(objects)
