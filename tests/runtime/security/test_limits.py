"""Abuse limits set through settings reach the API, and each names what was exceeded."""

from __future__ import annotations

import uuid

import pytest
from litestar.testing import TestClient

from runtime.limits import Limits
from runtime.server.app import create_app
from runtime.settings import Settings

PASSWORD = "a long enough password"
META = {
    "objects": {"account": {"fields": {"name": {"type": "text"}}}},
    "roles": {"staff": {}},
    "permission_sets": {
        "staff": {
            "roles": ["staff"],
            "objects": {"account": {"allow": ["read", "create"], "access": "tenant"}},
        }
    },
}
BOUNDS = Limits(max_page_size=10, max_bulk_size=2, max_depth=3, max_cost=50)


@pytest.fixture(params=[0, 12], ids=["bounds", "rate"])
def limited(request, service):
    """A client of an app with tight bounds and two API tokens. The "rate" variant allows 12
    requests a minute (bursts of 2); the "bounds" variant has no rate limit, so the bounds
    are tested one by one without waiting for the bucket to refill."""
    settings = Settings(
        password_hashing="fast",
        secret_key="limits-test-secret-" + "x" * 32,
        rate_per_minute=request.param,
        limits=BOUNDS,
    )
    app = create_app(settings, service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        # Users are platform-wide: unique addresses keep runs on a shared database apart.
        root, staff = (f"{who}.{uuid.uuid4().hex[:8]}@limits.example" for who in "rs")
        identity.create_user(root, PASSWORD, platform_admin=True)
        admin = identity.login(root, PASSWORD, None)["access_token"]
        admin_auth = {"Authorization": f"Bearer {admin}"}
        assert client.post("/api/tenants", json={"name": "lim"}, headers=admin_auth).is_success
        applied = client.post(
            "/api/tenants/lim/metadata/apply", json={"metadata": META}, headers=admin_auth
        )
        assert applied.status_code == 200, applied.text
        identity.create_user(staff, PASSWORD)
        identity.set_membership("lim", staff, role="staff")
        tokens = [identity.create_token("lim", staff, name=f"t{i}")[1] for i in (1, 2)]
        yield client, tokens


def ask(client, token, query, variables=None):
    return client.post(
        "/t/lim/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize("limited", [0], indirect=True, ids=["bounds"])
def test_configured_graphql_limits_are_enforced_and_named(limited):
    client, (token, _) = limited
    cases = [
        ("{ accounts(first: 11) { totalCount } }", None, "10"),
        ("{ accounts(first: 10) { nodes { name } } }", None, None),  # within every bound
        (
            "{ a: accounts(first: 10) { totalCount } b: accounts(first: 10) { totalCount } "
            "c: accounts(first: 10) { totalCount } d: accounts(first: 10) { totalCount } "
            "e: accounts(first: 10) { totalCount } f: accounts(first: 10) { totalCount } }",
            None,
            "50",
        ),
        (
            "{ accounts { nodes { __typename } pageInfo { hasNextPage } "
            "edges { node { name } } } }",
            None,
            "3 levels",
        ),
        (
            "mutation($rows: [AccountCreateInput!]!) { createAccounts(inputs: $rows) { id } }",
            {"rows": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
            "2",
        ),
    ]
    for query, variables, named in cases:
        response = ask(client, token, query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        if named is None:
            assert "errors" not in body, body
            continue
        [error] = body["errors"]
        assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
        assert named in error["message"], error["message"]
    total = ask(client, token, "{ accounts { totalCount } }").json()
    assert total["data"]["accounts"]["totalCount"] == 0  # the refused bulk wrote nothing


@pytest.mark.parametrize("limited", [12], indirect=True, ids=["rate"])
def test_request_rate_is_limited_per_token_with_retry_after(limited):
    client, (token, other) = limited
    query = "{ accounts { totalCount } }"
    assert [ask(client, token, query).status_code for _ in range(2)] == [200, 200]
    refused = ask(client, token, query)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/rate-limited")
    assert int(refused.headers["Retry-After"]) >= 1
    assert "12" in refused.json()["detail"]  # names the configured rate
    # Another token of the same member and role has its own budget.
    assert ask(client, other, query).status_code == 200


def test_a_short_signing_key_is_refused():
    from runtime.security.identity import load_secret
    from runtime.settings import Settings

    with pytest.raises(ValueError, match="TESSERA_SECRET_KEY is 5 bytes"):
        load_secret(Settings(database_url="sqlite:////nonexistent/x.sqlite3", secret_key="short"))


def test_bad_limit_settings_name_the_variable():
    with pytest.raises(ValueError, match="TESSERA_MAX_DEPTH"):
        Settings.from_env({"TESSERA_MAX_DEPTH": "0"})
    assert Settings.from_env({"TESSERA_MAX_COST": "99"}).limits.max_cost == 99
