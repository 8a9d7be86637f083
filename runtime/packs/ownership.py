"""Pack components are owned by their pack: a tenant's own metadata change may customize
them (labels, layouts, picklist values, extra fields) but not remove or rename them.

Removing a pack's object, field, role, workflow or layout by editing the metadata would
leave the pack's record describing components that are gone, and its next upgrade would
bring them back or conflict. The way to remove them is ``tessera app uninstall``; the way
to switch off a pack's workflow is ``active: false``.
"""

from __future__ import annotations

from collections.abc import Mapping

from metadata.diff import Plan
from metadata.diff import operations as ops
from metadata.errors import Issue, pointer
from runtime.packs.records import PackRecord


def owner_of(records: Mapping[str, PackRecord], ptr: str) -> str | None:
    """Return the installed pack that contributed the unit at ``ptr``, if any."""
    for record in records.values():
        if record.status == "installed" and ptr in record.contribution:
            return record.name
    return None


def ownership_issues(plan: Plan, records: Mapping[str, PackRecord]) -> list[Issue]:
    """Return a blocking issue for each operation of ``plan`` that removes or renames a
    component an installed pack owns."""
    issues = []
    for op in plan.operations:
        if isinstance(op, ops.DropObject):
            ptr, what, verb = pointer("objects", op.obj.name), f"object {op.obj.name}", "drop"
        elif isinstance(op, ops.RenameObject):
            ptr, what, verb = pointer("objects", op.old_name), f"object {op.old_name}", "rename"
        elif isinstance(op, ops.DropField):
            ptr = pointer("objects", op.object, "fields", op.field.name)
            what, verb = f"field {op.object}.{op.field.name}", "drop"
        elif isinstance(op, ops.RenameField):
            ptr = pointer("objects", op.object, "fields", op.old_name)
            what, verb = f"field {op.object}.{op.old_name}", "rename"
        elif isinstance(op, ops._ChangeNamed) and op.new is None:
            ptr, what, verb = pointer(op.section, op.name), f"{op.section} {op.name}", "remove"
        else:
            continue
        pack = owner_of(records, ptr)
        if pack is not None:
            hint = (
                "set active: false to switch it off"
                if isinstance(op, ops.ChangeAutomation)
                else f"uninstall the pack to remove it (tessera app uninstall {pack})"
            )
            issues.append(
                Issue(
                    pointer=ptr,
                    message=f"cannot {verb} {what}: it belongs to pack {pack}; {hint}",
                    code="pack_owned",
                )
            )
    return issues
