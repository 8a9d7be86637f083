"""The permission matrix: roles × objects × fields × access depth, on every read path.

Every case runs on SQLite and PostgreSQL. Visibility is checked through lists, totals,
single records, nested relations (both directions), filters on relations, aggregates,
groupBy and search, so no path shows a record the others hide.
"""

from __future__ import annotations

import pytest

from tests.runtime.security.conftest import World

#: Who sees which accounts: own (reps), role subtree (managers), tenant (director).
ACCOUNTS = {
    "rep": {"Rep East"},
    "other_rep": {"Other West"},
    "manager": {"Rep East", "Manager Own"},
    "director": {"Rep East", "Other West", "Manager Own"},
}
#: Deals: own / subtree / tenant, plus the sharing rule (won deals → east_team).
DEALS = {
    "rep": {"Won deal"},
    "other_rep": {"Open deal"},
    "manager": {"Won deal"},
    "director": {"Won deal", "Open deal"},
    "east": {"Won deal"},
}


@pytest.mark.parametrize("user", sorted(ACCOUNTS))
def test_every_account_read_path_agrees(world: World, user: str):
    p = world.principal(user)
    expected = ACCOUNTS[user]
    data = world.data(
        p,
        """{
          accounts(first: 50) { totalCount nodes { name } }
          accountsAggregate { count }
          byRegion: accountsAggregate(groupBy: [{field: region}]) { count }
          search(text: "e", objects: ["account"]) { title }
          deals(first: 50) { nodes { name account { name } } }
        }""",
    )
    assert {n["name"] for n in data["accounts"]["nodes"]} == expected
    assert data["accounts"]["totalCount"] == len(expected)
    assert data["accountsAggregate"][0]["count"] == len(expected)
    assert sum(g["count"] for g in data["byRegion"]) == len(expected)
    assert {h["title"] for h in data["search"]} == {n for n in expected if "e" in n.lower()}
    # A deal's account is null unless the account itself is readable.
    for deal in data["deals"]["nodes"]:
        account = deal["account"]
        assert account is None or account["name"] in expected
    for name in ACCOUNTS["director"]:
        one = world.data(
            p, "query($id: ID!) { account(id: $id) { name } }", {"id": world.ids[name]}
        )
        assert (one["account"] is not None) == (name in expected), name


@pytest.mark.parametrize("user", sorted(DEALS))
def test_deals_follow_depth_and_sharing_rules_through_nesting(world: World, user: str):
    p = world.principal(user)
    data = world.data(
        p, "{ deals(first: 50) { totalCount nodes { name } } dealsAggregate { count } }"
    )
    assert {n["name"] for n in data["deals"]["nodes"]} == DEALS[user]
    assert data["deals"]["totalCount"] == data["dealsAggregate"][0]["count"] == len(DEALS[user])
    if user in ACCOUNTS:
        nested = world.data(
            p,
            "{ accounts(first: 50) { nodes { name deals { name } } } "
            'withWon: accounts(filter: {deals: {some: {stage: {eq: "won"}}}}) { totalCount } }',
        )
        seen = {d["name"] for a in nested["accounts"]["nodes"] for d in a["deals"]}
        assert seen <= DEALS[user]
        # Filtering through a relation cannot reveal related records one cannot read.
        won_visible = "Won deal" in DEALS[user] and "Rep East" in ACCOUNTS[user]
        assert nested["withWon"]["totalCount"] == (1 if won_visible else 0)


def test_unreadable_objects_and_fields_are_absent_and_cannot_be_probed(world: World):
    rep = world.principal("rep")
    for query in (
        "{ accounts { nodes { secret } } }",
        '{ accounts(filter: {secret: {eq: "s3cret"}}) { totalCount } }',
        "{ accounts(orderBy: [{secret: ASC}]) { totalCount } }",
        "{ accountsAggregate(groupBy: [{field: secret}]) { count } }",
    ):
        body = world.run(rep, query)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", query
        assert "data" not in body
    east = world.principal("east")
    assert world.run(east, "{ accounts { totalCount } }")["errors"]
    # Introspection shows only what the member may use.
    types = world.data(
        rep,
        '{ account: __type(name: "Account") { fields { name } } '
        'input: __type(name: "AccountUpdateInput") { inputFields { name } } '
        "__schema { mutationType { fields { name } } } }",
    )
    fields = {f["name"] for f in types["account"]["fields"]}
    assert "secret" not in fields and {"name", "revenue"} <= fields
    assert {f["name"] for f in types["input"]["inputFields"]} == {"name", "region"}
    mutations = {f["name"] for f in types["__schema"]["mutationType"]["fields"]}
    assert "createAccount" in mutations and "deleteAccount" not in mutations
    assert "deleteDeal" not in mutations
    director = world.data(
        world.principal("director"), '{ __type(name: "Account") { fields { name } } }'
    )
    assert "secret" in {f["name"] for f in director["__type"]["fields"]}
    # A read-only field cannot be written.
    body = world.run(
        rep,
        "mutation($id: ID!) { updateAccount(id: $id, input: {revenue: 1}) { id } }",
        {"id": world.ids["Rep East"]},
    )
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_writes_check_record_access(world: World):
    rep = world.principal("rep")
    update = 'mutation($id: ID!) { updateAccount(id: $id, input: {name: "X"}) { name } }'
    hidden = world.run(rep, update, {"id": world.ids["Other West"]})
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # A reference to a record one cannot read is refused like a missing one.
    body = world.run(
        rep,
        'mutation($a: ID) { createDeal(input: {name: "D", accountId: $a}) { id } }',
        {"a": world.ids["Other West"]},
    )
    assert body["errors"][0]["extensions"]["code"] == "REFERENCE_NOT_FOUND"
    # Manual sharing: the manager shares an account with the rep, read only.
    manager = world.principal("manager")
    world.data(
        manager,
        "mutation($id: ID!, $u: ID) { shareAccount(id: $id, userId: $u) { name } }",
        {"id": world.ids["Manager Own"], "u": world.ids["rep"]},
    )
    names = world.data(rep, "{ accounts { nodes { name } } }")["accounts"]["nodes"]
    assert {n["name"] for n in names} == {"Rep East", "Manager Own"}
    read_only = world.run(rep, update, {"id": world.ids["Manager Own"]})
    assert read_only["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    world.data(
        manager,
        "mutation($id: ID!, $u: ID) { unshareAccount(id: $id, userId: $u) { name } }",
        {"id": world.ids["Manager Own"], "u": world.ids["rep"]},
    )
    names = world.data(rep, "{ accounts { nodes { name } } }")["accounts"]["nodes"]
    assert {n["name"] for n in names} == {"Rep East"}


def test_transferring_ownership_moves_access(world: World):
    rep = world.principal("rep")
    moved = world.data(
        rep,
        "mutation($ids: [ID!]!, $to: ID!) { transferAccounts(ids: $ids, ownerId: $to) { name } }",
        {"ids": [world.ids["Rep East"]], "to": world.ids["other_rep"]},
    )
    assert moved["transferAccounts"] == []  # given away: no longer readable by the rep
    other = world.data(world.principal("other_rep"), "{ accounts { nodes { name owner } } }")
    assert {n["name"] for n in other["accounts"]["nodes"]} == {"Rep East", "Other West"}
    assert all(n["owner"] == world.ids["other_rep"] for n in other["accounts"]["nodes"])
    stranger = world.run(
        world.principal("other_rep"),
        "mutation($ids: [ID!]!, $to: ID!) { transferAccounts(ids: $ids, ownerId: $to) { name } }",
        {"ids": [world.ids["Rep East"]], "to": "00000000-0000-0000-0000-000000000000"},
    )
    assert stranger["errors"][0]["extensions"]["code"] == "INVALID_VALUE"


def test_field_history_records_who_changed_what(world: World):
    rep = world.principal("rep")
    world.data(
        rep,
        "mutation($id: ID!) { updateDeal(id: $id, input: "
        '{stage: "open", amount: 250, name: "N"}) { id } }',
        {"id": world.ids["Won deal"]},
    )
    history = world.data(
        rep,
        "query($id: ID!) { deal(id: $id) { fieldHistory { field oldValue newValue changedBy } "
        'stageOnly: fieldHistory(field: "stage") { newValue } } }',
        {"id": world.ids["Won deal"]},
    )["deal"]
    changes = {c["field"]: c for c in history["fieldHistory"]}
    assert set(changes) == {"stage", "amount"}  # name is not tracked
    assert (changes["stage"]["oldValue"], changes["stage"]["newValue"]) == ("won", "open")
    assert (changes["amount"]["oldValue"], changes["amount"]["newValue"]) == (100, 250)
    assert changes["stage"]["changedBy"] == world.ids["rep"]
    assert history["stageOnly"] == [{"newValue": "open"}]


def test_depth_and_cost_limits_name_the_limit(world: World):
    director = world.principal("director")
    deep = "name"
    for _ in range(7):
        deep = f"account {{ deals(first: 1) {{ {deep} }} }}"
    deep = f"{{ deals(first: 1) {{ nodes {{ {deep} }} }} }}"
    body = world.run(director, deep)
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "levels deep" in body["errors"][0]["message"]
    costly = (
        "{ accounts(first: 1000) { nodes { deals(first: 1000) { account { "
        "deals(first: 1000) { name } } } } } }"
    )
    body = world.run(director, costly)
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "records" in body["errors"][0]["message"]


def test_membership_changes_take_effect_at_once(world: World):
    assert world.data(world.principal("nobody"), "{ __schema { queryType { name } } }")
    body = world.run(world.principal("nobody"), "{ accounts { totalCount } }")
    assert body["errors"]  # no role, no permission sets: no objects
    world.identity.set_membership("perm", world.email("nobody"), role="director")
    data = world.data(world.principal("nobody"), "{ accounts { totalCount } }")
    assert data["accounts"]["totalCount"] == 3
