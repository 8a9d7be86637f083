"""The README's five-minute tour works, step by step, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from runtime.cli.main import cli

ROOT = Path(__file__).parents[3]


def run(database_url: str, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(
        cli, ["--database-url", database_url, *args], catch_exceptions=False
    )
    assert result.exit_code == code, result.output
    return result.output


def test_the_readme_tour(database_url, monkeypatch):
    monkeypatch.chdir(ROOT)
    first = run(database_url, "demo", "--no-serve")
    assert (
        "Created tenant 'demo'" in first and "Seeded 5 account, 7 contact, 6 opportunity" in first
    )
    assert "demo" in run(database_url, "tenant", "list")
    plan = run(database_url, "metadata", "plan", "demo", "docs/examples/crm_v2.yaml")
    assert "Rename field contact.title to contact.job_title" in plan
    assert "Add currency field account.credit_limit" in plan
    assert "Nothing blocks this plan" in plan
    run(database_url, "metadata", "apply", "demo", "docs/examples/crm_v2.yaml", "-m", "v2")
    history = json.loads(run(database_url, "metadata", "history", "demo", "--json"))
    assert [v["number"] for v in history] == [1, 2]
    back = run(database_url, "metadata", "plan", "demo", "apps/demo_crm/metadata.yaml", code=1)
    assert "(destructive)" in back
    assert "error" in run(
        database_url, "metadata", "validate", "tests/fixtures/metadata/bad_crm.yaml", code=1
    )
    # Running the demo again keeps the tour's version instead of failing or undoing it.
    again = run(database_url, "demo", "--no-serve")
    assert "changes of its own (version 2)" in again
