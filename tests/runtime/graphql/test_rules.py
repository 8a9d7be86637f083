"""Validation rules reject creates and updates with their message, on both backends."""

from __future__ import annotations

import pytest

from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from tests.runtime.graphql.conftest import Api

META = """
objects:
  account:
    fields:
      name: {type: text, required: true}
      status: {type: picklist, values: [active, blocked]}
  deal:
    fields:
      name: {type: text, required: true}
      amount: {type: decimal}
      discount: {type: percent}
      stage: {type: picklist, values: [open, won, lost]}
      close_date: {type: date}
      account: {type: lookup, to: account}
    validation_rules:
      discount_cap:
        condition: discount > 30 && amount < 1000000
        message: {en: Discounts above 30% need a deal of 1M or more, zh-CN: 折扣超过30%需订单金额≥100万}
        field: discount
      no_reopening:
        condition: ISCHANGED(stage) && PRIORVALUE(stage) = "won"
        message: {en: A won deal cannot change stage, zh-CN: 已赢单商机不能改阶段}
        field: stage
      blocked_account:
        condition: account.status = "blocked"
        message: {en: The account is blocked, zh-CN: 客户已冻结}
        field: account
      closes_in_future:
        condition: (ISNEW() || ISCHANGED(close_date)) && close_date < TODAY()
        message: {en: Close dates cannot move into the past, zh-CN: 预计成交日期不能早于今天}
"""

CREATE = """mutation($input: DealCreateInput!) { createDeal(input: $input) { id stage } }"""
UPDATE = """mutation($id: ID!, $input: DealUpdateInput!) {
  updateDeal(id: $id, input: $input) { id stage } }"""


@pytest.fixture
def deals(service) -> Api:
    service.create_tenant("rules")
    service.apply("rules", validate_text(META))
    return Api(service, ActiveApis(service, SchemaCache()), tenant="rules")


def test_a_rule_rejects_a_create_with_its_message_and_field(deals):
    error = deals.error(
        CREATE, {"input": {"name": "Big discount", "amount": "5000", "discount": 40}}
    )
    assert error["extensions"]["code"] == "VALIDATION_RULE"
    assert error["message"] == "Discounts above 30% need a deal of 1M or more"
    assert error["extensions"]["field"] == ["createDeal", "input", "discount"]
    assert error["extensions"]["rule"] == "discount_cap"
    assert error["extensions"]["messages"]["zh-CN"] == "折扣超过30%需订单金额≥100万"
    assert deals("{ deals { totalCount } }")["deals"]["totalCount"] == 0
    ok = {"name": "Big deal", "amount": "2000000", "discount": 40}
    assert deals(CREATE, {"input": ok})["createDeal"]["stage"] is None


def test_prior_values_and_lookups(deals):
    blocked = deals('mutation { createAccount(input: {name: "Acme", status: "blocked"}) { id } }')[
        "createAccount"
    ]["id"]
    error = deals.error(CREATE, {"input": {"name": "x", "accountId": blocked}})
    assert error["extensions"]["rule"] == "blocked_account"
    assert error["extensions"]["field"] == ["createDeal", "input", "accountId"]

    deal = deals(CREATE, {"input": {"name": "Won", "stage": "won"}})["createDeal"]["id"]
    # Creating a won deal is fine (nothing changed); moving it away from won is not.
    error = deals.error(UPDATE, {"id": deal, "input": {"stage": "lost"}})
    assert error["extensions"]["rule"] == "no_reopening"
    assert deals(UPDATE, {"id": deal, "input": {"name": "Won!"}})["updateDeal"]["stage"] == "won"


def test_a_failing_rule_rolls_back_the_whole_request(deals):
    body = deals.raw(
        """mutation {
          a: createDeal(input: {name: "fine"}) { id }
          b: createDeals(inputs: [{name: "ok"}, {name: "late", closeDate: "2001-01-01"}]) { id }
        }"""
    )
    [error] = body["errors"]
    assert error["extensions"]["rule"] == "closes_in_future"
    assert error["extensions"]["field"] == ["b", "inputs", 1]
    assert deals("{ deals { totalCount } }")["deals"]["totalCount"] == 0


def test_deleting_and_restoring_do_not_run_rules(deals):
    deal = deals(CREATE, {"input": {"name": "Won", "stage": "won"}})["createDeal"]["id"]
    deals("mutation($id: ID!) { deleteDeal(id: $id) { id } }", {"id": deal})
    deals("mutation($id: ID!) { restoreDeal(id: $id) { id } }", {"id": deal})
    assert deals("{ deals { totalCount } }")["deals"]["totalCount"] == 1
