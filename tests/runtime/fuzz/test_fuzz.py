"""Fuzzing in the suite, on both backends, over the demo tenants.

- Schemathesis against the admin API's OpenAPI document, as a platform admin: no 5xx,
  and every answer (status, content type, body) is one the document declares.
- Schemathesis (hypothesis-graphql) against each demo tenant's GraphQL endpoint: every
  root field, queries and mutations, with filters, orderings, cursors and inputs
  generated from the schema the signed-in member sees (an admin's whole schema and a
  sales rep's trimmed one). No answer may be a 5xx or a GraphQL error the server did not
  mean: INTERNAL_SERVER_ERROR is the sign of a database or code error reaching the client.
- Cursors crafted from JSON of every shape, against each kind of sort key.

Seeded (derandomized), so CI repeats the same cases; docs/security.md gives the numbers.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.runtime.fuzz.conftest import TENANTS, FuzzWorld, examples

CASES = examples(2)

# Tessera's own scalars, each with the edge values that broke servers before: numbers no
# column holds, malformed dates, odd JSON.
schemathesis.graphql.scalar(
    "BigInt",
    st.one_of(st.integers(-(2**70), 2**70).map(nodes.Int), st.text(max_size=8).map(nodes.String)),
)
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(nodes.String),
        st.sampled_from(["1e1000000", "-1e400", "NaN", "Infinity", "0.001", "", "x"]).map(
            nodes.String
        ),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
    ),
)
schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(nodes.String), st.text(max_size=12).map(nodes.String)),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda d: nodes.String(d.isoformat())),
        st.text(max_size=25).map(nodes.String),
    ),
)
schemathesis.graphql.scalar(
    "Time",
    st.one_of(st.times().map(nodes.String), st.text(max_size=8).map(nodes.String)),
)
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.text(max_size=20).map(nodes.String),
        st.integers().map(nodes.Int),
        st.booleans().map(nodes.Boolean),
    ),
)


#: The pack demos share core_crm: its fields are fuzzed in the first one, and each other
#: pack tenant's run covers the fields its own pack adds (keeps the suite fast).
_SHARED = {"demo_auto": "demo_manufacturing", "demo_education": "demo_manufacturing"}
#: In the pack tenants, every query field and the single-record writes; the demo CRM
#: covers every kind of mutation (bulk, delete, restore, share, transfer), which run the
#: same code whatever the object.
_PACK_MUTATIONS = re.compile(r"^Mutation\.(create|update|upsert)[A-Z]")


def _wanted(tenant: str, label: str) -> bool:
    if tenant == "demo" or not label.startswith("Mutation."):
        return True
    name = label.removeprefix("Mutation.")
    return bool(_PACK_MUTATIONS.match(label)) and not name.endswith("s")


def _labels(world: FuzzWorld, tenant: str, who: str) -> set[str]:
    path = f"/t/{tenant}/graphql"
    schema = schemathesis.graphql.from_asgi(path, world.app, headers=world.members[tenant, who])
    return {result.ok().label for result in schema.get_all_operations()}


def _try(operation: Any, cases: int, check: Any) -> str | None:
    """Run ``check`` on ``cases`` seeded cases of one schemathesis operation; return the
    failure (shrunk by hypothesis) as text, or None. Every operation is tried, so one
    run reports all failures."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=cases,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        check(case)

    try:
        run()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # schemathesis raises exception groups
        return f"{type(exc).__name__}: {exc}"[:3000]
    return None


def _fuzz(world: FuzzWorld, tenant: str, who: str) -> tuple[int, dict[str, str]]:
    headers = world.members[tenant, who]
    path = f"/t/{tenant}/graphql"
    schema = schemathesis.graphql.from_asgi(path, world.app, headers=headers)
    seen = _labels(world, _SHARED[tenant], who) if tenant in _SHARED else set()
    failures: dict[str, str] = {}
    fields = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in seen or not _wanted(tenant, operation.label):
            continue
        fields += 1

        def check(case):
            response = case.call(headers=headers)
            assert response.status_code < 500, response.text
            body = json.loads(response.content)
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or ()}
            assert "INTERNAL_SERVER_ERROR" not in codes, (case.body, response.text[:2000])
            assert "data" in body or body.get("errors"), response.text[:2000]

        problem = _try(operation, CASES, check)
        if problem:
            failures[f"{tenant} as {who}: {operation.label}"] = problem
    return fields, failures


def test_graphql_answers_every_generated_request(fuzz_world: FuzzWorld):
    """The demo CRM, on both backends, as its admin and as a sales rep (a trimmed schema):
    every kind of query and mutation."""
    fields, failures = _fuzz(fuzz_world, "demo", "admin")
    more, also = _fuzz(fuzz_world, "demo", "rep")
    assert fields + more > 40
    assert not failures | also, "\n\n".join(f"{k}\n{v}" for k, v in (failures | also).items())


@pytest.mark.parametrize("fuzz_world", ["sqlite"], indirect=True)
@pytest.mark.parametrize("tenant", TENANTS[1:])
def test_pack_graphql_answers_every_generated_request(fuzz_world: FuzzWorld, tenant: str):
    """Each pack demo as its admin, who sees the pack's own objects. On the embedded
    backend only: the code paths are the demo CRM's, which runs on both, and the suite's
    time budget is better spent there."""
    fields, failures = _fuzz(fuzz_world, tenant, "admin")
    assert fields > 10
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


OPENAPI_CASES = examples(12)
#: What the issue asks of every answer: no 5xx, and nothing the document does not declare.
#: (Not "schema-valid data is accepted": the document cannot state every rule, such as a
#: tenant name's pattern or that NUL is refused, so that check would fail by design.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_admin_api_answers_every_input_as_documented(fuzz_world: FuzzWorld):
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_world.app)
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        def check(case):
            # /ready answers 503 by design when a part is down (documented as such).
            ready = case.operation.path == "/ready"
            case.call_and_validate(headers=fuzz_world.root, checks=CHECKS[1:] if ready else CHECKS)

        problem = _try(operation, OPENAPI_CASES, check)
        if problem:
            failures[operation.label] = problem
    assert operations > 40
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(["2024-02-30", "2024-01-31T09:00:00Z", "12:30", str(uuid.uuid4()), "1e9"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
_ORDERINGS = [
    None,
    [{"name": "ASC"}],
    [{"employees": "DESC"}],
    [{"annualRevenue": "ASC"}],
    [{"openPipeline": "DESC"}],
    [{"createdAt": "ASC"}, {"rating": "DESC"}],
]


def test_crafted_cursors_are_refused_cleanly(fuzz_world: FuzzWorld):
    headers = fuzz_world.members["demo", "admin"]
    query = (
        "query($c: String, $o: [AccountOrderBy!]) "
        "{ accounts(after: $c, orderBy: $o, first: 2) { nodes { id } } }"
    )
    with TestClient(fuzz_world.app) as client:

        @given(
            cursor=st.one_of(
                st.lists(_JSON, min_size=1, max_size=4).map(json.dumps), st.text(max_size=20)
            ),
            order=st.sampled_from(_ORDERINGS),
        )
        @settings(max_examples=examples(60), derandomize=True, deadline=None, database=None)
        def call(cursor, order):
            response = client.post(
                "/t/demo/graphql",
                json={"query": query, "variables": {"c": cursor, "o": order}},
                headers=headers,
            )
            if response.status_code == 400:  # NUL: refused at the input boundary
                assert "NUL" in response.json()["detail"], response.text
                return
            assert response.status_code == 200, response.text
            body = response.json()
            codes = {e["extensions"]["code"] for e in body.get("errors") or ()}
            assert codes <= {"INVALID_CURSOR", "GRAPHQL_VALIDATION_FAILED"}, (cursor, order, body)

        call()
