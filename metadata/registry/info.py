"""What the registry says of a tenant, and the control plane's migration head: plain
values with no database library, so a reader that skips SQLAlchemy can share them
(``metadata/registry/quick.py``)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

#: The newest revision in migrations/versions (a test holds it to Alembic's head). A
#: process finding the control plane there skips Alembic, which takes longer to import
#: than a CLI command takes to run.
HEAD = "0003"


def iso(moment: dt.datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


@dataclass(frozen=True)
class TenantInfo:
    id: uuid.UUID
    name: str
    display_name: str
    timezone: str
    created_at: dt.datetime
    active_version: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "timezone": self.timezone,
            "created_at": iso(self.created_at),
            "active_version": self.active_version,
        }
