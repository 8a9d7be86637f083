"""Pack lifecycle on both backends: install with dependencies, customize, upgrade with a
three-way merge, conflicts, uninstall and reinstall keeping data, dependency errors.

Fixture packs (tests/fixtures/packs): ``base`` (publisher tessera: an account object) and
``acme_fleet`` 1.0.0 / 2.0.0 (publisher acme: a vehicle object and a field on account).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from metadata.diff import PlanRefused
from metadata.packs.catalog import Catalog, PackError
from metadata.validation import validate_data
from runtime.packs.service import PackService
from runtime.storage.tables import build_table

PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"
V1, V2 = str(PACKS / "fleet_v1"), str(PACKS / "fleet_v2")


@pytest.fixture
def packs(service):
    service.create_tenant("fleet", "Fleet")
    return PackService(service, Catalog(PACKS))


def rows(service, tenant, obj, *columns):
    _, snapshot = service.active(tenant)
    backend = service.backend
    table = build_table(snapshot.model, obj, schema=backend.schema(tenant), dialect=backend.dialect)
    with backend.read_tenant(tenant) as conn:
        query = select(*(table.c[c] for c in columns)).order_by(*(table.c[c] for c in columns))
        return [tuple(r) for r in conn.execute(query)]


def customize(service, tenant, change):
    """Apply a tenant admin's change to the current metadata document."""
    _, snapshot = service.active(tenant)
    document = snapshot.model.to_document()
    change(document)
    return service.apply(tenant, validate_data(document), author="admin")


def test_install_resolves_dependencies_and_is_recorded(service, packs):
    plan = packs.plan_install("fleet", [V1], sample_data=True)
    assert [str(c) for c in plan.changes] == ["install base 1.0.0", "install acme_fleet 1.0.0"]
    kinds = [op["op"] for op in plan.to_dict()["operations"]]
    assert kinds.count("create_object") == 2 and "add_field" not in kinds  # fleet size is inline
    assert any("CREATE TABLE" in op["sql"] for op in plan.to_dict()["operations"])
    assert not plan.blockers
    # A dry run changes nothing.
    assert packs.records("fleet") == {}
    result = packs.apply(plan)
    assert result.effects["sample_data"] == {
        "base": {"account": 1},
        "acme_fleet": {"acme_vehicle": 1},
    }
    installed = packs.installed("fleet")
    assert {n: str(r.version) for n, r in installed.items()} == {
        "base": "1.0.0",
        "acme_fleet": "1.0.0",
    }
    assert installed["acme_fleet"].objects == {"acme_vehicle"}
    # The vehicle points at the base pack's sample account, by key across packs.
    [(account_id,)] = rows(service, "fleet", "account", "id")
    assert rows(service, "fleet", "acme_vehicle", "vin", "account") == [("LSV0001", account_id)]


def test_upgrade_keeps_customizations_and_data(service, packs):
    packs.apply(packs.plan_install("fleet", [V1], sample_data=True))

    def tenant_changes(doc):
        vehicle = doc["objects"]["acme_vehicle"]
        vehicle["fields"]["plate"] = {"type": "text", "label": {"en": "Plate", "zh-CN": "车牌"}}
        vehicle["fields"]["vin"]["label"] = {"en": "Chassis no.", "zh-CN": "底盘号"}
        vehicle["fields"]["status"]["values"].append(
            {"value": "leased", "label": {"en": "Leased", "zh-CN": "租出"}}
        )

    customize(service, "fleet", tenant_changes)
    plan = packs.plan_upgrade("fleet", V2)
    # The tenant relabelled vin, v2 relabels it too: reported, not overwritten.
    assert [c.pointer for c in plan.conflicts] == ["/objects/acme_vehicle/fields/vin/label/zh-CN"]
    assert "底盘号" in plan.conflicts[0].message and "车辆识别码" in plan.conflicts[0].message
    with pytest.raises(PackError, match="blockers"):
        packs.apply(plan)
    assert str(packs.installed("fleet")["acme_fleet"].version) == "1.0.0"

    # Keeping the tenant's label is an explicit choice.
    plan = packs.plan_upgrade("fleet", V2, prefer="tenant")
    ops = {(op["op"], op.get("field")) for op in plan.to_dict()["operations"]}
    assert ("rename_field", "color") in ops and ("add_field", "mileage") in ops
    assert not any(op["op"] in ("drop_field", "drop_object") for op in plan.to_dict()["operations"])
    packs.apply(plan)

    _, snapshot = service.active("fleet")
    vehicle = snapshot.model.objects["acme_vehicle"]
    assert list(vehicle.fields) == ["vin", "color", "account", "status", "plate", "mileage"]
    assert vehicle.label.get("zh-CN") == "车队车辆"  # the pack's change, untouched by tenant
    assert vehicle.fields["vin"].label.get("en") == "Chassis no."  # tenant's kept
    # The tenant's values in its order, then the pack's new one.
    assert vehicle.fields["status"].value_codes() == ("active", "retired", "leased", "in_repair")
    assert "acme_fleet_size" in snapshot.model.objects["account"].fields
    # The data came through the rename.
    assert rows(service, "fleet", "acme_vehicle", "vin", "color") == [("LSV0001", "white")]
    assert str(packs.installed("fleet")["acme_fleet"].version) == "2.0.0"

    # Nothing newer to move to.
    again = packs.plan_upgrade("fleet", V2)
    assert any("not newer" in b for b in again.blockers)


def test_uninstall_and_reinstall_keep_data_and_customizations(service, packs):
    packs.apply(packs.plan_install("fleet", [V1], sample_data=True))
    customize(
        service,
        "fleet",
        lambda doc: doc["objects"]["acme_vehicle"]["fields"].update(
            plate={"type": "text", "label": {"en": "Plate", "zh-CN": "车牌"}}
        ),
    )
    _, snapshot = service.active("fleet")
    backend = service.backend
    table = build_table(
        snapshot.model, "acme_vehicle", schema=backend.schema("fleet"), dialect=backend.dialect
    )
    account = build_table(
        snapshot.model, "account", schema=backend.schema("fleet"), dialect=backend.dialect
    )
    with backend.begin_tenant("fleet") as conn:
        conn.execute(table.update().values(plate="沪A12345"))
        conn.execute(account.update().values(acme_fleet_size=12))

    # base cannot go while acme_fleet needs it.
    with pytest.raises(PackError) as refused:
        packs.plan_uninstall("fleet", "base")
    assert refused.value.problems == [
        "acme_fleet 1.0.0 depends on base ^1.0; uninstall acme_fleet first"
    ]

    plan = packs.plan_uninstall("fleet", "acme_fleet")
    assert "archives (kept for a reinstall): 1 row of acme_vehicle" in plan.data
    packs.apply(plan)
    _, snapshot = service.active("fleet")
    assert "acme_vehicle" not in snapshot.model.objects
    assert "acme_fleet_size" not in snapshot.model.objects["account"].fields
    assert "acme_fleet_user" not in snapshot.model.security.permission_sets
    record = packs.records("fleet")["acme_fleet"]
    assert record.status == "uninstalled" and len(record.archives) == 2

    plan = packs.plan_install("fleet", [V1])
    assert [str(c) for c in plan.changes] == ["reinstall acme_fleet 1.0.0 (was 1.0.0)"]
    assert any("restores 1 row of acme_vehicle" in line for line in plan.data)
    result = packs.apply(plan)
    assert sorted(result.effects["restored"].values()) == [1, 1]
    # The tenant's field came back with the object, and every value with them.
    assert rows(service, "fleet", "acme_vehicle", "vin", "plate") == [("LSV0001", "沪A12345")]
    assert rows(service, "fleet", "account", "acme_fleet_size") == [(12,)]
    assert service.archives("fleet") == []


def test_uninstall_with_purge_deletes_the_data(service, packs):
    packs.apply(packs.plan_install("fleet", [V1], sample_data=True))
    plan = packs.plan_uninstall("fleet", "acme_fleet", purge=True)
    assert "deletes for good: 1 row of acme_vehicle" in plan.data
    packs.apply(plan)
    assert "acme_fleet" not in packs.records("fleet")
    assert service.archives("fleet") == []
    packs.apply(packs.plan_install("fleet", [V1]))
    assert rows(service, "fleet", "acme_vehicle", "vin") == []


def test_dependency_errors_are_clear(service, packs, tmp_path):
    with pytest.raises(PackError) as missing:
        packs.plan_install("fleet", ["nonesuch"])
    assert "there is no pack 'nonesuch'" in str(missing.value)

    packs.apply(packs.plan_install("fleet", [V1]))
    with pytest.raises(PackError) as twice:
        packs.plan_install("fleet", [V1])
    assert twice.value.problems == [
        "acme_fleet 1.0.0 is already installed; use upgrade to move to 1.0.0"
    ]

    # A pack that needs a newer base than the tenant has.
    needy = tmp_path / "needy"
    needy.mkdir()
    (needy / "pack.yaml").write_text(
        (PACKS / "fleet_v1" / "pack.yaml")
        .read_text(encoding="utf-8")
        .replace("name: acme_fleet", "name: acme_needy")
        .replace("base: ^1.0", "base: ^2.0"),
        encoding="utf-8",
    )
    with pytest.raises(PackError) as too_old:
        packs.plan_install("fleet", [str(needy)])
    assert too_old.value.problems == [
        "acme_needy 1.0.0 needs base ^2.0, but the tenant has base 1.0.0: upgrade base first"
    ]


def test_a_tenant_object_in_the_way_is_a_conflict(service, packs):
    service.apply(
        "fleet",
        validate_data({"objects": {"account": {"fields": {"name": {"type": "long_text"}}}}}),
    )
    plan = packs.plan_install("fleet", [str(PACKS / "base")])
    # The tenant's own account object and its name field differ from the pack's.
    assert [c.pointer for c in plan.conflicts] == [
        "/objects/account",
        "/objects/account/fields/name",
    ]
    assert "type is 'text' in the pack, 'long_text' in the tenant" in plan.conflicts[1].message
    with pytest.raises(PackError, match="blockers"):
        packs.apply(plan)


def test_publishers_cannot_share_a_prefix(service, packs, tmp_path):
    packs.apply(packs.plan_install("fleet", [V1]))
    other = tmp_path / "other"
    other.mkdir()
    (other / "pack.yaml").write_text(
        (PACKS / "fleet_v1" / "pack.yaml")
        .read_text(encoding="utf-8")
        .replace("name: acme_fleet", "name: acme_other")
        .replace("Acme Software", "Acme Impostor"),
        encoding="utf-8",
    )
    plan = packs.plan_install("fleet", [str(other)])
    assert plan.problems == [
        "acme_other is published by 'Acme Impostor' with prefix 'acme', which belongs to "
        "'Acme Software' (pack acme_fleet) in this tenant"
    ]


def test_a_tenant_change_cannot_remove_what_a_pack_owns(service, packs):
    packs.apply(packs.plan_install("fleet", [V1]))

    def drop_pack_parts(doc):
        del doc["objects"]["acme_vehicle"]["fields"]["colour"]
        del doc["permission_sets"]["acme_fleet_user"]
        doc["objects"]["acme_vehicle"]["fields"]["plate"] = {"type": "text"}

    _, snapshot = service.active("fleet")
    document = snapshot.model.to_document()
    drop_pack_parts(document)
    changed = validate_data(document)
    report = service.plan("fleet", changed, allow_destructive=True)
    assert [(i.pointer, i.code) for i in report.blockers] == [
        ("/objects/acme_vehicle/fields/colour", "pack_owned"),
        ("/permission_sets/acme_fleet_user", "pack_owned"),
    ]
    assert report.blockers[0].message == (
        "cannot drop field acme_vehicle.colour: it belongs to pack acme_fleet; uninstall the "
        "pack to remove it (tessera app uninstall acme_fleet)"
    )
    with pytest.raises(PlanRefused):
        service.apply("fleet", changed, allow_destructive=True)
    _, after = service.active("fleet")
    assert "colour" in after.model.objects["acme_vehicle"].fields
    # Adding a field to a pack object is a customization, and fine.
    customize(
        service,
        "fleet",
        lambda doc: doc["objects"]["acme_vehicle"]["fields"].update(plate={"type": "text"}),
    )


def test_an_upgrade_must_stay_in_its_dependents_ranges(service, packs, tmp_path):
    import shutil

    packs.apply(packs.plan_install("fleet", [V1]))
    base_v2 = tmp_path / "base_v2"
    shutil.copytree(PACKS / "base", base_v2)
    manifest = base_v2 / "pack.yaml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace("version: 1.0.0", "version: 2.0.0"),
        encoding="utf-8",
    )
    plan = packs.plan_upgrade("fleet", str(base_v2))
    assert plan.problems == [
        "acme_fleet 1.0.0 needs base ^1.0, which 2.0.0 is not: upgrade acme_fleet with it"
    ]
    with pytest.raises(PackError, match="blockers"):
        packs.apply(plan)
