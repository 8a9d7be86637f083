"""Tenant isolation over HTTP, and hostile names and values that must not reach SQL as code."""

from __future__ import annotations

import uuid

import pytest

from metadata.errors import MetadataError
from metadata.validation import validate_data
from tests.conftest import admin_client

PASSWORD = "a long enough password"
META = {"objects": {"account": {"fields": {"name": {"type": "text", "required": True}}}}}
ADMIN_SET = {
    "roles": {"staff": {}},
    "permission_sets": {
        "all": {"roles": ["staff"], "objects": {"account": {"allow": ["read"], "access": "tenant"}}}
    },
}


@pytest.fixture
def two_tenants(service):
    with admin_client(service) as admin:
        identity = admin.app.state.identity
        ids = {}
        for tenant in ("ta", "tb"):
            assert admin.post("/api/tenants", json={"name": tenant}).status_code == 201
            applied = admin.post(
                f"/api/tenants/{tenant}/metadata/apply", json={"metadata": {**META, **ADMIN_SET}}
            )
            assert applied.status_code == 200, applied.text
            made = admin.post(
                f"/t/{tenant}/graphql",
                json={
                    "query": "mutation($n: String!) { createAccount(input: {name: $n}) { id } }",
                    "variables": {"n": f"{tenant} secret"},
                },
            ).json()
            ids[tenant] = made["data"]["createAccount"]["id"]
        email = f"a-admin.{uuid.uuid4().hex[:8]}@example.com"
        identity.create_user(email, PASSWORD)
        identity.set_membership("ta", email, role="staff", tenant_admin=True)
        session = identity.login(email, PASSWORD, "ta")["access_token"]
        _, api_token = identity.create_token("ta", email, name="t", role="staff")
        admin.headers.pop("Authorization")
        yield admin, ids, {"session": session, "api token": api_token}


@pytest.mark.parametrize("credential", ["session", "api token"])
def test_tenant_a_credentials_get_nothing_from_tenant_b(two_tenants, credential):
    client, ids, credentials = two_tenants
    auth = {"Authorization": f"Bearer {credentials[credential]}"}
    own = client.post(
        "/t/ta/graphql", json={"query": "{ accounts { nodes { name } } }"}, headers=auth
    )
    assert own.json()["data"]["accounts"]["nodes"] == [{"name": "ta secret"}]
    for method, path, body in (
        ("post", "/t/tb/graphql", {"query": "{ accounts { nodes { name } } }"}),
        ("get", "/t/tb/graphql?query=%7B__typename%7D", None),
        ("get", "/api/tenants/tb", None),
        ("get", "/api/tenants/tb/metadata", None),
        ("post", "/api/tenants/tb/metadata/apply", {"metadata": META}),
        ("get", "/api/tenants/tb/metadata/objects", None),
        ("get", "/api/tenants/tb/members", None),
        ("get", "/api/tenants/tb/tokens", None),
        ("get", "/api/tenants/tb/audit", None),
        ("get", "/api/tenants", None),
        ("post", "/api/tenants", {"name": "tc"}),
        ("delete", "/api/tenants/tb?confirm=tb", None),
        ("get", "/api/users", None),
    ):
        response = client.request(method, path, json=body, headers=auth)
        assert response.status_code == 403, (method, path, response.text)
        assert "tb secret" not in response.text
    # Guessing B's record id inside A finds nothing, by id or by filter.
    guessed = client.post(
        "/t/ta/graphql",
        json={
            "query": "query($id: ID!) { account(id: $id) { name } "
            "accounts(filter: {id: {eq: $id}}) { totalCount } }",
            "variables": {"id": ids["tb"]},
        },
        headers=auth,
    ).json()
    assert guessed["data"] == {"account": None, "accounts": {"totalCount": 0}}
    # Schema-qualified names are only ever values.
    qualified = client.post(
        "/t/ta/graphql",
        json={
            "query": "query($n: String) { accounts(filter: {name: {eq: $n}}) { totalCount } }",
            "variables": {"n": '"tenant_tb"."account"'},
        },
        headers=auth,
    ).json()
    assert qualified["data"]["accounts"]["totalCount"] == 0


def test_no_credentials_or_bad_ones_are_refused(two_tenants):
    client, _, _ = two_tenants
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Bearer tsk_x"}):
        response = client.post("/t/ta/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_revoked_api_token_stops_working(two_tenants):
    client, _, credentials = two_tenants
    identity = client.app.state.identity
    auth = {"Authorization": f"Bearer {credentials['api token']}"}
    assert (
        client.post("/t/ta/graphql", json={"query": "{ __typename }"}, headers=auth).status_code
        == 200
    )
    [token] = identity.tokens("ta")
    identity.revoke_token(str(token.id))
    assert (
        client.post("/t/ta/graphql", json={"query": "{ __typename }"}, headers=auth).status_code
        == 401
    )


def test_deactivating_a_user_refuses_every_credential_at_once(two_tenants):
    client, _, credentials = two_tenants
    identity = client.app.state.identity
    # The platform admin deactivates the tenant admin over HTTP, and brings them back.
    root = f"root.{uuid.uuid4().hex[:8]}@example.com"
    identity.create_user(root, PASSWORD, platform_admin=True)
    as_root = {"Authorization": f"Bearer {identity.login(root, PASSWORD, None)['access_token']}"}
    [member] = identity.members("ta")
    signed_in = identity.login(member.user.email, PASSWORD, "ta")
    query = {"query": "{ accounts { totalCount } }"}

    def status(credential):
        headers = {"Authorization": f"Bearer {credential}"}
        return client.post("/t/ta/graphql", json=query, headers=headers).status_code

    assert [status(credentials["session"]), status(credentials["api token"])] == [200, 200]
    off = client.put(
        f"/api/users/{member.user.email}/active", json={"active": False}, headers=as_root
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert [status(credentials["session"]), status(credentials["api token"])] == [401, 401]
    refreshed = client.post("/auth/refresh", json={"refresh_token": signed_in["refresh_token"]})
    assert refreshed.status_code == 401
    again = client.post(
        "/auth/login", json={"email": member.user.email, "password": PASSWORD, "tenant": "ta"}
    )
    assert again.status_code == 401
    kinds = [e.kind for e in _audit(client, "ta")]
    assert "login_failed" in kinds
    on = client.put(
        f"/api/users/{member.user.email}/active", json={"active": True}, headers=as_root
    )
    assert on.status_code == 200
    assert [status(credentials["session"]), status(credentials["api token"])] == [200, 200]
    # Only a platform admin may do this.
    session = {"Authorization": f"Bearer {credentials['session']}"}
    forbidden = client.put(f"/api/users/{root}/active", json={"active": False}, headers=session)
    assert forbidden.status_code == 403


def _audit(client, tenant):
    from runtime.security import audit

    with client.app.state.identity.backend.connect_control() as conn:
        return audit.read(conn, tenant=tenant, kinds=None, limit=20)


HOSTILE = [
    "'; DROP TABLE account; --",
    'x") OR 1=1 --',
    "%' OR '1'='1",
    "\\'; SELECT pg_sleep(5); --",
    '"tenant_tb"."account"',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filter_values_are_bound_not_run(two_tenants, value):
    client, _, credentials = two_tenants
    auth = {"Authorization": f"Bearer {credentials['session']}"}
    for operator in ("eq", "contains", "startsWith", "in"):
        argument = [value] if operator == "in" else value
        kind = "[String!]" if operator == "in" else "String"
        body = client.post(
            "/t/ta/graphql",
            json={
                "query": f"query($v: {kind}) {{ accounts(filter: {{name: {{{operator}: $v}}}}) "
                "{ totalCount } }",
                "variables": {"v": argument},
            },
            headers=auth,
        ).json()
        assert body["data"]["accounts"]["totalCount"] == 0, (operator, body)
    after = client.post(
        "/t/ta/graphql", json={"query": "{ accounts { totalCount } }"}, headers=auth
    )
    assert after.json()["data"]["accounts"]["totalCount"] == 1  # the table is still there


@pytest.mark.parametrize(
    "name",
    ['account"; DROP TABLE x; --', "a b", "select", "Account", "x" * 70, "tenant_tb.account"],
)
def test_hostile_metadata_names_are_refused(name):
    documents = [
        {"objects": {name: {}}},
        {"objects": {"account": {"fields": {name: {"type": "text"}}}}},
    ]
    if name != "select":  # role names are values, so an SQL keyword is a fine role name
        documents.append({"objects": {}, "roles": {name: {}}})
    for document in documents:
        with pytest.raises(MetadataError):
            validate_data(document)


def test_role_names_are_values_so_sql_keywords_are_allowed():
    model = validate_data({"objects": {}, "roles": {"select": {}, "user": {}}}).model
    assert set(model.security.roles) == {"select", "user"}


def test_hostile_sharing_criteria_values_are_bound(service):
    from runtime.security.principal import Principal

    text = "'); DELETE FROM account; --"
    valid = validate_data(
        {
            **META,
            "roles": {"r": {}},
            "sharing_rules": {
                "s": {"object": "account", "criteria": {"name": text}, "share_with": {"role": "r"}}
            },
        }
    )
    assert valid.model.security.sharing_rules["s"].criteria["name"]["eq"] == text
    service.create_tenant("tc")
    service.apply("tc", valid)
    from runtime.model.shape import build_shape
    from runtime.security.grants import effective
    from runtime.security.rows import row_predicate
    from runtime.security.scope import SqlScope
    from runtime.sql.dialect import dialect_for

    model = valid.model
    principal = Principal(
        "tc",
        None,
        "t",
        effective(model, []),
        role="r",
        rules={"account": tuple(model.security.sharing_rules.values())},
    )
    ctx = SqlScope(
        shape=build_shape(model),
        dialect=dialect_for(service.backend.dialect, None),
        principal=principal,
    )
    # Without read permission there is no predicate to inject into at all.
    assert row_predicate(ctx, principal, model.objects["account"], "t1") == "1 = 0"
