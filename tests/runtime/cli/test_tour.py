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


def test_the_readme_graphql_examples(service):
    """Every curl example in the README answers without errors on the demo tenant."""
    import re
    import shlex

    from runtime.demo import set_up_demo
    from tests.conftest import admin_client

    set_up_demo(service)
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [
        c for c in re.findall(r"^curl .*?(?=\n\n|\n```)", readme, re.S | re.M) if "/graphql" in c
    ]
    assert len(commands) == 4
    with admin_client(service) as client:
        for command in commands:
            words = shlex.split(command.split("|")[0])
            if "--data-urlencode" in words:
                query = words[words.index("--data-urlencode") + 1].removeprefix("query=")
                response = client.get("/t/demo/graphql", params={"query": query})
            else:
                response = client.post(
                    "/t/demo/graphql",
                    content=words[words.index("-d") + 1],
                    headers={"content-type": "application/json"},
                )
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            assert all(value for value in body["data"].values())
