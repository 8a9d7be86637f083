"""Applying metadata changes tables, keeps data and records versions (both backends)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from metadata.diff import PlanRefused
from metadata.registry.store import VersionConflict
from metadata.validation import validate_data
from runtime.storage.executor import missing_implementations
from runtime.storage.migrator import DataConflict

ACCOUNT = {"fields": {"name": {"type": "text", "required": True, "label": "Name"}}}
SYSTEM = [
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
    "owner",
    "deleted_at",
    "row_version",
]


def with_fields(base: dict, **fields) -> dict:
    return {**base, "fields": {**base["fields"], **fields}}


def test_every_operation_has_a_storage_implementation():
    assert missing_implementations() == set()


def test_first_apply_creates_tables_and_version_1(tenant, demo_model):
    result = tenant.service.apply(tenant.name, _valid(demo_model), author="ana", message="demo CRM")
    assert result.version.number == 1 and result.version.author == "ana"
    assert {"account", "contact", "opportunity"} <= tenant.tables()
    assert tenant.columns("account")[: len(SYSTEM)] == SYSTEM
    assert "annual_revenue__currency" in tenant.columns("account")
    assert "uq_contact__email" in tenant.indexes("contact")
    assert tenant.indexes("contact")["uq_contact__email"]["unique"]


def _valid(model):
    return validate_data(model.to_document())


def test_applying_the_same_metadata_twice_is_a_no_op(tenant):
    first = tenant.apply({"account": ACCOUNT})
    again = tenant.apply({"account": ACCOUNT})
    assert first.version.number == 1 and again.version is None
    assert [v.number for v in tenant.service.history(tenant.name)] == [1]


def test_add_field_keeps_rows_and_fills_defaults(tenant):
    tenant.apply({"account": ACCOUNT})
    tenant.insert("account", {"name": "Acme"}, {"name": "Globex"})
    tenant.apply(
        {
            "account": with_fields(
                ACCOUNT,
                tier={
                    "type": "picklist",
                    "values": ["gold", "silver"],
                    "default": "silver",
                    "required": True,
                },
                since={"type": "date", "default": "today"},
                active={"type": "boolean", "default": True},
                note={"type": "text"},
            )
        }
    )
    rows = tenant.rows("account", "name", "tier", "since", "active", "note")
    assert [r["name"] for r in rows] == ["Acme", "Globex"]
    assert {r["tier"] for r in rows} == {"silver"} and {r["active"] for r in rows} == {True}
    assert all(isinstance(r["since"], dt.date) for r in rows)
    assert {r["note"] for r in rows} == {None}
    assert tenant.version == 2


def test_rename_field_keeps_values_and_indexes(tenant):
    contact = {
        "fields": {
            "mail": {"type": "email", "unique": True, "label": "E"},
            "last": {"type": "text", "label": "L"},
        },
        "indexes": [{"fields": ["last", "mail"]}],
    }
    tenant.apply({"contact": contact})
    tenant.insert("contact", {"mail": "a@x.cn", "last": "Li"})
    renamed = {
        "fields": {
            "email": {"type": "email", "unique": True, "label": "E", "renamed_from": "mail"},
            "last": {"type": "text", "label": "L"},
        },
        "indexes": [{"fields": ["last", "email"]}],
    }
    result = tenant.apply({"contact": renamed})
    assert [op.kind for op in result.plan.operations] == ["rename_field"]
    assert tenant.rows("contact", "email") == [{"email": "a@x.cn"}]
    assert {"uq_contact__email", "ix_contact__last__email"} <= set(tenant.indexes("contact"))
    assert "uq_contact__mail" not in tenant.indexes("contact")
    with pytest.raises(IntegrityError):  # the unique index survived the rename
        tenant.insert("contact", {"email": "a@x.cn", "last": "Wang"})


def test_rename_object_keeps_rows_and_references(tenant):
    names = {"label": "Customer", "plural": "Customers", "plural_name": "customers"}
    tenant.apply(
        {
            "client": {**names, **ACCOUNT},
            "contact": {"fields": {"client": {"type": "lookup", "to": "client", "label": "C"}}},
        }
    )
    [acme] = tenant.insert("client", {"name": "Acme"})
    tenant.insert("contact", {"client": acme})
    tenant.apply(
        {
            "customer": {**names, **ACCOUNT, "renamed_from": "client"},
            "contact": {"fields": {"client": {"type": "lookup", "to": "customer", "label": "C"}}},
        }
    )
    assert "client" not in tenant.tables() and "customer" in tenant.tables()
    assert tenant.rows("customer", "name") == [{"name": "Acme"}]
    assert "rx_customer__owner" in tenant.indexes("customer")
    [other] = tenant.insert("customer", {"name": "Globex"})
    tenant.insert("contact", {"client": other})
    assert [r["client"] for r in tenant.rows("contact", "client")] == [acme, other]


def test_destructive_changes_need_consent_and_archive_the_data(tenant):
    tenant.apply({"account": with_fields(ACCOUNT, fax={"type": "phone"}), "lead": ACCOUNT})
    tenant.insert("account", {"name": "Acme", "fax": "+86 10 1234"})
    tenant.insert("lead", {"name": "Hot lead"})
    with pytest.raises(PlanRefused) as refused:
        tenant.apply({"account": ACCOUNT})
    assert {i.pointer for i in refused.value.errors} == {
        "/objects/account/fields/fax",
        "/objects/lead",
    }
    assert "fax" in tenant.columns("account") and tenant.version == 1

    tenant.apply({"account": ACCOUNT}, allow_destructive=True)
    assert "fax" not in tenant.columns("account") and "lead" not in tenant.tables()
    archives = {a["name"]: a for a in tenant.service.archives(tenant.name)}
    assert set(archives) == {"_archive_v2__account__fax", "_archive_v2__lead"}
    assert archives["_archive_v2__lead"]["row_count"] == 1
    assert archives["_archive_v2__account__fax"]["definition"]["type"] == "phone"
    assert tenant.raw("SELECT fax FROM {s}_archive_v2__account__fax") == [("+86 10 1234",)]
    assert tenant.raw("SELECT name FROM {s}_archive_v2__lead") == [("Hot lead",)]

    tenant.service.purge(tenant.name, ["_archive_v2__lead"])
    assert "_archive_v2__lead" not in tenant.tables()
    assert [a["name"] for a in tenant.service.archives(tenant.name)] == [
        "_archive_v2__account__fax"
    ]


@pytest.mark.parametrize(
    ("old", "new", "stored", "expected"),
    [
        (
            {"type": "integer"},
            {"type": "decimal", "precision": 22, "scale": 2},
            42,
            Decimal("42.00"),
        ),
        ({"type": "text"}, {"type": "long_text"}, "hello", "hello"),
        ({"type": "picklist", "values": ["hot", "cold"]}, {"type": "text"}, "hot", "hot"),
        (
            {"type": "picklist", "values": ["hot", "cold"]},
            {"type": "multi_picklist", "values": ["hot", "cold"]},
            "hot",
            ["hot"],
        ),
        (
            {"type": "date"},
            {"type": "datetime"},
            "2024-02-29",
            dt.datetime(2024, 2, 29, tzinfo=dt.UTC),
        ),
        ({"type": "integer"}, {"type": "text"}, 1234, "1234"),
        # Text made from other types reads the same on both backends.
        (
            {"type": "datetime"},
            {"type": "text"},
            "2024-05-01T08:00:00.250+08:00",
            "2024-05-01T00:00:00Z",
        ),
        ({"type": "time"}, {"type": "text"}, "08:30", "08:30:00"),
        ({"type": "decimal", "scale": 2}, {"type": "text"}, "3.5", "3.50"),
        ({"type": "date"}, {"type": "long_text"}, "2024-02-29", "2024-02-29"),
        (
            {"type": "uuid"},
            {"type": "text"},
            "0B3C1F9E-6A51-4F5E-9A43-2C8B1D1F7A10",
            "0b3c1f9e-6a51-4f5e-9a43-2c8b1d1f7a10",
        ),
        ({"type": "decimal"}, {"type": "currency"}, 9.5, Decimal("9.50")),
        ({"type": "text", "max_length": 20}, {"type": "text", "max_length": 200}, "abc", "abc"),
    ],
)
def test_safe_type_changes_convert_existing_values(tenant, old, new, stored, expected):
    tenant.apply({"thing": {"fields": {"f": {**old, "label": "F"}}}})
    tenant.insert("thing", {"f": stored}, {"f": None})
    result = tenant.apply({"thing": {"fields": {"f": {**new, "label": "F"}}}})
    assert result.plan.operations[0].conversion.kind in ("safe", "checked")
    values = [r["f"] for r in tenant.rows("thing", "f")]
    assert values == [expected, None]
    if new["type"] == "currency":
        assert [r["f__currency"] for r in tenant.rows("thing", "f__currency")] == ["CNY", None]


def test_lossy_changes_archive_the_original_values(tenant):
    tenant.apply(
        {
            "thing": {
                "fields": {
                    "amount": {"type": "decimal", "label": "A"},
                    "code": {"type": "long_text", "label": "C"},
                }
            }
        }
    )
    tenant.insert("thing", {"amount": "12.75", "code": "x" * 30})
    target = {
        "thing": {
            "fields": {
                "amount": {"type": "integer", "label": "A"},
                "code": {"type": "text", "max_length": 10, "label": "C"},
            }
        }
    }
    with pytest.raises(PlanRefused):
        tenant.apply(target)
    tenant.apply(target, allow_destructive=True)
    assert tenant.rows("thing", "amount", "code") == [{"amount": 13, "code": "x" * 10}]
    assert tenant.raw("SELECT amount FROM {s}_archive_v2__thing__amount")[0][0] == pytest.approx(
        12.75
    )
    assert tenant.raw("SELECT code FROM {s}_archive_v2__thing__code") == [("x" * 30,)]


def test_sqlite_date_conversion_does_not_lose_the_date_to_numeric_affinity(tenant):
    # Alembic's batch copy would CAST '2024-01-31' AS DATETIME, which SQLite reads as 2024.
    tenant.apply({"thing": {"fields": {"day": {"type": "date", "label": "W"}}}})
    tenant.insert("thing", {"day": "2024-01-31"})
    tenant.apply({"thing": {"fields": {"day": {"type": "datetime", "label": "W"}}}})
    tenant.apply(
        {"thing": {"fields": {"day": {"type": "date", "label": "W"}}}}, allow_destructive=True
    )
    assert tenant.rows("thing", "day") == [{"day": dt.date(2024, 1, 31)}]


def test_refused_type_change_changes_nothing(tenant):
    tenant.apply({"thing": {"fields": {"f": {"type": "text", "label": "F"}}}})
    with pytest.raises(PlanRefused) as refused:
        tenant.apply(
            {"thing": {"fields": {"f": {"type": "integer", "label": "F"}}}}, allow_destructive=True
        )
    assert refused.value.errors[0].code == "refused_change"
    assert tenant.version == 1


def test_required_and_unique_are_checked_against_the_data(tenant):
    contact = {
        "fields": {"email": {"type": "email", "label": "E"}, "city": {"type": "text", "label": "C"}}
    }
    tenant.apply({"contact": contact})
    tenant.insert(
        "contact", {"email": "a@x.cn", "city": "Beijing"}, {"email": "a@x.cn"}, {"email": "b@x.cn"}
    )
    stricter = {
        "fields": {
            "email": {"type": "email", "label": "E", "unique": True},
            "city": {"type": "text", "label": "C", "required": True},
        }
    }
    report = tenant.plan({"contact": stricter})
    assert {i.pointer for i in report.blockers} == {
        "/objects/contact/fields/email",
        "/objects/contact/fields/city",
    }
    with pytest.raises(DataConflict) as conflict:
        tenant.apply({"contact": stricter})
    [duplicates] = [i for i in conflict.value.errors if i.pointer.endswith("/email")]
    assert "'a@x.cn'" in duplicates.message
    assert tenant.version == 1 and tenant.rows("contact", "email")[1]["email"] == "a@x.cn"

    # A default fills the gaps; soft-deleted duplicates do not count.
    tenant.raw(
        "UPDATE {s}contact SET deleted_at = CURRENT_TIMESTAMP WHERE city IS NULL "
        "AND email = 'a@x.cn'"
    )
    stricter["fields"]["city"]["default"] = "Unknown"
    tenant.apply({"contact": stricter})
    assert [r["city"] for r in tenant.rows("contact", "city")] == ["Beijing", "Unknown", "Unknown"]


def test_numeric_narrowing_is_checked(tenant):
    tenant.apply({"thing": {"fields": {"n": {"type": "integer", "label": "N"}}}})
    tenant.insert("thing", {"n": 123456})
    narrow = {
        "thing": {"fields": {"n": {"type": "decimal", "precision": 6, "scale": 2, "label": "N"}}}
    }
    with pytest.raises(DataConflict) as conflict:
        tenant.apply(narrow)
    assert "1 thing record(s)" in conflict.value.errors[0].message
    tenant.raw("UPDATE {s}thing SET n = 1234")
    tenant.apply(narrow)
    assert tenant.rows("thing", "n") == [{"n": Decimal("1234.00")}]


def test_lookup_cycles_and_self_references_create(tenant):
    tenant.apply(
        {
            "account": {
                "fields": {
                    "primary_contact": {
                        "type": "lookup",
                        "to": "contact",
                        "related_name": "primary_of",
                    },
                    "parent": {"type": "lookup", "to": "account", "related_name": "children"},
                }
            },
            "contact": {"fields": {"account": {"type": "master_detail", "to": "account"}}},
        }
    )
    [acme] = tenant.insert("account", {})
    [ana] = tenant.insert("contact", {"account": acme})
    tenant.raw(f"UPDATE {{s}}account SET primary_contact = '{ana}'")
    assert tenant.rows("account", "primary_contact") == [{"primary_contact": ana}]
    # Dropping both objects at once must undo their mutual foreign keys.
    tenant.apply({}, allow_destructive=True)
    assert not {"account", "contact"} & tenant.tables()


def test_on_delete_and_requiredness_changes_on_relations(tenant):
    model = {
        "account": {},
        "contact": {"fields": {"account": {"type": "lookup", "to": "account", "label": "A"}}},
    }
    tenant.apply(model)
    [acme] = tenant.insert("account", {})
    tenant.insert("contact", {"account": acme}, {})
    model["contact"]["fields"]["account"] = {"type": "master_detail", "to": "account", "label": "A"}
    with pytest.raises(DataConflict):
        tenant.apply(model)
    tenant.raw("DELETE FROM {s}contact WHERE account IS NULL")
    tenant.apply(model)
    tenant.raw("DELETE FROM {s}account")
    assert tenant.rows("contact") == []  # master-detail cascades a hard delete


def test_indexes_are_added_and_dropped(tenant):
    base = {"fields": {"a": {"type": "text"}, "b": {"type": "integer"}}}
    tenant.apply({"thing": {**base, "indexes": [{"fields": ["a", "b"]}]}})
    assert "ix_thing__a__b" in tenant.indexes("thing")
    tenant.apply({"thing": {**base, "indexes": [{"fields": ["b"], "unique": True}]}})
    indexes = tenant.indexes("thing")
    assert "ix_thing__a__b" not in indexes and indexes["ux_thing__b"]["unique"]


def test_auto_number_numbers_existing_rows_then_continues(tenant):
    tenant.apply({"quote": ACCOUNT})
    tenant.insert("quote", {"name": "first"}, {"name": "second"})
    tenant.apply(
        {"quote": with_fields(ACCOUNT, number={"type": "auto_number", "format": "Q-{0000}"})}
    )
    tenant.insert("quote", {"name": "third"})
    assert [r["number"] for r in tenant.rows("quote", "number")] == ["Q-0001", "Q-0002", "Q-0003"]
    with pytest.raises(RuntimeError), tenant.backend.begin_tenant(tenant.name) as conn:
        from runtime.storage.records import insert_records

        insert_records(conn, tenant.model, "quote", [{"name": "rolled back"}], schema=tenant.schema)
        raise RuntimeError("abandon the insert")
    tenant.insert("quote", {"name": "fourth"})
    assert tenant.rows("quote", "number")[-1]["number"] == "Q-0004"  # no gap


def test_expected_version_guards_against_lost_updates(tenant):
    tenant.apply({"account": ACCOUNT})
    with pytest.raises(VersionConflict):
        tenant.apply({"account": with_fields(ACCOUNT, x={"type": "text"})}, expected_version=0)
    tenant.apply({"account": with_fields(ACCOUNT, x={"type": "text"})}, expected_version=1)
    assert tenant.version == 2


def test_plan_is_a_dry_run(tenant):
    tenant.apply({"account": ACCOUNT})
    report = tenant.plan({"account": with_fields(ACCOUNT, site={"type": "url"})})
    [step] = report.steps
    assert step.operation.kind == "add_field"
    assert "ALTER TABLE" in step.sql and "ADD COLUMN site" in step.sql
    assert report.next_version == 2 and report.blockers == []
    assert "site" not in tenant.columns("account") and tenant.version == 1


def test_tenants_are_isolated(service):
    from tests.runtime.storage.conftest import TenantBox

    one, two = TenantBox(service, "one"), TenantBox(service, "two")
    service.create_tenant("one")
    service.create_tenant("two")
    one.apply({"account": ACCOUNT})
    two.apply({"account": with_fields(ACCOUNT, extra={"type": "text"})})
    one.insert("account", {"name": "only in one"})
    assert two.rows("account") == [] and "extra" not in one.columns("account")
    service.delete_tenant("one")
    assert [t.name for t in service.list_tenants()] == ["two"]
    assert not service.backend.storage_exists("one")
