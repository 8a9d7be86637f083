"""Queries: connections, single records, filters, ordering, relations, aggregates, search.

All run against the demo tenant's sample data on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.runtime.graphql.conftest import names

ALL_ACCOUNTS = {
    "华信精密制造有限公司",
    "华信精密（苏州）分公司",
    "兰亭教育科技",
    "Northwind Motors",
    "金桥零售连锁",
}


def account_names(api, filter_: str) -> set[str]:
    data = api(f"{{ accounts(filter: {filter_}) {{ nodes {{ name }} }} }}")
    return set(names(data["accounts"]["nodes"]))


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ('{industry: {eq: "manufacturing"}}', {"华信精密制造有限公司", "华信精密（苏州）分公司"}),
        (
            '{industry: {neq: "manufacturing"}}',
            {"兰亭教育科技", "Northwind Motors", "金桥零售连锁"},
        ),
        ("{employees: {gt: 1800}}", {"华信精密制造有限公司", "金桥零售连锁"}),
        ("{employees: {gte: 1800}}", {"华信精密制造有限公司", "金桥零售连锁", "Northwind Motors"}),
        ("{employees: {lt: 420}}", {"兰亭教育科技"}),
        ("{employees: {lte: 420}}", {"兰亭教育科技", "华信精密（苏州）分公司"}),
        (
            '{rating: {in: ["cold", "warm"]}}',
            {"兰亭教育科技", "华信精密（苏州）分公司", "金桥零售连锁"},
        ),
        ('{rating: {notIn: ["cold", "warm"]}}', {"华信精密制造有限公司", "Northwind Motors"}),
        ("{rating: {in: []}}", set()),
        ('{name: {like: "North%"}}', {"Northwind Motors"}),
        ('{name: {like: "north%"}}', set()),
        ('{name: {ilike: "NORTH%"}}', {"Northwind Motors"}),
        ('{name: {startsWith: "华信"}}', {"华信精密制造有限公司", "华信精密（苏州）分公司"}),
        ('{name: {contains: "精密"}}', {"华信精密制造有限公司", "华信精密（苏州）分公司"}),
        ('{name: {contains: "%"}}', set()),
        ("{website: {isNull: true}}", {"华信精密（苏州）分公司", "金桥零售连锁"}),
        ('{annualRevenue: {amount: {gt: "50000000"}}}', {"华信精密制造有限公司", "兰亭教育科技"}),
        ('{annualRevenue: {currencyCode: {eq: "USD"}}}', {"Northwind Motors"}),
        ("{annualRevenue: {isNull: true}}", {"华信精密（苏州）分公司", "金桥零售连锁"}),
        ('{parent: {rating: {eq: "hot"}}}', {"华信精密（苏州）分公司"}),
        ("{parentId: {isNull: false}}", {"华信精密（苏州）分公司"}),
        ('{contacts: {some: {lastName: {eq: "Miller"}}}}', {"Northwind Motors"}),
        ("{contacts: {none: {}}}", set()),
        ('{contacts: {every: {email: {contains: "northwind"}}}}', {"Northwind Motors"}),
        ('{subsidiaries: {some: {industry: {eq: "manufacturing"}}}}', {"华信精密制造有限公司"}),
        (
            '{or: [{industry: {eq: "retail"}}, {name: {startsWith: "North"}}]}',
            {"金桥零售连锁", "Northwind Motors"},
        ),
        (
            '{and: [{rating: {eq: "hot"}}, {employees: {lt: 2000}}]}',
            {"Northwind Motors"},
        ),
        (
            "{not: {website: {isNull: true}}}",
            {"华信精密制造有限公司", "兰亭教育科技", "Northwind Motors"},
        ),
        ("{not: {employees: {gt: 1000}}}", {"兰亭教育科技", "华信精密（苏州）分公司"}),
    ],
)
def test_filter_operators(api, filter_, expected):
    assert account_names(api, filter_) == expected


def test_filter_through_to_one_relation_and_multi_picklist(api):
    data = api(
        """{ contacts(filter: {account: {industry: {eq: "automotive"}}}) { nodes { lastName } }
             campaigns(filter: {tags: {containsAny: ["partner", "nope"]}}) { nodes { name } }
             both: campaigns(filter: {tags: {containsAll: ["priority", "new_market"]}}) { nodes { name } }
             none: campaigns(filter: {tags: {containsAll: ["priority", "partner"]}}) { nodes { name } } }"""
    )
    assert set(names(data["contacts"]["nodes"], "lastName")) == {"Miller", "Okafor"}
    assert names(data["campaigns"]["nodes"]) == ["EV Supply Chain Webinar"]
    assert names(data["both"]["nodes"]) == ["2026 上海工业博览会"]
    assert data["none"]["nodes"] == []


def test_connection_pages_forward_and_backward_with_cursors(api):
    query = """query($after: String, $before: String, $first: Int, $last: Int) {
      accounts(orderBy: [{employees: DESC}], first: $first, after: $after, last: $last,
               before: $before) {
        totalCount
        edges { cursor node { name employees } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      } }"""
    page1 = api(query, {"first": 2})["accounts"]
    assert page1["totalCount"] == 5
    assert [e["node"]["employees"] for e in page1["edges"]] == [5200, 2300]
    assert page1["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": page1["edges"][0]["cursor"],
        "endCursor": page1["edges"][1]["cursor"],
    }
    page2 = api(query, {"first": 2, "after": page1["pageInfo"]["endCursor"]})["accounts"]
    assert [e["node"]["employees"] for e in page2["edges"]] == [1800, 420]
    assert page2["pageInfo"]["hasNextPage"] and page2["pageInfo"]["hasPreviousPage"]
    page3 = api(query, {"first": 2, "after": page2["pageInfo"]["endCursor"]})["accounts"]
    assert [e["node"]["employees"] for e in page3["edges"]] == [310]
    assert not page3["pageInfo"]["hasNextPage"]
    back = api(query, {"last": 2, "before": page3["edges"][0]["cursor"]})["accounts"]
    assert [e["node"]["employees"] for e in back["edges"]] == [1800, 420]
    assert back["pageInfo"]["hasNextPage"] and back["pageInfo"]["hasPreviousPage"]
    tail = api(query, {"last": 2})["accounts"]
    assert [e["node"]["employees"] for e in tail["edges"]] == [420, 310]
    assert tail["pageInfo"]["hasPreviousPage"] and not tail["pageInfo"]["hasNextPage"]


def test_cursors_resume_through_nulls_and_ties(api):
    # website is null for two accounts; ordering by it must still page through all five.
    query = """query($after: String) { accounts(orderBy: [{website: ASC}], first: 1,
      after: $after) { edges { cursor node { name } } pageInfo { hasNextPage } } }"""
    seen, after = [], None
    for _ in range(6):
        page = api(query, {"after": after})["accounts"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["edges"][-1]["cursor"]
    assert len(seen) == 5 and set(seen) == ALL_ACCOUNTS


def test_order_by_relation_direction_and_nulls(api):
    data = api(
        """{ byAccount: contacts(orderBy: [{account: {employees: DESC}}, {lastName: ASC}]) {
               nodes { lastName } }
             nullsFirst: accounts(orderBy: [{website: ASC_NULLS_FIRST}, {name: ASC}]) {
               nodes { website } } }"""
    )
    assert names(data["byAccount"]["nodes"], "lastName")[:3] == ["刘", "李", "王"]
    assert [n["website"] for n in data["nullsFirst"]["nodes"]][:2] == [None, None]


def test_single_record_by_id_and_soft_deleted_records(api):
    first = api("{ accounts(first: 1, orderBy: [{name: ASC}]) { nodes { id name } } }")
    record = first["accounts"]["nodes"][0]
    data = api("query($id: ID!) { account(id: $id) { id name __typename } }", {"id": record["id"]})
    assert data["account"] == {**record, "__typename": "Account"}
    missing = api('{ account(id: "00000000-0000-7000-8000-000000000000") { id } }')
    assert missing["account"] is None
    error = api.error('{ account(id: "not-a-uuid") { id } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["path"] == ["account"]


def test_values_are_formatted_the_same_on_every_backend(api):
    data = api(
        """{ accounts(filter: {name: {eq: "Northwind Motors"}}) { nodes {
              annualRevenue { amount currencyCode } employees createdAt rowVersion } }
           contacts(filter: {lastName: {eq: "李"}}) { nodes { birthday doNotCall } }
           opportunities(filter: {name: {eq: "MES 系统二期"}}) { nodes { probability number } } }"""
    )
    account = data["accounts"]["nodes"][0]
    assert account["annualRevenue"] == {"amount": "48000000.00", "currencyCode": "USD"}
    assert account["employees"] == 1800 and account["rowVersion"] == 1
    assert account["createdAt"].endswith("Z") and len(account["createdAt"]) == 27
    assert data["contacts"]["nodes"] == [{"birthday": "1986-04-12", "doNotCall": False}]
    opportunity = data["opportunities"]["nodes"][0]
    assert opportunity["probability"] == "45.00"
    assert opportunity["number"].startswith("OPP-")


def test_nested_relations_to_many_with_arguments_and_many_to_many(api):
    data = api(
        """{ accounts(filter: {name: {eq: "华信精密制造有限公司"}}) { nodes {
              contacts(orderBy: [{lastName: DESC}], first: 1) { lastName account { name } }
              filtered: contacts(filter: {birthday: {isNull: false}}) { lastName }
              subsidiaries { name parent { name } } } }
           campaigns(orderBy: [{name: ASC}]) { nodes { name members(orderBy: [{lastName: ASC}]) {
              lastName campaigns(orderBy: [{name: ASC}]) { name } } } } }"""
    )
    account = data["accounts"]["nodes"][0]
    assert account["contacts"] == [{"lastName": "王", "account": {"name": "华信精密制造有限公司"}}]
    assert account["filtered"] == [{"lastName": "李"}]
    assert account["subsidiaries"] == [
        {"name": "华信精密（苏州）分公司", "parent": {"name": "华信精密制造有限公司"}}
    ]
    expo, webinar = data["campaigns"]["nodes"]
    assert names(expo["members"], "lastName") == ["刘", "王"]
    assert names(webinar["members"], "lastName") == ["Miller", "王"]
    wang = expo["members"][1]
    assert names(wang["campaigns"]) == ["2026 上海工业博览会", "EV Supply Chain Webinar"]


def test_aggregates_with_group_by_and_date_granularity(api):
    data = api(
        """{ all: opportunitiesAggregate { count sum { amount } min { closeDate } max { amount } }
             byStage: opportunitiesAggregate(groupBy: [{field: stage}]) {
               key { stage closeDate } count avg { probability } }
             byQuarter: opportunitiesAggregate(groupBy: [{field: closeDate, granularity: QUARTER}],
               filter: {stage: {notIn: ["closed_lost"]}}) { key { closeDate } count }
             byMonth: opportunitiesAggregate(groupBy: [{field: closeDate, granularity: MONTH}]) {
               key { closeDate } }
             byWeek: opportunitiesAggregate(groupBy: [{field: closeDate, granularity: WEEK}]) {
               key { closeDate } }
             byYear: opportunitiesAggregate(groupBy: [{field: closeDate, granularity: YEAR}]) {
               key { closeDate } count } }"""
    )
    [total] = data["all"]
    # 1,250,000 + 3,400,000 + 780,000 + 420,000 + 650,000 (USD) + 900,000
    assert total == {
        "count": 6,
        "sum": {"amount": "7400000.00"},
        "min": {"closeDate": "2026-09-30"},
        "max": {"amount": "3400000.00"},
    }
    by_stage = {g["key"]["stage"]: g for g in data["byStage"]}
    assert by_stage["proposal"]["count"] == 2
    assert by_stage["proposal"]["avg"]["probability"] == 47.5
    assert by_stage["proposal"]["key"]["closeDate"] is None
    assert [(g["key"]["closeDate"], g["count"]) for g in data["byQuarter"]] == [
        ("2026-10-01", 2),
        ("2027-01-01", 3),
    ]
    assert [g["key"]["closeDate"] for g in data["byMonth"]][:2] == ["2026-09-01", "2026-10-01"]
    # 2026-09-30 is a Wednesday: its week starts on Monday 2026-09-28.
    assert data["byWeek"][0]["key"]["closeDate"] == "2026-09-28"
    assert [(g["key"]["closeDate"], g["count"]) for g in data["byYear"]] == [
        ("2026-01-01", 3),
        ("2027-01-01", 3),
    ]


def test_search_across_objects_and_within_one(api):
    data = api(
        """{ search(text: "northwind") { objectName title record { __typename
               ... on Account { name } ... on Contact { email } } }
             only: search(text: "华信", objects: ["account"]) { title }
             contacts(search: "SARAH miller") { nodes { lastName } } }"""
    )
    hits = data["search"]
    assert hits[0] == {
        "objectName": "account",
        "title": "Northwind Motors",
        "record": {"__typename": "Account", "name": "Northwind Motors"},
    }
    assert {h["record"]["__typename"] for h in hits} == {"Account", "Contact"}
    assert len(hits) == 3
    assert {h["title"] for h in data["only"]} == {"华信精密制造有限公司", "华信精密（苏州）分公司"}
    assert names(data["contacts"]["nodes"], "lastName") == ["Miller"]
    error = api.error('{ search(text: "x", objects: ["campaign_member"]) { id } }')
    assert "not a searchable object" in error["message"]


def test_fragments_directives_aliases_and_variables(api):
    data = api(
        """query($skip: Boolean!, $industry: String) {
             accounts(filter: {industry: {eq: $industry}}, orderBy: [{name: ASC}]) {
               nodes { ...Bits n: name website @skip(if: $skip) phone @include(if: $skip) } } }
           fragment Bits on Account { __typename rating }""",
        {"skip": True, "industry": "automotive"},
    )
    assert data["accounts"]["nodes"] == [
        {
            "__typename": "Account",
            "rating": "hot",
            "n": "Northwind Motors",
            "phone": "+1 415 555 0199",
        }
    ]


@pytest.mark.parametrize(
    ("query", "code", "where"),
    [
        ("{ accounts(first: 5000) { totalCount } }", "LIMIT_EXCEEDED", ["accounts", "first"]),
        ('{ accounts(after: "garbage") { totalCount } }', "INVALID_CURSOR", ["accounts", "after"]),
        ('{ accounts(after: "[1]") { totalCount } }', "INVALID_CURSOR", ["accounts", "after"]),
        ("{ accounts(first: 1, last: 1) { totalCount } }", "BAD_USER_INPUT", ["accounts", "last"]),
        (
            "{ accounts(filter: {name: {eq: null}}) { totalCount } }",
            "BAD_USER_INPUT",
            ["accounts", "filter", "name", "eq"],
        ),
        (
            '{ accounts(filter: {parentId: {eq: "x"}}) { totalCount } }',
            "BAD_USER_INPUT",
            ["accounts", "filter", "parentId", "eq"],
        ),
        ("{ accounts { nodes { nope } } }", "GRAPHQL_VALIDATION_FAILED", None),
        (
            "{ accounts(orderBy: [{name: ASC, rating: ASC}]) { totalCount } }",
            "GRAPHQL_VALIDATION_FAILED",
            None,
        ),
        (
            "{ opportunitiesAggregate(groupBy: [{field: stage, granularity: DAY}]) { count } }",
            "BAD_USER_INPUT",
            ["opportunitiesAggregate", "groupBy", 0, "granularity"],
        ),
    ],
)
def test_bad_requests_get_clear_errors(api, query, code, where):
    error = api.error(query)
    assert error["extensions"]["code"] == code
    if where is not None:
        assert error["extensions"]["field"] == where
    assert error["message"]


def test_one_failing_root_field_does_not_hide_the_others(api):
    body = api.raw('{ a: accounts(after: "x") { totalCount } b: accounts { totalCount } }')
    assert body["data"] == {"a": None, "b": {"totalCount": 5}}
    assert body["errors"][0]["path"] == ["a"]
