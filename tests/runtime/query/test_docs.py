"""docs/query.md's example runs against the demo CRM and answers what its GraphQL twin
answers, on both backends."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runtime.demo import DEMO_TENANT, set_up_demo
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.principal import Principal
from tests.runtime.query.conftest import scope_of

PAGE = Path(__file__).resolve().parents[3] / "docs" / "query.md"


def test_the_documented_report_reads_what_graphql_reads(service):
    page = PAGE.read_text(encoding="utf-8")
    python = re.search(r"```python\n(.*?)```", page, re.S).group(1)
    graphql = re.search(r"```graphql\n(.*?)```", page, re.S).group(1)
    namespace: dict = {}
    exec(compile(python, str(PAGE), "exec"), namespace)
    set_up_demo(service)
    apis = ActiveApis(service, SchemaCache())
    who = Principal.system(DEMO_TENANT)
    api, timezone = apis.get(DEMO_TENANT, who.grants)
    backend = service.backend
    scope = scope_of(service, apis, DEMO_TENANT, who)
    with backend.read_tenant(DEMO_TENANT) as conn:
        biggest, by_stage = namespace["open_pipeline"](conn, scope)
    answer = json.loads(run(api, backend, Request(DEMO_TENANT, who, graphql, None, None, timezone)))
    assert answer["data"]["opportunities"] == biggest
    assert biggest["total"] == len(biggest["deals"]) > 0
    stages = {row["stage"]["stage"] for row in by_stage}
    assert stages and not stages & {"closed_won", "closed_lost"}
    assert sum(row["deals"] for row in by_stage) == biggest["total"]
