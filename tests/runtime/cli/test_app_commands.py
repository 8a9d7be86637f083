"""``tessera app`` on both backends: validate, pack, list, install, upgrade, uninstall."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from runtime.cli.main import cli

PACKS = Path(__file__).resolve().parents[2] / "fixtures" / "packs"


@pytest.fixture
def tessera(database_url):
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(
            cli,
            ["--database-url", database_url, *args],
            catch_exceptions=False,
            env={"TESSERA_APPS_DIR": str(PACKS), "COLUMNS": "200"},
        )
        assert result.exit_code == code, result.output
        return result

    return run


def test_validate_reports_file_and_line(tessera, tmp_path):
    ok = tessera("app", "validate", str(PACKS / "fleet_v1"))
    assert "acme_fleet 1.0.0 is valid: 1 object(s), 1 extension field(s)" in ok.output

    broken = tmp_path / "broken"
    shutil.copytree(PACKS / "fleet_v1", broken)
    objects = broken / "objects.yaml"
    objects.write_text(
        objects.read_text(encoding="utf-8").replace("vin: {type: text", "vin: {type: txt"),
        encoding="utf-8",
    )
    bad = tessera("app", "validate", str(broken), "--json", code=1)
    [issue] = json.loads(bad.output)["issues"]
    assert issue["file"].endswith("broken/objects.yaml") and issue["line"] == 6


def test_pack_then_install_the_archive(tessera, tmp_path):
    archive = tmp_path / "fleet.tpack"
    packed = tessera("app", "pack", str(PACKS / "fleet_v1"), "-o", str(archive), "--json")
    assert json.loads(packed.output) == {
        "archive": str(archive),
        "name": "acme_fleet",
        "version": "1.0.0",
    }
    tessera("tenant", "create", "garage")
    plan = tessera("app", "install", str(archive), "--tenant", "garage", "--dry-run", "--json")
    body = json.loads(plan.output)
    assert body["applied"] is False and [p["to"] for p in body["packs"]] == ["1.0.0", "1.0.0"]
    assert json.loads(tessera("app", "list", "--tenant", "garage", "--json").output)[0][
        "status"
    ] == ("available")

    shown = tessera("app", "install", str(archive), "--tenant", "garage", "--yes", "--sample-data")
    assert "Plan for tenant garage: install base 1.0.0; install acme_fleet 1.0.0" in shown.output
    assert "CREATE TABLE" in shown.output
    assert "Done: install base 1.0.0; install acme_fleet 1.0.0" in shown.output
    assert "acme_fleet: 1 sample records in 1 objects" in shown.output

    rows = json.loads(tessera("app", "list", "--tenant", "garage", "--json").output)
    assert {(r["name"], r["installed"], r["status"]) for r in rows} == {
        ("acme_fleet", "1.0.0", "installed"),
        ("base", "1.0.0", "installed"),
    }

    upgraded = tessera(
        "app", "upgrade", str(PACKS / "fleet_v2"), "--tenant", "garage", "--yes", "--no-sql"
    )
    assert "upgrade acme_fleet 1.0.0 → 2.0.0" in upgraded.output
    assert "Rename field acme_vehicle.colour to acme_vehicle.color (values kept)" in upgraded.output

    refused = tessera("app", "uninstall", "base", "--tenant", "garage", "--yes", code=1)
    assert "acme_fleet 2.0.0 depends on base ^1.0; uninstall acme_fleet first" in refused.output
    gone = tessera("app", "uninstall", "acme_fleet", "--tenant", "garage", "--yes", "--json")
    assert json.loads(gone.output)["data"] == [
        "archives (kept for a reinstall): 0 rows of account.acme_fleet_size",
        "archives (kept for a reinstall): 1 row of acme_vehicle",
    ]


def test_validate_reports_every_problem_at_once_with_unsatisfiable_dependencies(tessera, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(PACKS / "fleet_v1", broken)
    manifest = broken / "pack.yaml"
    text = manifest.read_text(encoding="utf-8")
    text = text.replace("label: {en: Fleet, zh-CN: 车队}", "label: {en: Fleet}")
    text = text.replace("dependencies: {base: ^1.0}", "dependencies: {base: ^9.0, nosuch: ^2.0}")
    manifest.write_text(text, encoding="utf-8")
    result = tessera("app", "validate", str(broken), "--json", code=1)
    issues = json.loads(result.stdout)["issues"]
    by_pointer = {i["pointer"]: i for i in issues}
    assert by_pointer["/label"]["message"] == "this mapping is missing 'zh-CN'"
    assert "the catalog has base 1.0.0" in by_pointer["/dependencies/base"]["message"]
    nosuch = by_pointer["/dependencies/nosuch"]
    assert "no pack in the catalog is named nosuch" in nosuch["message"]
    assert nosuch["file"].endswith("pack.yaml") and nosuch["line"] == 8
