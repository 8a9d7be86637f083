"""Data that destructive metadata changes archived instead of dropping, and its purge."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from metadata.registry.store import Registry, RegistryError
from runtime.sql import naming
from runtime.storage.backends import Backend
from runtime.storage.tables import system_tables


class Archives:
    """The archives half of ``TenantService``."""

    backend: Backend

    def archives(self, name: str) -> list[dict[str, Any]]:
        """Return the data archived by destructive changes, newest first."""
        with self.backend.connect_control() as conn:
            Registry(conn).get_tenant(name)  # a clear error for an unknown tenant
        schema = self.backend.schema(name)
        table = system_tables(schema).tables[
            f"{schema}.{naming.ARCHIVES_TABLE}" if schema else naming.ARCHIVES_TABLE
        ]
        with self.backend.read_tenant(name) as conn:
            rows = (
                conn.execute(select(table).order_by(table.c.archived_at.desc(), table.c.name))
                .mappings()
                .all()
            )
        return [
            {
                **{k: v for k, v in r.items() if k != "definition"},
                "archived_at": r["archived_at"].isoformat(),
                "definition": json.loads(r["definition"]),
            }
            for r in rows
        ]

    def purge(self, name: str, archive_names: list[str]) -> list[str]:
        """Delete archived data for good; return the archives removed."""
        schema = self.backend.schema(name)
        table = system_tables(schema).tables[
            f"{schema}.{naming.ARCHIVES_TABLE}" if schema else naming.ARCHIVES_TABLE
        ]
        known = {a["name"] for a in self.archives(name)}
        unknown = [n for n in archive_names if n not in known]
        if unknown:
            raise RegistryError(
                f"no archive named {', '.join(map(repr, unknown))} in tenant {name!r}"
            )
        with self.backend.begin_tenant(name) as conn:
            preparer = conn.dialect.identifier_preparer
            for archive in archive_names:
                qualified = (
                    f"{preparer.quote(schema)}.{preparer.quote(archive)}"
                    if schema
                    else preparer.quote(archive)
                )
                conn.exec_driver_sql(f"DROP TABLE {qualified}")
                conn.execute(table.delete().where(table.c.name == archive))
        return archive_names
