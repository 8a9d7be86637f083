"""The tenant archive format: its name and version, its errors and its summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from metadata.registry.models import MetadataVersion

FORMAT = "tessera-tenant"
FORMAT_VERSION = 1
BATCH = 1000

#: Called as (tables done, tables in all, table name).
Progress = Callable[[int, int, str], None]

_versions = MetadataVersion.__table__


class ArchiveError(ValueError):
    """An archive that cannot be read or imported; the message says why."""


@dataclass
class Summary:
    """What an export or import moved."""

    tenant: str
    active_version: int | None
    versions: int
    tables: dict[str, int] = field(default_factory=dict)
    members: int = 0
    created_users: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "active_version": self.active_version,
            "versions": self.versions,
            "rows": self.rows,
            "tables": self.tables,
            "members": self.members,
            "created_users": self.created_users,
        }


def _tessera_version() -> str:
    try:
        return version("tessera")
    except PackageNotFoundError:
        return "0.0.0+source"
