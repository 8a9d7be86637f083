"""Polymorphic lookups end to end, on both backends: an activity about an account or a
contact, written, read through a union with a selection per object, filtered by object,
id and the referred record, and hidden where the reader cannot see the record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect

from metadata.validation import validate_data
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.grants import effective, sets_of
from runtime.security.principal import Principal
from tests.runtime.graphql.conftest import Api

META = {
    "objects": {
        "account": {"fields": {"name": {"type": "text", "required": True}}},
        "contact": {"fields": {"last_name": {"type": "text", "required": True}}},
        "activity": {
            "fields": {
                "subject": {"type": "text", "required": True},
                "related_to": {"type": "polymorphic_lookup", "to": ["account", "contact"]},
            }
        },
    },
    "roles": {"rep": {"label": "Rep"}},
    "permission_sets": {
        "reps": {
            "label": "Reps",
            "roles": ["rep"],
            "objects": {
                "account": {"allow": ["read"], "access": "tenant"},
                "activity": {"allow": ["read", "create"], "access": "tenant"},
            },
        }
    },
}
READ = """{ activities(orderBy: {subject: ASC}) { nodes { subject relatedTo {
  __typename ... on Account { name } ... on Contact { lastName } } } } }"""


@pytest.fixture
def crm(service) -> tuple[Api, dict[str, str]]:
    service.create_tenant("poly")
    service.apply("poly", validate_data(META))
    api = Api(service, ActiveApis(service, SchemaCache()), tenant="poly")
    ids = {
        "acme": api('mutation { createAccount(input: {name: "华信"}) { id } }')["createAccount"][
            "id"
        ],
        "li": api('mutation { createContact(input: {lastName: "李"}) { id } }')["createContact"][
            "id"
        ],
    }
    create = "mutation($i: ActivityCreateInput!) { createActivity(input: $i) { id } }"
    for subject, ref in (
        ("A 拜访", ("account", "acme")),
        ("B 电话", ("contact", "li")),
        ("C 无", None),
    ):
        related = {"object": ref[0], "id": ids[ref[1]]} if ref else None
        api(create, {"i": {"subject": subject, "relatedTo": related}})
    return api, ids


def test_the_reference_is_two_columns(crm):
    api, _ = crm
    backend = api.service.backend
    with backend.read_tenant("poly") as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("activity", backend.schema("poly"))}
    assert {"related_to", "related_to__object"} <= columns


def test_each_object_is_selected_as_itself(crm):
    api, _ = crm
    assert api(READ)["activities"]["nodes"] == [
        {"subject": "A 拜访", "relatedTo": {"__typename": "Account", "name": "华信"}},
        {"subject": "B 电话", "relatedTo": {"__typename": "Contact", "lastName": "李"}},
        {"subject": "C 无", "relatedTo": None},
    ]


def test_filters_by_object_id_and_the_referred_record(crm):
    api, ids = crm

    def subjects(where: str) -> list[str]:
        query = f"{{ activities(filter: {where}) {{ nodes {{ subject }} }} }}"
        return sorted(n["subject"] for n in api(query)["activities"]["nodes"])

    assert subjects('{relatedTo: {object: {eq: "contact"}}}') == ["B 电话"]
    assert subjects(f'{{relatedTo: {{id: {{eq: "{ids["acme"]}"}}}}}}') == ["A 拜访"]
    assert subjects('{relatedTo: {account: {name: {eq: "华信"}}}}') == ["A 拜访"]
    assert subjects('{relatedTo: {contact: {lastName: {eq: "华信"}}}}') == []
    assert subjects("{relatedTo: {isNull: true}}") == ["C 无"]


def test_references_must_exist_and_name_a_declared_object(crm):
    api, ids = crm
    create = "mutation($i: ActivityCreateInput!) { createActivity(input: $i) { id } }"
    error = api.error(
        create, {"i": {"subject": "x", "relatedTo": {"object": "lead", "id": ids["acme"]}}}
    )
    assert error["extensions"]["code"] == "INVALID_VALUE"
    assert error["extensions"]["field"] == ["createActivity", "input", "relatedTo", "object"]
    error = api.error(
        create, {"i": {"subject": "x", "relatedTo": {"object": "contact", "id": ids["acme"]}}}
    )
    assert error["extensions"]["code"] == "REFERENCE_NOT_FOUND"
    assert error["extensions"]["field"] == ["createActivity", "input", "relatedTo"]


def test_a_reader_sees_only_the_objects_and_records_it_may(crm):
    api, _ = crm
    _, snapshot = api.service.active("poly")
    model = snapshot.model
    rep = Principal(
        "poly", None, "user:rep", effective(model, sets_of(model.security, "rep", ())), role="rep"
    )
    schema_api, timezone = api.apis.get("poly", rep.grants)
    union = schema_api.schema.get_type("ActivityRelatedTo")
    assert [t.name for t in union.types] == ["Account"]  # contacts are hidden from reps
    query = """{ activities(orderBy: {subject: ASC}) { nodes { subject relatedTo {
      __typename ... on Account { name } } } } }"""
    body = json.loads(
        run(schema_api, api.service.backend, Request("poly", rep, query, None, None, timezone))
    )
    assert body["data"]["activities"]["nodes"] == [
        {"subject": "A 拜访", "relatedTo": {"__typename": "Account", "name": "华信"}},
        {"subject": "B 电话", "relatedTo": None},
        {"subject": "C 无", "relatedTo": None},
    ]
