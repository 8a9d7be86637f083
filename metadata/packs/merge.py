"""Layering: a pack's components in a tenant's metadata, and the three-way merge of upgrades.

A tenant's metadata is one document: its packs' components plus the tenant's own changes.
To tell them apart, documents are cut into *units*, each addressed by a JSON pointer:

- ``/objects/lead``: an object's own attributes (labels, indexes, rules; not its fields);
- ``/objects/lead/fields/status``: one field;
- ``/roles/sales_rep``, ``/workflows/lead_round_robin``, ``/layouts/lead_detail`` ...: one
  named item of the other sections.

A pack's *contribution* is the units it ships, in canonical form. The tenant's
customizations are whatever differs between a contribution and the tenant's current units.
An upgrade merges three sets of units: the old contribution (base), the new one (pack) and
the tenant's current metadata (tenant). Per unit and then per attribute:

- the pack did not change it: keep the tenant's value (customized or not);
- the tenant did not change it: take the pack's (added, changed or removed);
- both changed it the same way: fine; differently: a conflict, reported with all three.

Picklist values are merged one value at a time, so a tenant's extra value and a pack's new
value both survive. Renames declared by the new pack are replayed on base and tenant first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metadata.errors import pointer, pointer_parts

Units = dict[str, Any]
_MISSING = object()


def units_of(document: Mapping[str, Any]) -> Units:
    """Cut a canonical document into units (see the module docstring)."""
    out: Units = {}
    for name, obj in (document.get("objects") or {}).items():
        out[pointer("objects", name)] = {k: v for k, v in obj.items() if k != "fields"}
        for field_name, f in (obj.get("fields") or {}).items():
            out[pointer("objects", name, "fields", field_name)] = f
    for section, items in document.items():
        if section != "objects" and isinstance(items, dict):
            for name, item in items.items():
                out[pointer(section, name)] = item
    return out


def document_of(units: Units) -> dict[str, Any]:
    """Put units back together into a document; fields keep the units' order."""
    doc: dict[str, Any] = {"objects": {}}
    objects = doc["objects"]
    keys = list(units)
    for ptr in keys:
        parts = pointer_parts(ptr)
        if parts[0] == "objects" and len(parts) == 2:
            objects.setdefault(parts[1], {}).update(units[ptr])
            objects[parts[1]].setdefault("fields", {})
    for ptr in keys:
        parts = pointer_parts(ptr)
        if parts[0] == "objects" and len(parts) == 4 and parts[1] in objects:
            objects[parts[1]]["fields"][parts[3]] = units[ptr]
        elif parts[0] != "objects":
            doc.setdefault(parts[0], {})[parts[1]] = units[ptr]
    return doc


def object_of(ptr: str) -> str | None:
    """Return the object a unit belongs to (None for other sections)."""
    parts = pointer_parts(ptr)
    return parts[1] if parts[0] == "objects" else None


@dataclass(frozen=True)
class Conflict:
    """Pack and tenant both changed one place, differently."""

    pointer: str
    base: Any
    pack: Any
    tenant: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        shown = {
            k: None if v is _MISSING else v
            for k, v in (("base", self.base), ("pack", self.pack), ("tenant", self.tenant))
        }
        return {"pointer": self.pointer, "message": self.message, **shown}

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message}"


@dataclass
class MergeResult:
    """The merged units, the conflicts and which units the tenant had customized."""

    units: Units
    conflicts: list[Conflict] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Pointers where the tenant's customization was kept over the pack's base."""
    renames: dict[str, str] = field(default_factory=dict)
    """New pointer → old name, for the renames the new pack declares."""


def _get(units: Mapping[str, Any], key: str) -> Any:
    return units.get(key, _MISSING)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "absent"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def rename_units(units: Units, renames: Mapping[str, str]) -> Units:
    """Return ``units`` with each ``old pointer → new pointer`` of ``renames`` applied."""
    out: Units = {}
    for key, value in units.items():
        new_key = renames.get(key, key)
        parts = pointer_parts(key)
        if parts[0] == "objects" and len(parts) == 4:
            owner = renames.get(pointer("objects", parts[1]))
            if owner is not None:  # a field of a renamed object, perhaps renamed itself
                moved = pointer("objects", pointer_parts(owner)[1], "fields", parts[3])
                new_key = renames.get(moved, moved)
        out[new_key] = value
    return out


def merge(
    base: Units,
    pack: Units,
    tenant: Units,
    *,
    renames: Mapping[str, str] | None = None,
    prefer: str | None = None,
) -> MergeResult:
    """Three-way merge of a pack's old units, its new units and the tenant's current units.

    ``renames`` maps old pointers to new ones (from the new pack's ``renamed_from``).
    ``prefer`` resolves conflicts explicitly: ``tenant`` keeps the tenant's value, ``pack``
    takes the pack's; None leaves them in ``conflicts`` (the tenant's value stays).
    """
    renames = dict(renames or {})
    base = rename_units(base, renames)
    tenant = rename_units(tenant, renames)
    result = MergeResult(units=dict(tenant))
    result.renames = {new: pointer_parts(old)[-1] for old, new in renames.items()}
    # The pack's order, so the fields it adds appear as it declares them.
    for key in [*pack, *(k for k in base if k not in pack)]:
        b, p, t = _get(base, key), _get(pack, key), _get(tenant, key)
        merged = _merge_value(key, b, p, t, result)
        if merged is _MISSING:
            result.units.pop(key, None)
        else:
            result.units[key] = merged
    # An object the pack removed takes its fields along; fields the tenant added to it
    # would be lost with it, which is a conflict worth a person's decision.
    for key in list(result.units):
        parts = pointer_parts(key)
        if len(parts) == 4 and pointer("objects", parts[1]) not in result.units:
            if key not in base:
                result.conflicts.append(
                    Conflict(
                        key,
                        _MISSING,
                        _MISSING,
                        tenant.get(key),
                        f"the pack removes object {parts[1]!r}, and the tenant added this "
                        "field to it",
                    )
                )
            result.units.pop(key)
    if prefer is not None:
        for conflict in result.conflicts:
            chosen = conflict.pack if prefer == "pack" else conflict.tenant
            _put(result.units, conflict.pointer, chosen)
        result.conflicts = []
    return result


def _put(units: Units, ptr: str, value: Any) -> None:
    """Set the value at ``ptr`` (a unit or an attribute inside one); _MISSING removes it."""
    for key in sorted(units, key=len, reverse=True):
        if ptr == key or ptr.startswith(key + "/"):
            rest = pointer_parts(ptr[len(key) :])
            if not rest:
                if value is _MISSING:
                    units.pop(key)
                else:
                    units[key] = value
                return
            target = units[key] = _copy(units[key])
            for part in rest[:-1]:
                target = target[part]
            if value is _MISSING:
                target.pop(rest[-1], None)
            else:
                target[rest[-1]] = value
            return
    if value is not _MISSING:
        units[ptr] = value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _merge_value(path: str, b: Any, p: Any, t: Any, result: MergeResult) -> Any:
    if _same(b, p):
        if t is not _MISSING and b is not _MISSING and not _same(t, b):
            result.kept.append(path)
        return t
    if _same(t, b) or _same(t, p):
        return p
    if isinstance(b, dict) and isinstance(p, dict) and isinstance(t, dict):
        out = {}
        for key in [
            *t,
            *(k for k in p if k not in t),
            *(k for k in b if k not in t and k not in p),
        ]:
            child = _merge_child(
                f"{path}/{key}",
                key,
                b.get(key, _MISSING),
                p.get(key, _MISSING),
                t.get(key, _MISSING),
                result,
            )
            if child is not _MISSING:
                out[key] = child
        return out
    result.conflicts.append(Conflict(path, b, p, t, _conflict_message(b, p, t)))
    return t


def _merge_child(path: str, key: str, b: Any, p: Any, t: Any, result: MergeResult) -> Any:
    if key == "values" and all(isinstance(v, list) or v is _MISSING for v in (b, p, t)):
        return _merge_keyed(path, b, p, t, result)
    return _merge_value(path, b, p, t, result)


def _merge_keyed(path: str, b: Any, p: Any, t: Any, result: MergeResult) -> Any:
    """Merge picklist values one value code at a time; the tenant's order comes first."""

    def keyed(values: Any) -> dict[str, Any]:
        if values is _MISSING:
            return {}
        return {v["value"]: v for v in values if isinstance(v, dict) and "value" in v}

    kb, kp, kt = keyed(b), keyed(p), keyed(t)
    out = []
    for code in [*kt, *(c for c in kp if c not in kt)]:
        merged = _merge_value(
            f"{path}/{code}",
            kb.get(code, _MISSING),
            kp.get(code, _MISSING),
            kt.get(code, _MISSING),
            result,
        )
        if merged is not _MISSING:
            out.append(merged)
    return out


def _same(a: Any, b: Any) -> bool:
    return a is b or (a is not _MISSING and b is not _MISSING and a == b)


def _differences(p: dict[str, Any], t: dict[str, Any], prefix: str = "") -> list[str]:
    """Return ``key: pack value, tenant value`` for each leaf where two mappings differ."""
    out = []
    for key in [*p, *(k for k in t if k not in p)]:
        a, b = p.get(key, _MISSING), t.get(key, _MISSING)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif not _same(a, b):
            out.append(f"{prefix}{key} is {_show(a)} in the pack, {_show(b)} in the tenant")
    return out


def _conflict_message(b: Any, p: Any, t: Any) -> str:
    if b is _MISSING and isinstance(p, dict) and isinstance(t, dict):
        differs = _differences(p, t)
        shown = "; ".join(differs[:4]) + ("; ..." if len(differs) > 4 else "")
        return f"the pack adds this, and the tenant already has it with differences: {shown}"
    if b is _MISSING:
        return f"the pack adds {_show(p)}, and the tenant already has {_show(t)} here"
    if p is _MISSING:
        return f"the pack removes it, and the tenant changed it from {_show(b)} to {_show(t)}"
    if t is _MISSING:
        return f"the tenant removed it, and the pack changes it from {_show(b)} to {_show(p)}"
    return (
        f"the pack changes it from {_show(b)} to {_show(p)}, and the tenant changed it to "
        f"{_show(t)}"
    )


def remove(contribution: Units, owned_objects: set[str], tenant: Units) -> tuple[Units, Units]:
    """Return (tenant units without a pack's components, the removed units as they were).

    Everything the pack contributed goes, customized or not, and so does every field of the
    objects it owns, tenant-added ones included: uninstalling removes the pack. The removed
    units are kept with the pack's record so a reinstall can bring the customizations back.
    """
    kept: Units = {}
    removed: Units = {}
    for key, value in tenant.items():
        if key in contribution or object_of(key) in owned_objects:
            removed[key] = value
        else:
            kept[key] = value
    return kept, removed
