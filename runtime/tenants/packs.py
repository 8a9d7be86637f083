"""A tenant's record of its installed packs (``_tessera_packs``), and what they own.

Pack components are owned by their pack: a tenant's own metadata change may customize
them (labels, layouts, picklist values, extra fields) but not remove or rename them.
Removing a pack's object, field, role, workflow or layout by editing the metadata would
leave the pack's record describing components that are gone, and its next upgrade would
bring them back or conflict. The way to remove them is ``tessera app uninstall``; the way
to switch off a pack's workflow is ``active: false``.

It lives with the tenant because every apply checks it; the pack service above writes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from metadata.diff import Plan
from metadata.diff import operations as ops
from metadata.errors import Issue, pointer
from metadata.packs.merge import Units
from metadata.packs.versions import Version
from runtime.sql import naming
from runtime.storage.tables import system_table


@dataclass(frozen=True)
class PackRecord:
    """One row of ``_tessera_packs``."""

    name: str
    version: Version
    status: str
    """``installed``, or ``uninstalled`` (data and customizations kept for a reinstall)."""
    manifest: dict[str, Any]
    contribution: Units
    retained: Units
    archives: list[str]
    sample_keys: dict[str, str]
    installed_at: dt.datetime
    updated_at: dt.datetime
    metadata_version: int

    @property
    def dependencies(self) -> dict[str, str]:
        return dict(self.manifest.get("dependencies") or {})

    @property
    def objects(self) -> set[str]:
        """The objects the pack owns (not those it only extends)."""
        return set(self.manifest.get("objects") or ())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": str(self.version),
            "status": self.status,
            "label": self.manifest.get("label"),
            "publisher": self.manifest.get("publisher"),
            "dependencies": self.dependencies,
            "objects": sorted(self.objects),
            "components": len(self.contribution),
            "archives": self.archives,
            "installed_at": self.installed_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "metadata_version": self.metadata_version,
        }


def _loads(text: str | None, empty: Any) -> Any:
    return json.loads(text) if text else empty


def read_packs(conn: Connection, schema: str | None) -> dict[str, PackRecord]:
    """Return the tenant's pack records by name (installed and uninstalled)."""
    packs = system_table(schema, naming.PACKS_TABLE)
    rows = conn.execute(select(packs).order_by(packs.c.installed_at, packs.c.name)).mappings()
    return {
        row["name"]: PackRecord(
            name=row["name"],
            version=Version.parse(row["version"]),
            status=row["status"],
            manifest=json.loads(row["manifest"]),
            contribution=json.loads(row["contribution"]),
            retained=_loads(row["retained"], {}),
            archives=_loads(row["archives"], []),
            sample_keys=_loads(row["sample_keys"], {}),
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
            metadata_version=row["metadata_version"],
        )
        for row in rows
    }


def installed_packs(conn: Connection, schema: str | None) -> dict[str, PackRecord]:
    """Return the installed packs' records; none for a tenant made before packs existed."""
    packs = system_table(schema, naming.PACKS_TABLE)
    if not conn.dialect.has_table(conn, packs.name, schema=schema):
        return {}
    return {n: r for n, r in read_packs(conn, schema).items() if r.status == "installed"}


def write_pack(
    conn: Connection,
    schema: str | None,
    *,
    name: str,
    version: Version,
    status: str,
    manifest: Mapping[str, Any],
    contribution: Units,
    metadata_version: int,
    retained: Units | None = None,
    archives: list[str] | None = None,
    sample_keys: Mapping[str, str] | None = None,
) -> None:
    """Insert or replace the record of pack ``name``."""
    packs = system_table(schema, naming.PACKS_TABLE)
    now = dt.datetime.now(dt.UTC)
    old = conn.execute(
        select(packs.c.installed_at, packs.c.sample_keys).where(packs.c.name == name)
    )
    previous = old.first()
    keys = {**_loads(previous.sample_keys if previous else None, {}), **(sample_keys or {})}
    values = {
        "version": str(version),
        "status": status,
        "manifest": json.dumps(manifest, ensure_ascii=False),
        "contribution": json.dumps(contribution, ensure_ascii=False),
        "retained": json.dumps(retained, ensure_ascii=False) if retained else None,
        "archives": json.dumps(archives) if archives else None,
        "sample_keys": json.dumps(keys) if keys else None,
        "updated_at": now,
        "metadata_version": metadata_version,
    }
    if previous is None:
        conn.execute(insert(packs).values(name=name, installed_at=now, **values))
    else:
        conn.execute(update(packs).where(packs.c.name == name).values(**values))


def forget_pack(conn: Connection, schema: str | None, name: str) -> None:
    packs = system_table(schema, naming.PACKS_TABLE)
    conn.execute(delete(packs).where(packs.c.name == name))


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
        elif isinstance(op, ops.ChangeNamed) and op.new is None:
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
