"""Any valid change between generated models migrates real tables (both backends)."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from metadata.diff import PlanRefused
from metadata.validation import validate_data
from runtime.storage.migrator import DataConflict
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table
from tests.metadata.strategies import documents, evolutions

VALUES = {
    "text": "hello",
    "long_text": "long",
    "integer": 7,
    "decimal": "3.00",
    "currency": 12,
    "percent": 5,
    "boolean": True,
    "date": "2024-05-01",
    "datetime": "2024-05-01T08:00:00Z",
    "picklist": "a",
    "multi_picklist": ["b"],
    "email": None,
    "json": {"k": [1]},
    "uuid": "0b3c1f9e-6a51-4f5e-9a43-2c8b1d1f7a10",
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=documents(), data=st.data())
def test_applying_any_valid_change_leaves_tables_matching_the_model(service, before, data):
    after = data.draw(st.one_of(documents(), evolutions(before)), label="after")
    name = f"p{uuid.uuid4().hex[:12]}"
    service.create_tenant(name)
    try:
        first = validate_data(before)
        service.apply(name, first)
        schema = service.backend.schema(name)
        with service.backend.begin_tenant(name) as conn:
            for obj in first.model.objects.values():
                row = {f.name: VALUES[f.type] for f in obj.fields.values() if f.type in VALUES}
                insert_records(conn, first.model, obj.name, [row, {}], schema=schema)
        try:
            service.apply(name, validate_data(after), allow_destructive=True)
        except (PlanRefused, DataConflict):
            # Refused (text → integer), or rows in the way (duplicates for a new unique):
            # either way the tenant stays as it was.
            assert service.get_tenant(name).active_version == 1
            return
        _, snapshot = service.active(name)
        with service.backend.begin_tenant(name) as conn:
            inspector = inspect(conn)
            for obj in snapshot.model.objects:
                expected = build_table(
                    snapshot.model, obj, schema=schema, dialect=service.backend.dialect
                )
                actual = [c["name"] for c in inspector.get_columns(obj, schema=schema)]
                assert sorted(actual) == sorted(c.name for c in expected.columns)
                indexes = {i["name"] for i in inspector.get_indexes(obj, schema=schema)}
                assert {i.name for i in expected.indexes} <= indexes
    finally:
        service.delete_tenant(name)
