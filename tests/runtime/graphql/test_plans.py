"""Kept plans (runtime/graphql/plans.py): a query asked again runs without being compiled,
and a plan is never reused by a reader whose row predicate or field mask differs."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.grants import FULL, effective, sets_of
from runtime.security.principal import Principal
from runtime.storage.records import insert_records

META = """
objects:
  shop:
    fields:
      name: {type: text, required: true}
      secret: {type: text}
roles:
  boss: {}
  rep: {}
  intern: {}
permission_sets:
  everything:
    roles: [boss]
    objects:
      shop: {allow: [read], access: tenant}
  own_only:
    roles: [rep]
    objects:
      shop: {allow: [read], access: own}
  no_secrets:
    roles: [intern]
    objects:
      shop: {allow: [read], access: tenant, fields: {secret: none}}
"""
TENANT = "plans"
QUERY = "{ shops(orderBy: [{name: ASC}]) { nodes { name } } }"
SECRET = "{ shops(orderBy: [{name: ASC}]) { nodes { name secret } } }"


@pytest.fixture
def shop(service):
    service.create_tenant(TENANT)
    metadata = validate_text(META)
    service.apply(TENANT, metadata)
    model = metadata.model
    ann, bob = uuid.uuid4(), uuid.uuid4()
    with service.backend.begin_tenant(TENANT) as conn:
        insert_records(
            conn,
            model,
            "shop",
            [
                {"name": "Ann's", "secret": "a", "owner": ann},
                {"name": "Bob's", "secret": "b", "owner": bob},
                {"name": "Nobody's", "secret": "n", "owner": None},
            ],
            schema=service.backend.schema(TENANT),
        )
    apis = ActiveApis(service, SchemaCache())

    def reader(user: uuid.UUID | None, role: str | None) -> Principal:
        grants = FULL if role is None else effective(model, sets_of(model.security, role, ()))
        return Principal(TENANT, user, f"user:{role}", grants, role=role, team=(user,) * bool(user))

    def ask(who: Principal, query: str = QUERY, variables: dict | None = None) -> dict:
        api, timezone = apis.get(TENANT, who.grants)
        text = run(api, service.backend, Request(TENANT, who, query, variables, None, timezone))
        return json.loads(text)

    return apis, reader, ask, ann, bob


def _names(body: dict) -> list[str]:
    assert "errors" not in body, body["errors"]
    return [s["name"] for s in body["data"]["shops"]["nodes"]]


def test_a_plan_is_never_reused_across_row_predicates(shop):
    apis, reader, ask, ann, bob = shop
    boss, ann_rep, bob_rep = reader(ann, "boss"), reader(ann, "rep"), reader(bob, "rep")
    for _ in range(2):  # the second round runs kept plans
        assert _names(ask(boss)) == ["Ann's", "Bob's", "Nobody's"]
        assert _names(ask(ann_rep)) == ["Ann's"]
        assert _names(ask(bob_rep)) == ["Bob's"]
    # The three see the same fields, so they share one API, and in it each has a plan.
    api, _ = apis.get(TENANT, ann_rep.grants)
    assert api is apis.get(TENANT, bob_rep.grants)[0] is apis.get(TENANT, boss.grants)[0]
    assert len(api.plans) == 3 and api.plans.hits == 3


def test_a_plan_is_never_reused_across_field_masks(shop):
    apis, reader, ask, ann, _ = shop
    boss, intern = reader(ann, "boss"), reader(ann, "intern")
    for _ in range(2):
        body = ask(boss, SECRET)
        assert [s["secret"] for s in body["data"]["shops"]["nodes"]] == ["a", "b", "n"]
        refused = ask(intern, SECRET)
        assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "secret" in refused["errors"][0]["message"]
        assert _names(ask(intern)) == ["Ann's", "Bob's", "Nobody's"]
    assert apis.get(TENANT, boss.grants)[0] is not apis.get(TENANT, intern.grants)[0]


def test_variables_are_part_of_a_plan(shop):
    _, reader, ask, ann, _ = shop
    boss = reader(ann, "boss")
    query = (
        "query($n: [String!]) { shops(filter: {name: {in: $n}}, orderBy: [{name: ASC}]) "
        "{ nodes { name } } }"
    )
    for _ in range(2):
        assert _names(ask(boss, query, {"n": ["Bob's"]})) == ["Bob's"]
        assert _names(ask(boss, query, {"n": ["Nobody's", "Ann's"]})) == ["Ann's", "Nobody's"]
        assert _names(ask(boss, query, {})) == ["Ann's", "Bob's", "Nobody's"]


def test_a_kept_plan_costs_no_compilation(shop, monkeypatch):
    _, reader, ask, ann, _ = shop
    boss = reader(ann, "boss")
    assert _names(ask(boss)) == ["Ann's", "Bob's", "Nobody's"]

    def refuse(*args, **kwargs):
        raise AssertionError("compiled again")

    monkeypatch.setattr("runtime.graphql.executor.compile_root", refuse)
    monkeypatch.setattr("runtime.graphql.executor.get_variable_values", refuse)
    assert _names(ask(boss)) == ["Ann's", "Bob's", "Nobody's"]


def test_large_one_off_requests_are_answered_but_not_kept(shop):
    apis, reader, ask, ann, _ = shop
    boss = reader(ann, "boss")
    query = (
        "query($n: [String!]) { shops(filter: {name: {in: $n}}, orderBy: [{name: ASC}]) "
        "{ nodes { name } } }"
    )
    many = [f"a shop that is not there, no. {i:05d}" for i in range(900)] + ["Bob's"]  # ~35 KB
    assert _names(ask(boss, query, {"n": many})) == ["Bob's"]
    assert _names(ask(boss, query, {"n": ["Ann's"]})) == ["Ann's"]
    assert len(apis.get(TENANT, boss.grants)[0].plans) == 1  # the small one only


def test_a_huge_document_is_answered_but_not_kept(shop):
    apis, reader, ask, ann, _ = shop
    boss = reader(ann, "boss")
    padding = " " * 70_000  # insignificant whitespace: still a valid document
    assert _names(ask(boss, QUERY + padding)) == ["Ann's", "Bob's", "Nobody's"]
    api = apis.get(TENANT, boss.grants)[0]
    assert len(api.plans) == 0
    assert QUERY + padding not in api._documents


def test_readers_asking_at_once_each_get_their_own_rows(shop):
    """Plans are filled and read by many request threads at once: every answer must be
    its own reader's, whichever thread kept the plan first."""
    _, reader, ask, ann, bob = shop
    readers = [(reader(ann, "rep"), ["Ann's"]), (reader(bob, "rep"), ["Bob's"])]
    readers.append((reader(ann, "boss"), ["Ann's", "Bob's", "Nobody's"]))
    start = threading.Barrier(6)
    wrong: list[object] = []

    def work(who: Principal, expected: list[str]) -> None:
        start.wait()
        for _ in range(15):
            got = _names(ask(who, QUERY))
            if got != expected:
                wrong.append((who.role, got))

    threads = [threading.Thread(target=work, args=pair) for pair in readers * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
