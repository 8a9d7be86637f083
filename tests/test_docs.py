"""Examples in the docs run: metadata examples validate, `# invalid` ones fail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from metadata.errors import MetadataError
from metadata.validation import validate_text

DOCS = Path(__file__).parents[1] / "docs"
BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def yaml_examples():
    for page in sorted(DOCS.glob("*.md")):
        for number, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), 1):
            if "objects:" in block:
                yield pytest.param(block, id=f"{page.stem}-{number}")


@pytest.mark.parametrize("text", list(yaml_examples()))
def test_metadata_examples(text):
    if text.startswith("# invalid"):
        with pytest.raises(MetadataError) as caught:
            validate_text(text)
        assert caught.value.errors
    else:
        result = validate_text(text)
        assert result.model.objects


def test_every_cli_command_is_documented():
    from runtime.cli.main import cli

    page = (DOCS / "cli.md").read_text(encoding="utf-8")

    def commands(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from commands(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    missing = [c for c in commands(cli, "tessera ") if f"`{c}" not in page]
    assert missing == []


GRAPHQL_BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


def graphql_examples():
    page = (DOCS / "graphql.md").read_text(encoding="utf-8")
    for number, block in enumerate(GRAPHQL_BLOCK.findall(page), 1):
        yield pytest.param(block, id=f"graphql-{number}")


@pytest.mark.parametrize("query", list(graphql_examples()))
def test_graphql_examples_run_on_the_demo(query, service):
    from runtime.demo import set_up_demo
    from runtime.graphql.cache import ActiveApis, SchemaCache
    from runtime.graphql.executor import Request, run
    from runtime.security.principal import Principal

    set_up_demo(service)
    api, timezone = ActiveApis(service, SchemaCache()).get("demo")
    request = Request("demo", Principal.system("demo"), query, None, None, timezone)
    body = json.loads(run(api, service.backend, request))
    assert "errors" not in body, body["errors"]
    assert body["data"] and all(value is not None for value in body["data"].values())


def test_expression_examples_check_against_the_demo():
    from metadata.expressions import FUNCTIONS, check
    from metadata.validation import validate_file
    from runtime.demo import DEMO_DIR

    page = (DOCS / "expressions.md").read_text(encoding="utf-8")
    model = validate_file(DEMO_DIR / "metadata.yaml").model
    [block] = re.findall(r"```expr\n(.*?)```", page, re.S)
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) >= 5
    for text in examples:
        check(text, model, "opportunity")
    undocumented = [name for name in FUNCTIONS if f"`{name}(" not in page]
    assert undocumented == []
