"""The tessera command line (both backends): tables for people, JSON for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from metadata.json_schema import SCHEMA_PATH
from metadata.source import load_file
from runtime.cli.main import cli

ROOT = Path(__file__).parents[3]
DEMO = ROOT / "apps" / "demo_crm" / "metadata.yaml"
BAD = ROOT / "tests" / "fixtures" / "metadata" / "bad_crm.yaml"


@pytest.fixture
def tessera(database_url):
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


@pytest.fixture
def changed_demo(tmp_path) -> Path:
    """The demo metadata plus a field, a rename and a type change."""
    document = load_file(DEMO).data  # YAML 1.2, as Tessera reads it: `on` stays a key
    fields = document["objects"]["account"]["fields"]
    fields["tax_id"] = {
        "type": "text",
        "max_length": 32,
        "label": {"en": "Tax ID", "zh-CN": "税号"},
    }
    contact = document["objects"]["contact"]
    contact["fields"] = {
        ("job_title" if name == "title" else name): (
            {**field, "renamed_from": "title"} if name == "title" else field
        )
        for name, field in contact["fields"].items()
    }
    fields["employees"] = {**fields["employees"], "type": "decimal", "precision": 22}
    path = tmp_path / "crm.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_tenant_commands(tessera):
    created = json.loads(
        tessera("tenant", "create", "acme", "--timezone", "Asia/Shanghai", "--json").output
    )
    assert created["tenant"]["timezone"] == "Asia/Shanghai"
    assert "no members yet" in created["hint"] and "--tenant-admin" in created["hint"]
    assert "acme" in tessera("tenant", "list").output
    assert [t["name"] for t in json.loads(tessera("tenant", "list", "--json").output)] == ["acme"]
    failed = tessera("tenant", "create", "acme", code=1)
    assert "already exists" in failed.output
    tessera("tenant", "delete", "acme", "--yes")
    assert json.loads(tessera("tenant", "list", "--json").output) == []
    # An empty store says where it looked, so a wrong data folder is not a mystery.
    assert "No tenants yet in " in tessera("tenant", "list").output


def test_delete_asks_first(tessera, database_url):
    tessera("tenant", "create", "acme")
    aborted = CliRunner().invoke(
        cli, ["--database-url", database_url, "tenant", "delete", "acme"], input="n\n"
    )
    assert aborted.exit_code == 1 and "Aborted" in aborted.output
    assert "acme" in tessera("tenant", "list").output


def test_validate_reports_every_error_with_its_line(tessera):
    assert "is valid: 5 object(s)" in tessera("metadata", "validate", str(DEMO)).output
    result = tessera("metadata", "validate", str(BAD), code=1)
    assert result.output.count("error ") == 18
    assert "bad_crm.yaml:6:42 /objects/account/fields/name/max_lenght" in result.output
    report = json.loads(tessera("metadata", "validate", str(BAD), "--json", code=1).output)
    assert len(report["issues"]) == 18 and report["issues"][0]["line"] == 6


def test_plan_apply_history(tessera, changed_demo):
    tessera("tenant", "create", "acme", "--metadata", str(DEMO))
    plan = tessera("metadata", "plan", "acme", str(changed_demo)).output
    assert "version 1 → 2" in plan
    assert "Add text field account.tax_id" in plan and "ADD COLUMN tax_id" in plan
    assert "Rename field contact.title to contact.job_title" in plan
    assert "type integer → decimal" in plan
    assert "Nothing blocks this plan" in plan
    as_json = json.loads(tessera("metadata", "plan", "acme", str(changed_demo), "--json").output)
    assert [op["op"] for op in as_json["operations"]] == [
        "rename_field",
        "add_field",
        "alter_field",
    ]

    applied = tessera("metadata", "apply", "acme", str(changed_demo), "-m", "tax ids").output
    assert "Applied version 2" in applied
    history = tessera("metadata", "history", "acme").output
    assert "2 (active)" in history and "tax ids" in history
    versions = json.loads(tessera("metadata", "history", "acme", "--json").output)
    assert [(v["number"], v["active"]) for v in versions] == [(1, False), (2, True)]
    again = tessera("metadata", "apply", "acme", str(changed_demo)).output
    assert "No changes" in again

    shown = json.loads(tessera("metadata", "show", "acme").output)
    assert "tax_id" in shown["objects"]["account"]["fields"]
    first = json.loads(tessera("metadata", "show", "acme", "--version", "1").output)
    assert "tax_id" not in first["objects"]["account"]["fields"]


def test_destructive_apply_needs_the_flag_and_archives(tessera, tmp_path):
    tessera("tenant", "create", "acme", "--metadata", str(DEMO))
    document = load_file(DEMO).data  # YAML 1.2, as Tessera reads it: `on` stays a key
    del document["objects"]["account"]["fields"]["phone"]
    document["objects"]["account"]["search"].remove("phone")
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(
        yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    blocked = tessera("metadata", "plan", "acme", str(smaller), code=1).output
    assert "(destructive)" in blocked and "would stop this apply" in blocked
    refused = tessera("metadata", "apply", "acme", str(smaller), code=1).output
    assert "destructive" in refused and "/objects/account/fields/phone" in refused
    tessera("metadata", "apply", "acme", str(smaller), "--allow-destructive")
    archives = json.loads(tessera("metadata", "archives", "acme", "--json").output)
    assert [a["name"] for a in archives] == ["_archive_v2__account__phone"]
    assert "_archive_v2__account__phone" in tessera("metadata", "archives", "acme").output
    tessera("metadata", "purge", "acme", "--all", "--yes")
    assert json.loads(tessera("metadata", "archives", "acme", "--json").output) == []


def test_unknown_tenant_is_a_clear_error(tessera):
    result = tessera("metadata", "history", "nobody", code=1)
    assert "tenant 'nobody' does not exist" in result.output


def test_schema_command_prints_the_committed_schema(tessera):
    assert tessera("metadata", "schema").output == SCHEMA_PATH.read_text(encoding="utf-8")


def test_admin_create_bootstraps_a_platform_admin_once(tessera, monkeypatch):
    email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    monkeypatch.setenv("BOOTSTRAP_PW", "a-long-bootstrap-password")
    made = json.loads(
        tessera("admin", "create", email, "--password-env", "BOOTSTRAP_PW", "--json").output
    )
    assert made["created"] is True and made["user"]["platform_admin"] is True
    again = tessera("admin", "create", email, "--password-env", "BOOTSTRAP_PW", "--if-missing")
    assert "exists already; nothing changed" in again.output
    refused = tessera("admin", "create", email, "--password-env", "BOOTSTRAP_PW", code=1)
    assert "already exists" in refused.output
    monkeypatch.setenv("EMPTY_PW", "")
    empty = tessera("admin", "create", f"x{email}", "--password-env", "EMPTY_PW", code=1)
    assert "EMPTY_PW is empty" in empty.output


def test_settings_shows_every_variable_and_hides_secrets(tessera, monkeypatch):
    monkeypatch.setenv("TESSERA_SECRET_KEY", "s" * 40)
    rows = json.loads(tessera("settings", "--json").output)
    by_name = {r["variable"]: r for r in rows}
    assert by_name["TESSERA_SECRET_KEY"] == {
        "variable": "TESSERA_SECRET_KEY",
        "value": "(set)",
        "from": "environment",
    }
    assert by_name["TESSERA_PORT"]["value"] == "8000"


def test_help_starts_without_the_database_graphql_or_pack_layers():
    """`tessera --help` is fast because it imports none of the heavy layers: checked by
    what is loaded, not by a clock (issue 17: ~0.13 s against ~1.5 s before)."""
    script = (
        "import sys\n"
        "from runtime.cli.main import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='tessera')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['sqlalchemy', 'graphql', 'alembic', 'jsonschema', 'litestar', 'celery']\n"
        "print('loaded:', [m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "tenant" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: []"


def test_the_schema_command_names_the_file_it_writes():
    assert SCHEMA_PATH.name in CliRunner().invoke(cli, ["metadata", "schema", "--help"]).output
