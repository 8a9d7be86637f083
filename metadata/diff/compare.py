"""Compare two models and emit the operations that turn one into the other.

Like Django's autodetector: declared renames come first and are replayed on the old
state, then the remaining differences are found by name and emitted in an order that is
always valid to run (drops before creates, objects before the fields that point at them,
indexes after the fields they cover).
"""

from __future__ import annotations

from dataclasses import replace

from metadata.automation import SECTIONS as AUTOMATION_SECTIONS
from metadata.diff.conversions import classify
from metadata.diff.operations import (
    AddField,
    AddIndex,
    AddUniqueConstraint,
    AlterField,
    AlterObject,
    ChangeAutomation,
    ChangePermission,
    ChangePicklistValues,
    ChangeView,
    CreateObject,
    DropField,
    DropIndex,
    DropObject,
    DropUniqueConstraint,
    Operation,
    RenameField,
    RenameObject,
)
from metadata.errors import Issue, pointer
from metadata.model import Field, Model, ObjectDef
from metadata.views import SECTIONS as VIEW_SECTIONS

_PICKLISTS = {"picklist", "multi_picklist"}
#: Field attributes and options compared for AlterField, in the order they are reported.
_FIELD_ASPECTS = ("type", "required", "default", "label", "description", "help_text")


class _Buckets:
    """Operations grouped by the phase they run in; ``ordered`` concatenates them."""

    PHASES = (
        "renames",
        "drop_indexes",
        "drop_uniques",
        "drop_fields",
        "drop_objects",
        "create_objects",
        "add_fields",
        "alter_fields",
        "picklists",
        "alter_objects",
        "add_uniques",
        "add_indexes",
        "permissions",
        "automation",
        "views",
    )

    def __init__(self) -> None:
        self.phases: dict[str, list[Operation]] = {p: [] for p in self.PHASES}
        self.refusals: list[Issue] = []

    def add(self, phase: str, op: Operation) -> None:
        self.phases[phase].append(op)

    def ordered(self) -> list[Operation]:
        return [op for phase in self.PHASES for op in self.phases[phase]]


def compute_operations(old: Model, new: Model) -> tuple[list[Operation], list[Issue]]:
    """Return the operations from ``old`` to ``new`` and the changes that are refused."""
    out = _Buckets()
    state = _detect_renames(old, new, out)
    for name, obj in state.objects.items():
        if name not in new.objects:
            out.add("drop_objects", DropObject(obj))
    created = [obj for name, obj in new.objects.items() if name not in state.objects]
    _create_objects(created, out)
    for name, after in new.objects.items():
        before = state.objects.get(name)
        if before is not None:
            _compare_object(before, after, out)
    _compare_permissions(old, new, out)
    for section in AUTOMATION_SECTIONS:
        before, after = getattr(old.automation, section), getattr(new.automation, section)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                out.add(
                    "automation", ChangeAutomation(section, name, before.get(name), after.get(name))
                )
    for section in VIEW_SECTIONS:
        before, after = getattr(old.views, section), getattr(new.views, section)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                out.add("views", ChangeView(section, name, before.get(name), after.get(name)))
    return _with_positions(old, out.ordered()), out.refusals


def _compare_permissions(old: Model, new: Model, out: _Buckets) -> None:
    """Emit one metadata-only operation per role, permission set or rule that differs."""
    for section in ("roles", "permission_sets", "sharing_rules"):
        before, after = getattr(old.security, section), getattr(new.security, section)
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                out.add(
                    "permissions",
                    ChangePermission(section, name, before.get(name), after.get(name)),
                )


def _with_positions(old: Model, operations: list[Operation]) -> list[Operation]:
    """Record each dropped field's position at the moment it is dropped.

    Only a replay knows it (earlier drops shift later ones), and ``DropField.reverse``
    needs it to put the field back in its place.
    """
    state, result = old, []
    for op in operations:
        if isinstance(op, DropField):
            position = list(state.objects[op.object].fields).index(op.field.name)
            op = replace(op, position=position)
        result.append(op)
        state = op.state_forwards(state)
    return result


def _detect_renames(old: Model, new: Model, out: _Buckets) -> Model:
    """Emit declared renames whose source still exists, and return the renamed state."""
    state = old
    for name, obj in new.objects.items():
        source = obj.renamed_from
        if source and source in state.objects and name not in state.objects:
            op = RenameObject(source, name)
            out.add("renames", op)
            state = op.state_forwards(state)
    for name, obj in new.objects.items():
        for field in obj.fields.values():
            current = state.objects.get(name)
            source = field.renamed_from
            if current and source and source in current.fields and field.name not in current.fields:
                op = RenameField(name, source, field.name)
                out.add("renames", op)
                state = op.state_forwards(state)
    return state


def _create_objects(created: list[ObjectDef], out: _Buckets) -> None:
    """Create new objects so each exists before anything that refers to it.

    Lookups between new objects may form a cycle (account.primary_contact ↔
    contact.account). Such a lookup is left out of its object's CreateObject and added
    afterwards, once both tables exist.
    """
    pending = {obj.name: obj for obj in created}
    placed: set[str] = set()
    deferred: list[tuple[str, Field, int]] = []
    while pending:
        ready = [
            obj
            for obj in pending.values()
            if all(t in placed or t not in pending or t == obj.name for t in _targets(obj))
        ]
        if not ready:
            # A cycle: create the first object now and add its cyclic lookups later.
            obj = next(iter(pending.values()))
            cyclic = {
                f.name for f in obj.fields.values() if f.target in pending and f.target != obj.name
            }
            # Each goes back to its declared place: field order is part of the metadata.
            # Declared order also means each place's earlier fields already exist.
            deferred += [
                (obj.name, field, position)
                for position, field in enumerate(obj.fields.values())
                if field.name in cyclic
            ]
            kept = obj.with_fields({n: f for n, f in obj.fields.items() if n not in cyclic})
            late = [i for i in obj.indexes if set(i.fields) & cyclic]
            kept = replace(kept, indexes=tuple(i for i in obj.indexes if i not in late))
            out.add("create_objects", CreateObject(kept))
            out.phases["add_indexes"] += [AddIndex(obj.name, i) for i in late]
            placed.add(obj.name)
            del pending[obj.name]
            continue
        for obj in ready:
            out.add("create_objects", CreateObject(obj))
            placed.add(obj.name)
            del pending[obj.name]
    for object_name, field, position in deferred:
        out.add("add_fields", AddField(object_name, field, position))


def _targets(obj: ObjectDef) -> set[str]:
    return {f.target for f in obj.fields.values() if f.target}


def _compare_object(before: ObjectDef, after: ObjectDef, out: _Buckets) -> None:
    for index in before.indexes:
        if index not in after.indexes:
            out.add("drop_indexes", DropIndex(after.name, index))
    for name, field in before.fields.items():
        if name not in after.fields:
            out.add("drop_fields", DropField(after.name, field))
    for name, field in after.fields.items():
        if name not in before.fields:
            out.add("add_fields", AddField(after.name, field))
        else:
            _compare_field(after.name, before.fields[name], field, out)
    changes = [
        aspect
        for aspect in (
            "label",
            "plural",
            "description",
            "plural_name",
            "search",
            "junction",
            "history",
            "validation_rules",
            "transitions",
        )
        if getattr(before, aspect) != getattr(after, aspect)
    ]
    # Adds append at the end; if that is not the declared order, say so (metadata only).
    produced = [n for n in before.fields if n in after.fields]
    produced += [n for n in after.fields if n not in before.fields]
    if produced != list(after.fields):
        changes.append("field order")
    if changes:
        out.add("alter_objects", AlterObject(before, after, tuple(changes)))
    for index in after.indexes:
        if index not in before.indexes:
            out.add("add_indexes", AddIndex(after.name, index))


def _compare_field(object_name: str, old: Field, new: Field, out: _Buckets) -> None:
    if old.unique and not new.unique:
        out.add("drop_uniques", DropUniqueConstraint(object_name, old.name))
    values_separately = old.type in _PICKLISTS and new.type in _PICKLISTS
    # The AlterField target keeps the old uniqueness (and values): those have their own ops.
    middle = replace(
        new,
        unique=old.unique and new.unique,
        values=old.values if values_separately else new.values,
    )
    changes = [a for a in _FIELD_ASPECTS if getattr(old, a) != getattr(middle, a)]
    changes += [
        name
        for name in dict.fromkeys([*old.options, *middle.options])
        if old.option(name) != middle.option(name) and name != "to"
    ]
    if old.target != new.target and "type" not in changes:
        changes.insert(0, "to")
    if not values_separately and old.values != new.values and "values" not in changes:
        changes.append("values")
    if changes:
        conversion = classify(old, middle)
        if conversion.kind == "refused":
            out.refusals.append(
                Issue(
                    pointer=pointer(
                        "objects",
                        object_name,
                        "fields",
                        new.name,
                        "type" if old.type != new.type else "to",
                    ),
                    message=f"cannot change {object_name}.{new.name} from {old.type} to "
                    f"{new.type}: {conversion.reason}",
                    code="refused_change",
                )
            )
        else:
            out.add(
                "alter_fields", AlterField(object_name, old, middle, tuple(changes), conversion)
            )
    if values_separately and old.values != new.values:
        out.add("picklists", ChangePicklistValues(object_name, new.name, old.values, new.values))
    if new.unique and not old.unique:
        out.add("add_uniques", AddUniqueConstraint(object_name, new.name))
