"""A failed apply leaves the tenant on its previous version with its data intact."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from runtime.storage import executor
from runtime.tenants import TenantService
from tests.runtime.storage.conftest import TenantBox

BEFORE = {
    "account": {
        "fields": {
            "name": {"type": "text", "required": True, "label": "N"},
            "fax": {"type": "phone", "label": "F"},
            "size": {"type": "integer", "label": "S"},
        }
    },
    "contact": {
        "fields": {
            "account": {"type": "lookup", "to": "account", "label": "A"},
            "mail": {"type": "email", "label": "M"},
        }
    },
}
AFTER = {
    "account": {
        "fields": {
            "name": {"type": "text", "required": True, "label": "N"},
            "size": {"type": "decimal", "precision": 22, "scale": 2, "label": "S"},
            "site": {"type": "url", "label": "W"},
        },
        "indexes": [{"fields": ["name"]}],
    },
    "contact": {
        "fields": {
            "account": {"type": "lookup", "to": "account", "label": "A"},
            "email": {"type": "email", "label": "M", "renamed_from": "mail"},
        }
    },
    "lead": {"fields": {"name": {"type": "text", "label": "N"}}},
}


@pytest.fixture
def seeded(tenant: TenantBox) -> TenantBox:
    tenant.apply(BEFORE, message="before")
    [acme] = tenant.insert("account", {"name": "Acme", "fax": "010-1", "size": 12})
    tenant.insert("contact", {"account": acme, "mail": "ana@acme.cn"})
    return tenant


def snapshot_of(tenant: TenantBox) -> dict:
    """Return everything a failed apply must leave unchanged."""
    return {
        "version": tenant.version,
        "tables": sorted(t for t in tenant.tables()),
        "account": tenant.columns("account"),
        "contact": tenant.columns("contact"),
        "account_rows": tenant.raw("SELECT name, fax, size FROM {s}account"),
        "contact_rows": tenant.raw("SELECT mail FROM {s}contact"),
        "indexes": sorted(tenant.indexes("account")),
        "history": [v.number for v in tenant.service.history(tenant.name)],
        "archives": tenant.service.archives(tenant.name),
    }


def test_a_database_error_late_in_the_plan_rolls_everything_back(seeded):
    before = snapshot_of(seeded)
    # Someone created a table the plan's last object needs, behind Tessera's back.
    seeded.raw("CREATE TABLE {s}lead (id INTEGER)")
    with pytest.raises(DBAPIError):
        seeded.apply(AFTER, allow_destructive=True)
    after = snapshot_of(seeded)
    assert after == {**before, "tables": sorted([*before["tables"], "lead"])}
    [*_, failed] = seeded.service.attempts(seeded.name)
    assert failed.status == "failed" and "lead" in failed.error


@pytest.mark.parametrize("failing_op", ["AddIndex", "AddField", "RenameField"])
def test_a_failure_after_destructive_steps_rolls_them_back(seeded, monkeypatch, failing_op):
    before = snapshot_of(seeded)
    op_type = getattr(executor.ops, failing_op)
    real = executor._IMPLEMENTATIONS[op_type]

    def explode(step):
        real(step)  # do the DDL, then fail: the rollback must undo it too
        raise RuntimeError(f"injected failure in {failing_op}")

    monkeypatch.setitem(executor._IMPLEMENTATIONS, op_type, explode)
    with pytest.raises(RuntimeError, match="injected"):
        seeded.apply(AFTER, allow_destructive=True)
    assert snapshot_of(seeded) == before
    monkeypatch.undo()
    seeded.apply(AFTER, allow_destructive=True)  # and the same plan still works afterwards
    assert seeded.version == 2
    assert seeded.raw("SELECT email FROM {s}contact") == [("ana@acme.cn",)]


# PostgreSQL applies in one transaction, so only SQLite has a gap between phases to crash in.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_crash_after_storage_commit_is_completed_on_recovery(seeded, monkeypatch):
    real_settle = TenantService._settle

    def crash(self, *args, **kwargs):
        raise SystemExit("killed between storage commit and registry update")

    monkeypatch.setattr(TenantService, "_settle", crash)
    with pytest.raises(SystemExit):
        seeded.apply(AFTER, allow_destructive=True)
    monkeypatch.setattr(TenantService, "_settle", real_settle)
    # A new process: the tenant file holds version 2, the registry learns it on first use.
    fresh = TenantBox(TenantService(seeded.backend), seeded.name)
    assert fresh.version == 1  # nothing settled yet
    assert [v.number for v in fresh.service.history(fresh.name)] == [1, 2]
    assert fresh.version == 2 and "site" in fresh.columns("account")
    assert [a.status for a in fresh.service.attempts(fresh.name)] == ["applied", "applied"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_crash_before_storage_commit_leaves_the_old_version(seeded, monkeypatch):
    before = snapshot_of(seeded)

    def crash(*args, **kwargs):
        raise SystemExit("killed while migrating")

    monkeypatch.setattr("runtime.tenants.apply.write_state", crash)
    with pytest.raises(SystemExit):
        seeded.apply(AFTER, allow_destructive=True)
    assert snapshot_of(seeded) == before
    [_, attempt] = seeded.service.attempts(seeded.name)
    assert attempt.status == "failed"
