"""Moving data on upgrade, on both backends: core_crm 1.0.0 related an activity to a lead,
an account, an opportunity and a ticket through four lookups; 1.1.0 has one polymorphic
lookup, and the upgrade carries every activity's reference into it, the first filled
source winning, in the upgrade's transaction, with the old values kept in archives."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from metadata.errors import MetadataError
from metadata.packs.catalog import Catalog
from metadata.packs.loader import load_pack
from runtime.packs.service import PackService
from runtime.storage.tables import build_table

APPS = Path(__file__).resolve().parents[3] / "apps"
SOURCES = ("opportunity", "ticket", "lead", "account")


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    """Replace text in a pack file (YAML 1.1 loaders would read its ``on:`` keys as true,
    so the files are edited as text)."""
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def core_v1(tmp_path) -> Path:
    """core_crm as 1.0.0 shipped it: four lookups on activity, no moves."""
    folder = tmp_path / "core_crm"
    shutil.copytree(APPS / "core_crm", folder)
    manifest = (folder / "pack.yaml").read_text(encoding="utf-8")
    (folder / "pack.yaml").write_text(
        manifest[: manifest.index("moves:")].replace("version: 1.3.0", "version: 1.0.0"),
        encoding="utf-8",
    )
    _edit(
        folder / "objects.yaml",
        (
            """      related_to:
        type: polymorphic_lookup
        to: [lead, account, opportunity, ticket]
        label: {en: Related to, zh-CN: 相关对象}
""",
            "".join(
                f"      {n}: {{type: lookup, to: {n}, label: {{en: {n}, zh-CN: {n}}}}}\n"
                for n in ("lead", "account", "opportunity", "ticket")
            ),
        ),
    )
    layouts = (folder / "layouts.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    current = None
    for i, line in enumerate(layouts):
        if line.strip().startswith("object:"):
            current = line.split(":", 1)[1].strip()
        if "{object: activity, field: related_to" in line:
            layouts[i] = line.replace("field: related_to", f"field: {current}")
    (folder / "layouts.yaml").write_text("".join(layouts), encoding="utf-8")
    _edit(
        folder / "automation.yaml",
        ('condition: "NOT ISBLANK(related_to)"', 'condition: "NOT ISBLANK(lead)"'),
        ("score: {on: related_to,", "score: {on: lead,"),
        ("update_parent: {on: related_to,", "update_parent: {on: lead,"),
    )
    _edit(
        folder / "sample_data.yaml",
        (
            "related_to: {object: opportunity, id: o_huaxin_mes}",
            "account: huaxin, opportunity: o_huaxin_mes",
        ),
        ("related_to: {object: lead, id: l_sun}", "lead: l_sun"),
        ("related_to: {object: ticket, id: t_login}", "account: huaxin, ticket: t_login"),
    )
    return folder


def _activities(service, tenant):
    _, snapshot = service.active(tenant)
    backend = service.backend
    table = build_table(
        snapshot.model, "activity", schema=backend.schema(tenant), dialect=backend.dialect
    )
    with backend.read_tenant(tenant) as conn:
        return {r._mapping["subject"]: dict(r._mapping) for r in conn.execute(select(table))}


def test_an_upgrade_moves_four_lookups_into_one_polymorphic_lookup(service, core_v1):
    assert str(load_pack(core_v1).manifest.version) == "1.0.0"
    service.create_tenant("crm")
    packs = PackService(service, Catalog(APPS))
    packs.apply(packs.plan_install("crm", [str(core_v1)], sample_data=True))
    before = _activities(service, "crm")
    # A visit logged on both an account and a deal, a call on a lead, a ticket's follow-up.
    visit = before["拜访华信采购部"]
    assert visit["account"] and visit["opportunity"] and visit["lead"] is None
    # One more the samples lack: an activity on an account alone.
    backend = service.backend
    _, snapshot = service.active("crm")
    table = build_table(
        snapshot.model, "activity", schema=backend.schema("crm"), dialect=backend.dialect
    )
    with backend.begin_tenant("crm") as conn:
        conn.execute(
            table.insert().values(id=uuid.uuid4(), subject="只关联客户", account=visit["account"])
        )

    plan = packs.plan_upgrade("crm", str(APPS / "core_crm"))
    assert plan.blockers == []
    moves = [line for line in plan.data if "move" in line]
    assert len(moves) == 4 and moves[0].startswith("activity.opportunity: its values move")
    result = packs.apply(plan)
    assert str(packs.installed("crm")["core_crm"].version) == str(
        load_pack(APPS / "core_crm").manifest.version
    )
    filled = result.effects["moved"]
    assert filled == {
        "activity.opportunity → related_to": 1,
        "activity.ticket → related_to": 1,
        "activity.lead → related_to": 1,
        "activity.account → related_to": 1,  # the visit took its deal; this one its account
    }

    after = _activities(service, "crm")
    assert not set(SOURCES) & set(next(iter(after.values())))  # the lookups are gone
    got = {s: (a["related_to__object"], a["related_to"]) for s, a in after.items()}
    assert got["拜访华信采购部"] == ("opportunity", visit["opportunity"])
    assert got["电话回访孙磊"] == ("lead", before["电话回访孙磊"]["lead"])
    assert got["远程排查登录问题"] == ("ticket", before["远程排查登录问题"]["ticket"])
    assert got["只关联客户"] == ("account", visit["account"])
    # Nothing is lost: each removed lookup's values are archived, the visit's account too.
    archived = {a["field"]: a["row_count"] for a in service.archives("crm")}
    assert set(archived) == set(SOURCES) and archived["account"] == 4


def test_a_move_that_does_not_fit_blocks_the_upgrade(service, core_v1, tmp_path):
    service.create_tenant("crm")
    packs = PackService(service, Catalog(APPS))
    packs.apply(packs.plan_install("crm", [str(core_v1)]))
    v2 = tmp_path / "v2" / "core_crm"
    shutil.copytree(APPS / "core_crm", v2)

    _edit(
        v2 / "pack.yaml",
        ("from: [opportunity, ticket, lead, account], to: related_to", "from: [lead], to: subject"),
    )
    plan = packs.plan_upgrade("crm", str(v2))
    assert "cannot move activity.lead into subject: a lookup field cannot fill a text field" in (
        plan.blockers
    )
    assert str(packs.installed("crm")["core_crm"].version) == "1.0.0"


def test_a_move_names_removed_fields_of_the_packs_own_objects(tmp_path):
    folder = tmp_path / "core_crm"
    shutil.copytree(APPS / "core_crm", folder)

    _edit(
        folder / "pack.yaml",
        (
            "  - {object: activity, from: [opportunity, ticket, lead, account], to: related_to}",
            "  - {object: activity, from: [subject], to: related_to}\n"
            "  - {object: nothing, from: [a], to: b}\n"
            "  - {object: activity, from: [lead], to: missing}",
        ),
    )
    with pytest.raises(MetadataError) as refused:
        load_pack(folder)
    issues = [i for i in refused.value.issues if i.code == "invalid_move"]
    assert [(i.pointer, i.message) for i in issues] == [
        ("/moves/0/from", "activity.subject is still a field: a move takes removed fields"),
        ("/moves/1/object", "'nothing' is not an object of this pack"),
        ("/moves/2/to", "activity has no field 'missing' to move values into"),
    ]


def test_the_demo_upgrades_the_packs_an_earlier_release_installed(service, core_v1):
    from runtime.demo import upgrade_installed

    service.create_tenant("demo_x")
    packs = PackService(service, Catalog(APPS))
    packs.apply(packs.plan_install("demo_x", [str(core_v1)]))
    current = load_pack(APPS / "core_crm").manifest.version
    # A later run of the demo: a new process, whose catalog is the shipped packs.
    packs = PackService(service, Catalog(APPS))
    lines = upgrade_installed(packs, "demo_x", packs.installed("demo_x"))
    assert lines == [f"Upgraded core_crm in 'demo_x' to {current}."]
    assert packs.installed("demo_x")["core_crm"].version == current
    # The new version's metadata is live: its apps' navigation, its conversion.
    model = service.active("demo_x")[1].model
    assert "crm" in model.views.navigation and "convert_lead" in model.automation.conversions
    assert upgrade_installed(packs, "demo_x", packs.installed("demo_x")) == []
