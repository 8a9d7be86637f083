"""Mutations: single and bulk writes, upsert, soft delete, concurrency and errors."""

from __future__ import annotations

import pytest

from runtime.limits import Limits
from tests.runtime.graphql.conftest import names

CREATE = """mutation($input: AccountCreateInput!) {
  createAccount(input: $input) { id name rating annualRevenue { amount currencyCode } rowVersion
    parent { name } } }"""


def account_id(api, name: str) -> str:
    data = api(
        "query($n: String) { accounts(filter: {name: {eq: $n}}) { nodes { id } } }", {"n": name}
    )
    return data["accounts"]["nodes"][0]["id"]


def test_create_fills_defaults_and_returns_the_selection(api):
    parent = account_id(api, "Northwind Motors")
    created = api(
        CREATE,
        {"input": {"name": "Contoso", "annualRevenue": {"amount": "12.5"}, "parentId": parent}},
    )["createAccount"]
    assert created["name"] == "Contoso" and created["rating"] == "warm"  # the field's default
    assert created["annualRevenue"] == {"amount": "12.50", "currencyCode": "CNY"}
    assert created["rowVersion"] == 1 and created["parent"] == {"name": "Northwind Motors"}
    again = api("query($id: ID!) { account(id: $id) { name } }", {"id": created["id"]})
    assert again["account"] == {"name": "Contoso"}


def test_auto_numbers_are_assigned_on_create(api):
    account = account_id(api, "兰亭教育科技")
    made = api(
        """mutation($a: ID!) { createOpportunities(inputs: [{name: "A", accountId: $a},
             {name: "B", accountId: $a}]) { number stage } }""",
        {"a": account},
    )["createOpportunities"]
    first, second = (int(o["number"].rsplit("-", 1)[1]) for o in made)
    assert second == first + 1 and made[0]["stage"] == "prospecting"


def test_update_with_row_version_and_stale_writes(api):
    target = account_id(api, "金桥零售连锁")
    update = """mutation($id: ID!, $v: Int, $input: AccountUpdateInput!) {
      updateAccount(id: $id, rowVersion: $v, input: $input) { name employees rowVersion } }"""
    data = api(update, {"id": target, "v": 1, "input": {"employees": 5300}})
    assert data["updateAccount"] == {"name": "金桥零售连锁", "employees": 5300, "rowVersion": 2}
    error = api.error(update, {"id": target, "v": 1, "input": {"employees": 1}})
    assert error["extensions"]["code"] == "STALE_ROW_VERSION"
    assert error["extensions"]["field"] == ["updateAccount", "rowVersion"]
    assert "rowVersion is now 2" in error["message"]
    # Without a rowVersion the write is unconditional; null clears an optional field.
    data = api(update, {"id": target, "input": {"employees": None}})
    assert data["updateAccount"]["employees"] is None and data["updateAccount"]["rowVersion"] == 3


def test_soft_delete_hides_the_record_until_restored(api):
    target = api('mutation { createAccount(input: {name: "Temp"}) { id } }')["createAccount"]["id"]
    api(
        'mutation($a: ID!) { createContact(input: {lastName: "Tan", accountId: $a}) { id } }',
        {"a": target},
    )
    deleted = api(
        "mutation($id: ID!) { deleteAccount(id: $id) { name rowVersion } }", {"id": target}
    )["deleteAccount"]
    assert deleted == {"name": "Temp", "rowVersion": 2}
    assert api("{ accounts { totalCount } }")["accounts"]["totalCount"] == 5
    assert api("query($id: ID!) { account(id: $id) { id } }", {"id": target})["account"] is None
    shown = api(
        "query($id: ID!) { account(id: $id, includeDeleted: true) { name } "
        "accounts(includeDeleted: true) { totalCount } }",
        {"id": target},
    )
    assert shown["account"] == {"name": "Temp"} and shown["accounts"]["totalCount"] == 6
    # The deleted account's contact no longer sees it through the relation.
    contact = api(
        '{ contacts(filter: {lastName: {eq: "Tan"}}) { nodes { account { name } accountId } } }'
    )
    assert contact["contacts"]["nodes"] == [{"account": None, "accountId": target}]
    # Asked from the account's side, a contact's lookup back to its account reuses the
    # account's row (no subquery): a deleted one still reads as null there...
    nested = api(
        "query($id: ID!) { account(id: $id, includeDeleted: true) { contacts "
        "{ account { name } } } accounts(includeDeleted: true, first: 100) { nodes "
        "{ name deletedAt contacts { account { name } } } } }",
        {"id": target},
    )
    assert nested["account"]["contacts"] == [{"account": None}]
    # ...and a live one as itself, on every contact.
    pairs = [
        (a["name"], a["deletedAt"], c["account"])
        for a in nested["accounts"]["nodes"]
        for c in a["contacts"]
    ]
    assert pairs and all(
        seen == (None if deleted else {"name": name}) for name, deleted, seen in pairs
    ), pairs
    error = api.error("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": target})
    assert error["extensions"]["code"] == "NOT_FOUND"
    restored = api("mutation($id: ID!) { restoreAccount(id: $id) { name } }", {"id": target})
    assert restored["restoreAccount"] == {"name": "Temp"}
    assert api("{ accounts { totalCount } }")["accounts"]["totalCount"] == 6


def test_delete_is_refused_while_restricting_references_live(api):
    # opportunity.account is on_delete: restrict
    target = account_id(api, "兰亭教育科技")
    error = api.error("mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": target})
    assert error["extensions"]["code"] == "DELETE_RESTRICTED"
    assert "opportunity.account" in error["message"]


@pytest.mark.parametrize(
    ("input_", "code", "field"),
    [
        ({"name": "x" * 256}, "VALUE_TOO_LONG", ["createAccount", "input", "name"]),
        (
            {"name": "A", "industry": "mining"},
            "INVALID_VALUE",
            ["createAccount", "input", "industry"],
        ),
        (
            {"name": "A", "website": "not a url"},
            "BAD_USER_INPUT",
            ["createAccount", "input", "website"],
        ),
        (
            {"name": "A", "annualRevenue": {"amount": "1.234"}},
            "INVALID_VALUE",
            ["createAccount", "input", "annualRevenue"],
        ),
        (
            {"name": "A", "annualRevenue": {"amount": "1", "currencyCode": "usd"}},
            "BAD_USER_INPUT",
            ["createAccount", "input", "annualRevenue", "currencyCode"],
        ),
        (
            {"name": "A", "parentId": "00000000-0000-7000-8000-000000000000"},
            "REFERENCE_NOT_FOUND",
            ["createAccount", "input", "parentId"],
        ),
    ],
)
def test_invalid_values_are_refused_with_code_and_field_path(api, input_, code, field):
    error = api.error(CREATE, {"input": input_})
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field
    assert error["path"] == ["createAccount"]
    assert api("{ accounts { totalCount } }")["accounts"]["totalCount"] == 5


def test_null_for_a_required_field_with_a_default_is_refused(api):
    account = account_id(api, "兰亭教育科技")
    error = api.error(
        'mutation($a: ID!) { createOpportunity(input: {name: "N", accountId: $a, stage: null}) '
        "{ id } }",
        {"a": account},
    )
    assert error["extensions"] == {
        "code": "REQUIRED",
        "field": ["createOpportunity", "input", "stage"],
        "messages": {
            "en": "stage is required and cannot be null",
            "zh-CN": "stage 为必填项，不能为空",
        },
    }


def test_graphql_type_errors_come_before_any_write(api):
    error = api.error(CREATE, {"input": {"industry": "retail"}})  # name is required
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "name" in error["message"]


def test_unique_violation_names_the_field_and_rolls_back_the_request(api):
    body = api.raw(
        """mutation { ok: createContact(input: {lastName: "新", email: "new@x.example.cn"}) { id }
           dup: createContact(input: {lastName: "王", email: "wang.wei@huaxin.example.cn"}) { id } }"""
    )
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNIQUE_VIOLATION"
    assert error["extensions"]["field"] == ["dup", "input", "email"]
    # The first mutation of the request was rolled back with the second.
    assert (
        api('{ contacts(filter: {lastName: {eq: "新"}}) { totalCount } }')["contacts"]["totalCount"]
        == 0
    )


def test_deleting_frees_a_unique_value(api):
    wang = api('{ contacts(filter: {lastName: {eq: "王"}}) { nodes { id } } }')["contacts"][
        "nodes"
    ][0]
    api("mutation($id: ID!) { deleteContact(id: $id) { id } }", {"id": wang["id"]})
    data = api(
        'mutation { createContact(input: {lastName: "王", email: "wang.wei@huaxin.example.cn"}) { email } }'
    )
    assert data["createContact"]["email"] == "wang.wei@huaxin.example.cn"
    error = api.error("mutation($id: ID!) { restoreContact(id: $id) { id } }", {"id": wang["id"]})
    assert error["extensions"]["code"] == "UNIQUE_VIOLATION"


def test_bulk_update_and_delete(api):
    ids = api('{ contacts(filter: {account: {industry: {eq: "automotive"}}}) { nodes { id } } }')
    ids = [n["id"] for n in ids["contacts"]["nodes"]]
    updated = api(
        "mutation($inputs: [ContactUpdateManyInput!]!) { updateContacts(inputs: $inputs) { title } }",
        {"inputs": [{"id": i, "rowVersion": 1, "input": {"title": "Buyer"}} for i in ids]},
    )
    assert [c["title"] for c in updated["updateContacts"]] == ["Buyer", "Buyer"]
    deleted = api("mutation($ids: [ID!]!) { deleteContacts(ids: $ids) { lastName } }", {"ids": ids})
    assert sorted(names(deleted["deleteContacts"], "lastName")) == ["Miller", "Okafor"]
    assert api("{ contacts { totalCount } }")["contacts"]["totalCount"] == 5


def test_bulk_mutations_are_bounded(api):
    limit = Limits().max_bulk_size
    error = api.error(
        "mutation($inputs: [CampaignCreateInput!]!) { createCampaigns(inputs: $inputs) { id } }",
        {"inputs": [{"name": f"c{i}"} for i in range(limit + 1)]},
    )
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert api("{ campaigns { totalCount } }")["campaigns"]["totalCount"] == 2


def test_upsert_by_unique_field(api):
    upsert = """mutation($input: ContactCreateInput!) {
      upsertContact(on: email, input: $input) { lastName title rowVersion } }"""
    updated = api(
        upsert, {"input": {"lastName": "王", "email": "wang.wei@huaxin.example.cn", "title": "CPO"}}
    )
    assert updated["upsertContact"] == {"lastName": "王", "title": "CPO", "rowVersion": 2}
    created = api(upsert, {"input": {"lastName": "周", "email": "zhou@x.example.cn"}})
    assert created["upsertContact"]["rowVersion"] == 1
    assert api("{ contacts { totalCount } }")["contacts"]["totalCount"] == 8
    error = api.error(upsert, {"input": {"lastName": "X"}})
    assert error["extensions"] == {
        "code": "REQUIRED",
        "field": ["upsertContact", "input", "email"],
        "messages": {
            "en": "upsert on email needs input.email",
            "zh-CN": "按 email 更新或创建时，输入须包含 email",
        },
    }


def test_many_to_many_links_are_junction_records(api):
    campaign = api('{ campaigns(filter: {channel: {eq: "webinar"}}) { nodes { id } } }')
    contact = api('{ contacts(filter: {lastName: {eq: "陈"}}) { nodes { id } } }')
    api(
        "mutation($c: ID!, $p: ID!) { createCampaignMember(input: {campaignId: $c, contactId: $p}) { status } }",
        {"c": campaign["campaigns"]["nodes"][0]["id"], "p": contact["contacts"]["nodes"][0]["id"]},
    )
    data = api('{ contacts(filter: {lastName: {eq: "陈"}}) { nodes { campaigns { name } } } }')
    assert data["contacts"]["nodes"][0]["campaigns"] == [{"name": "EV Supply Chain Webinar"}]
