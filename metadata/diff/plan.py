"""A plan: the operations between two snapshots, and what stands in their way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metadata.diff.compare import compute_operations
from metadata.diff.operations import Operation
from metadata.errors import Issue, MetadataError
from metadata.snapshot import Snapshot
from metadata.source import Document


class PlanRefused(MetadataError):
    """The plan cannot be applied as asked; ``issues`` says why, one per blocking change."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues, title="Change refused")


@dataclass(frozen=True)
class Plan:
    """What applying ``new`` over ``old`` would do, step by step."""

    old: Snapshot
    new: Snapshot
    operations: tuple[Operation, ...]
    refusals: tuple[Issue, ...]
    """Changes that can never be applied (e.g. text → integer), with the reason."""

    @property
    def changed(self) -> bool:
        """Return whether the new snapshot differs from the old one at all."""
        return self.old.content_hash != self.new.content_hash

    @property
    def destructive(self) -> tuple[Operation, ...]:
        """Return the operations that need ``allow_destructive``."""
        return tuple(op for op in self.operations if op.destructive)

    def blocking_issues(self, *, allow_destructive: bool) -> list[Issue]:
        """Return what prevents applying: refusals, and destructive steps if not allowed."""
        issues = list(self.refusals)
        if not allow_destructive:
            issues += [
                Issue(
                    pointer=op.target_pointer,
                    message=f"{op.describe()}. This is destructive: allow destructive "
                    "changes to go ahead (the data is archived, not deleted, until purged)",
                    code="destructive_change",
                )
                for op in self.destructive
            ]
        return issues

    def check(self, *, allow_destructive: bool) -> None:
        """Raise PlanRefused if anything blocks applying the plan."""
        issues = self.blocking_issues(allow_destructive=allow_destructive)
        if issues:
            raise PlanRefused(issues)

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready data."""
        return {
            "from_hash": self.old.content_hash,
            "to_hash": self.new.content_hash,
            "changed": self.changed,
            "operations": [op.to_dict() for op in self.operations],
            "refusals": [i.to_dict() for i in self.refusals],
            "destructive": len(self.destructive),
        }


def diff(old: Snapshot, new: Snapshot, *, document: Document | None = None) -> Plan:
    """Return the plan from ``old`` to ``new``.

    ``new.model`` may carry ``renamed_from`` hints; pass the source ``document`` to give
    refusals file and line numbers.
    """
    operations, refusals = compute_operations(old.model, new.model)
    if document is not None:
        refusals = [document.issue(i.pointer, i.message, i.code) for i in refusals]
    return Plan(old=old, new=new, operations=tuple(operations), refusals=tuple(refusals))
