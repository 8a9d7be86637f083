"""Sign-in over HTTP: passwords, access and refresh tokens, rotation, logout, password
changes, and what is stored (hashes only). Both backends."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from metadata.registry.models import ApiToken, RefreshToken, User
from runtime.security import audit
from runtime.security.identity import AuthError, Identity
from runtime.server.app import create_app
from runtime.settings import Settings
from tests.conftest import fast_hasher

PASSWORD = "a long enough password"
SECRET = "sign-in-test-secret-" + "s" * 32


@pytest.fixture
def signed(service):
    """A client, the identity, a tenant ``si`` and a member of it (e-mail)."""
    app = create_app(Settings(secret_key=SECRET, password_hashing="fast"), service=service)
    with TestClient(app) as client:
        identity: Identity = app.state.identity
        service.create_tenant("si")
        email = f"Mei.{uuid.uuid4().hex[:8]}@Example.com"  # sign-in ignores case
        identity.create_user(email, PASSWORD)
        identity.set_membership("si", email)
        yield client, identity, email.lower()


def login(client, email, password=PASSWORD, tenant="si"):
    return client.post("/auth/login", json={"email": email, "password": password, "tenant": tenant})


def kinds(identity, tenant="si"):
    with identity.backend.connect_control() as conn:
        return [e.kind for e in audit.read(conn, tenant=tenant, kinds=None, limit=50)]


def test_every_wrong_sign_in_gets_the_same_answer_and_is_audited(signed, service):
    client, identity, email = signed
    service.create_tenant("other")
    identity.create_user(f"x.{uuid.uuid4().hex[:8]}@example.com", None)  # token-only user
    wrong = [
        login(client, email, "not the password"),
        login(client, f"nobody.{uuid.uuid4().hex[:8]}@example.com"),
        login(client, email, tenant="other"),  # not a member there
        login(client, email, tenant="no_such_tenant"),
        login(client, email, tenant=None),  # not a platform admin
    ]
    assert {r.status_code for r in wrong} == {401}
    assert len({r.json()["detail"] for r in wrong}) == 1
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in wrong)
    assert kinds(identity).count("login_failed") == 2  # wrong password, unknown e-mail
    assert kinds(identity, "other").count("login_failed") == 1
    assert login(client, email.upper()).status_code == 200
    assert "login" in kinds(identity)


def test_access_token_refresh_rotation_and_reuse(signed):
    client, _, email = signed
    first = login(client, email).json()
    assert first["token_type"] == "Bearer" and first["expires_in"] == 15 * 60
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert me.json()["email"] == email and me.json()["tenant"] == "si"

    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The first refresh token was rotated away; using it again means a copy exists, so the
    # whole chain ends, the new token included.
    replay = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
    after = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401


def test_logout_ends_the_refresh_token(signed):
    client, _, email = signed
    tokens = login(client, email).json()
    assert client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).is_success
    again = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_expired_and_forged_access_tokens_are_refused(signed, service):
    client, identity, email = signed
    expired = Identity(
        service.backend,
        SECRET.encode(),
        access_ttl=dt.timedelta(seconds=-5),
        hasher=fast_hasher(),
    )
    stale = expired.login(email, PASSWORD, "si")["access_token"]
    with pytest.raises(AuthError, match="expired"):
        identity.authenticate(f"Bearer {stale}")
    forger = Identity(
        service.backend, b"another key entirely, 32+ bytes long", hasher=fast_hasher()
    )
    forged = forger.login(email, PASSWORD, "si")["access_token"]
    response = client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and "not valid" in response.json()["detail"]


def test_changing_the_password(signed):
    client, identity, email = signed
    tokens = login(client, email).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = client.post(
        "/auth/password",
        json={"current_password": "guess", "new_password": "a new long password"},
        headers=auth,
    )
    assert wrong.status_code == 401
    short = client.post(
        "/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=auth
    )
    assert short.status_code == 422 and "10" in short.json()["detail"]
    changed = client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "a new long password"},
        headers=auth,
    )
    assert changed.status_code == 200
    assert login(client, email).status_code == 401
    assert login(client, email, "a new long password").status_code == 200
    # The sessions from before the change are over.
    old = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert old.status_code == 401
    # An API token cannot change its member's password.
    _, api_token = identity.create_token("si", email, name="script")
    by_token = client.post(
        "/auth/password",
        json={"current_password": "a new long password", "new_password": "taken over!!"},
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert by_token.status_code == 403


def test_only_hashes_are_stored(signed):
    client, identity, email = signed
    refresh = login(client, email).json()["refresh_token"]
    _, api_token = identity.create_token("si", email, name="script")
    with identity.backend.connect_control() as conn:
        stored = conn.execute(select(User.password_hash).where(User.email == email)).scalar_one()
        refresh_hashes = conn.execute(select(RefreshToken.token_hash)).scalars().all()
        token_hashes = conn.execute(select(ApiToken.token_hash)).scalars().all()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert refresh not in refresh_hashes and api_token not in token_hashes
    assert all(len(h) == 64 for h in [*refresh_hashes, *token_hashes])  # SHA-256 hex


def test_a_recreated_tenant_does_not_inherit_the_audit_log(signed, service):
    client, identity, email = signed
    assert login(client, email, "wrong password").status_code == 401
    assert "login_failed" in kinds(identity)
    service.delete_tenant("si")
    service.create_tenant("si")
    assert kinds(identity) == ["tenant_created"]
    with identity.backend.connect_control() as conn:  # the platform still sees it all
        everything = [e.kind for e in audit.read(conn, kinds=["tenant_deleted"], limit=5)]
    assert "tenant_deleted" in everything
