"""Typed operations: one metadata change each, as plain data.

An operation knows how to describe itself, how it changes a model (``state_forwards``,
as in Django's migrations) and what undoes it (``reverse``). It never builds SQL: the
runtime's storage layer implements each operation type (``runtime/storage/executor.py``),
the way Alembic keeps its ops apart from their implementations.
"""

from __future__ import annotations

from metadata.diff.operations.base import (
    Operation,
)
from metadata.diff.operations.fields import (
    STORAGE_CHANGES,
    AddField,
    AddUniqueConstraint,
    AlterField,
    ChangePicklistValues,
    DropField,
    DropUniqueConstraint,
    RenameField,
)
from metadata.diff.operations.indexes import (
    AddIndex,
    DropIndex,
)
from metadata.diff.operations.objects import (
    AlterObject,
    CreateObject,
    DropObject,
    RenameObject,
)
from metadata.diff.operations.sections import (
    ChangeAutomation,
    ChangeNamed,
    ChangePermission,
    ChangeView,
)

ALL_OPERATIONS: tuple[type[Operation], ...] = (
    CreateObject,
    DropObject,
    RenameObject,
    AlterObject,
    AddField,
    DropField,
    RenameField,
    AlterField,
    ChangePicklistValues,
    AddUniqueConstraint,
    DropUniqueConstraint,
    AddIndex,
    DropIndex,
    ChangePermission,
    ChangeAutomation,
    ChangeView,
)

__all__ = [
    "ALL_OPERATIONS",
    "STORAGE_CHANGES",
    "AddField",
    "AddIndex",
    "AddUniqueConstraint",
    "AlterField",
    "AlterObject",
    "ChangeAutomation",
    "ChangeNamed",
    "ChangePermission",
    "ChangePicklistValues",
    "ChangeView",
    "CreateObject",
    "DropField",
    "DropIndex",
    "DropObject",
    "DropUniqueConstraint",
    "Operation",
    "RenameField",
    "RenameObject",
]
