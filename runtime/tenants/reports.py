"""What planning and applying metadata report, and the hook an apply runs inside."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from metadata.errors import Issue
from metadata.model import Model

if TYPE_CHECKING:  # field types only: a CLI listing tenants need not load the migrator
    from metadata.diff import Plan
    from metadata.registry.store import VersionInfo
    from metadata.snapshot import Snapshot
    from metadata.validation import ValidMetadata
    from runtime.storage.migrator import Progress, RenderedStep


class StorageDrift(RuntimeError):
    """A tenant's tables no longer match its active metadata version."""

    status, code = 409, "storage_drift"


@dataclass(frozen=True)
class PlanReport:
    """A dry run: the plan, the SQL of each step and what blocks it, if anything."""

    tenant: str
    base_version: int | None
    next_version: int
    plan: Plan
    steps: list[RenderedStep]
    blockers: list[Issue]
    """Refusals, destructive steps not yet allowed, and data conflicts (counted live)."""
    warnings: list[Issue]

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "base_version": self.base_version,
            "next_version": self.next_version,
            "changed": self.plan.changed,
            "from_hash": self.plan.old.content_hash,
            "to_hash": self.plan.new.content_hash,
            "operations": [{**step.operation.to_dict(), "sql": step.sql} for step in self.steps],
            "blockers": [i.to_dict() for i in self.blockers],
            "warnings": [i.to_dict() for i in self.warnings],
        }


@dataclass(frozen=True)
class ApplyResult:
    """What an apply did: the version it made (or None if nothing changed)."""

    tenant: str
    version: VersionInfo | None
    plan: Plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "changed": self.version is not None,
            "version": self.version.to_dict() if self.version else None,
            "operations": [op.to_dict() for op in self.plan.operations],
        }


@dataclass(frozen=True)
class ApplyRequest:
    """One call to ``apply``, carried through its steps."""

    name: str
    metadata: ValidMetadata
    new: Snapshot
    allow_destructive: bool
    author: str
    message: str
    expected_version: int | None
    progress: Progress | None
    after_migrate: AfterMigrate | None = None
    pack_change: bool = False
    planned: Plan | None = None


#: Called inside an apply's storage transaction, after the DDL, with the connection, the
#: tenant's schema, the new version number and the new model: work that must commit or
#: roll back with the metadata change (a pack's record, its restored data, sample data).
AfterMigrate = Callable[[Connection, str | None, int, Model], None]


def operations_json(plan: Plan) -> str:
    return json.dumps([op.to_dict() for op in plan.operations], ensure_ascii=False)
