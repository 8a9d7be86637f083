"""A tenant fixture with helpers to apply metadata and read tables back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import inspect, select, text

from metadata.validation import ValidMetadata, validate_data
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table
from runtime.tenants import ApplyResult, TenantService


def meta(objects: dict[str, Any]) -> ValidMetadata:
    """Return validated metadata for ``objects``."""
    return validate_data({"objects": objects})


class TenantBox:
    """One tenant under test, with its service and a few readable shortcuts."""

    def __init__(self, service: TenantService, name: str) -> None:
        self.service = service
        self.name = name
        self.backend = service.backend
        self.schema = service.backend.schema(name)

    def apply(self, objects: dict[str, Any], **options: Any) -> ApplyResult:
        return self.service.apply(self.name, meta(objects), **options)

    def plan(self, objects: dict[str, Any], **options: Any):
        return self.service.plan(self.name, meta(objects), **options)

    @property
    def model(self):
        return self.service.active(self.name)[1].model

    @property
    def version(self) -> int | None:
        return self.service.get_tenant(self.name).active_version

    def insert(self, obj: str, *records: dict[str, Any]) -> list:
        with self.backend.begin_tenant(self.name) as conn:
            return insert_records(conn, self.model, obj, records, schema=self.schema)

    def rows(self, obj: str, *columns: str) -> list[dict[str, Any]]:
        """Return live rows of ``obj`` (all columns, or ``columns``) in insertion order."""
        table = build_table(self.model, obj, schema=self.schema, dialect=self.backend.dialect)
        cols = [table.c[c] for c in columns] if columns else [table]
        with self.backend.begin_tenant(self.name) as conn:
            result = conn.execute(select(*cols).order_by(table.c.created_at, table.c.id))
            return [dict(r) for r in result.mappings()]

    def raw(self, sql: str) -> list[tuple]:
        """Run SQL with ``{s}`` standing for the tenant's schema prefix."""
        prefix = f'"{self.schema}".' if self.schema else ""
        with self.backend.begin_tenant(self.name) as conn:
            result = conn.execute(text(sql.format(s=prefix)))
            return [tuple(r) for r in result.all()] if result.returns_rows else []

    def columns(self, table: str) -> list[str]:
        with self.backend.begin_tenant(self.name) as conn:
            return [c["name"] for c in inspect(conn).get_columns(table, schema=self.schema)]

    def tables(self) -> set[str]:
        with self.backend.begin_tenant(self.name) as conn:
            return set(inspect(conn).get_table_names(schema=self.schema))

    def indexes(self, table: str) -> dict[str, dict[str, Any]]:
        with self.backend.begin_tenant(self.name) as conn:
            return {i["name"]: i for i in inspect(conn).get_indexes(table, schema=self.schema)}


@pytest.fixture
def tenant(service) -> TenantBox:
    """Return a fresh tenant named ``acme`` on the current backend."""
    service.create_tenant("acme", "Acme Ltd", timezone="Asia/Shanghai")
    return TenantBox(service, "acme")
