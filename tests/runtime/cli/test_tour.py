"""The README's five-minute tour works, step by step, on both backends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from runtime.cli.main import cli
from runtime.model.active import ActiveModels

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
    assert "(permissions" not in plan  # version 2 keeps the demo's roles and sets
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
    """The README's sign-in works, and every curl example with its token answers on the demo
    tenant without errors; the rep it mentions sees only their own records."""
    import re
    import shlex

    from litestar.testing import TestClient

    from runtime.demo import set_up_demo
    from runtime.server.app import create_app

    app = create_app(service=service)
    readme = (ROOT / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    [login] = re.findall(r"curl -s localhost:8000/auth/login .*?-d '([^']*)'", readme)
    commands = [
        c for c in re.findall(r"^curl .*?(?=\n\n|\n```)", readme, re.S | re.M) if "/graphql" in c
    ]
    assert len(commands) == 5
    with TestClient(app) as client:
        set_up_demo(service, identity=app.state.identity)
        signed_in = client.post("/auth/login", content=login)
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        for command in commands:
            words = shlex.split(command.split("|")[0].replace("$TOKEN", token))
            headers = dict(
                tuple(part.strip() for part in words[i + 1].split(":", 1))
                for i, word in enumerate(words)
                if word == "-H"
            )
            assert headers["authorization"] == f"Bearer {token}", command
            if "workflowRuns" in command:
                win_a_deal_and_run_workflows(client, service, app, headers)
            if "--data-urlencode" in words:
                query = words[words.index("--data-urlencode") + 1].removeprefix("query=")
                response = client.get("/t/demo/graphql", params={"query": query}, headers=headers)
            else:
                response = client.post(
                    "/t/demo/graphql", content=words[words.index("-d") + 1], headers=headers
                )
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            assert all(value for value in body["data"].values())

        as_rep = client.post("/auth/login", content=login.replace("admin@demo", "rep@demo")).json()[
            "access_token"
        ]
        rep = {"authorization": f"Bearer {as_rep}"}
        query = '{ accounts { nodes { name } } __type(name: "Mutation") { fields { name } } }'
        data = client.get("/t/demo/graphql", params={"query": query}, headers=rep).json()["data"]
        assert sorted(n["name"] for n in data["accounts"]["nodes"]) == [
            "华信精密制造有限公司",
            "华信精密（苏州）分公司",
        ]
        mutations = {f["name"] for f in data["__type"]["fields"]}
        assert "createAccount" in mutations and "deleteAccount" not in mutations


def win_a_deal_and_run_workflows(client: Any, service: Any, app: Any, headers: dict) -> None:
    """Do what the README says before its workflow query: win a deal, and let the
    workflows run (in-process here, as the worker `make demo` starts would)."""
    from runtime.settings import WorkflowSettings
    from runtime.workflows.engine import Engine

    query = '{ opportunities(filter: {stage: {eq: "qualification"}}) { nodes { id } } }'
    deals = client.get("/t/demo/graphql", params={"query": query}, headers=headers).json()
    deal = deals["data"]["opportunities"]["nodes"][0]["id"]
    won = client.post(
        "/t/demo/graphql",
        json={
            "query": "mutation($id: ID!) { updateOpportunity(id: $id, "
            'input: {stage: "closed_won"}) { id } }',
            "variables": {"id": deal},
        },
        headers=headers,
    ).json()
    assert "errors" not in won, won
    engine = Engine(
        service,
        ActiveModels(service),
        app.state.identity,
        WorkflowSettings(broker_url="memory://"),
        lambda tenant, countdown: None,
    )
    assert engine.dispatch("demo") == 1
    assert engine.work("demo").statuses == {"succeeded": 1}


def test_the_readme_pack_tour(database_url, monkeypatch):
    """Every command of the README's "Industry packs" block runs as its comments say."""
    import re
    import shlex

    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Industry packs", 1)[1]
    [block] = re.findall(r"```sh\n(.*?)```", section.split("## ", 1)[0], re.S)
    run(database_url, "demo", "--no-serve")
    refused_next = False
    outputs = []
    for line in block.splitlines():
        if line.startswith("#"):
            refused_next = line.startswith("# Refused")
            continue
        words = shlex.split(line)
        assert words[0] == "tessera"
        outputs.append(run(database_url, *words[1:], code=1 if refused_next else 0))
    listed, _, plan, installed, refused, uninstalled, reinstalled = outputs
    assert re.search(r"auto_dealer +│ 1.1.0 +│ installed 1.1.0", listed), listed
    assert "install core_crm 1.3.0; install auto_dealer 1.1.0" in plan
    assert "auto_dealer: 24 sample records in 14 objects" in installed, installed
    assert "auto_dealer 1.1.0 depends on core_crm ^1.0; uninstall auto_dealer first" in refused
    assert "archives (kept for a reinstall)" in uninstalled
    assert "restored" in reinstalled
