"""A tenant with roles, permission sets, sharing rules, members and owned records."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.identity import Identity
from runtime.security.principal import Principal, Principals
from runtime.tenants import TenantService
from tests.conftest import fast_hasher

METADATA = """
objects:
  account:
    search: [name]
    fields:
      name: {type: text, required: true}
      region: {type: picklist, values: [east, west]}
      revenue: {type: integer}
      secret: {type: text}
  deal:
    history: [stage, amount]
    fields:
      name: {type: text, required: true}
      account: {type: lookup, to: account, related_name: deals}
      stage: {type: picklist, values: [open, won]}
      amount: {type: integer}
roles:
  director: {}
  manager: {reports_to: director}
  rep: {reports_to: manager}
  other_manager: {reports_to: director}
  other_rep: {reports_to: other_manager}
  east_team: {}
permission_sets:
  sales_own:
    roles: [rep, other_rep]
    objects:
      account: {allow: [read, create, update], access: own, fields: {secret: none, revenue: read}}
      deal: {allow: [read, create, update], access: own}
  sales_subtree:
    roles: [manager, other_manager]
    objects:
      account: {allow: [read, create, update, delete], access: subtree, fields: {secret: none}}
      deal: {allow: [read, update], access: subtree}
  sales_all:
    roles: [director]
    objects:
      account: {allow: [read, create, update, delete, restore], access: tenant}
      deal: {allow: [read], access: tenant}
  deals_only:
    roles: [east_team]
    objects:
      deal: {allow: [read], access: own}
sharing_rules:
  won_deals_east:
    object: deal
    criteria: {stage: won}
    share_with: {role: east_team}
"""

USERS = {
    "director": "director",
    "manager": "manager",
    "rep": "rep",
    "other_rep": "other_rep",
    "east": "east_team",
    "nobody": None,
}
PASSWORD = "a long enough password"


@dataclass
class World:
    service: TenantService
    identity: Identity
    principals: Principals
    apis: ActiveApis
    ids: dict[str, str]
    """User name → user id, and record name → record id."""
    tenant: str = "perm"
    suffix: str = ""
    """Makes e-mails unique: users are platform-wide and outlive a test's tenant."""

    def email(self, user: str) -> str:
        return f"{user}.{self.suffix}@example.com"

    def principal(self, user: str) -> Principal:
        caller = self.identity.authenticate(f"Bearer {self.token(user)}")
        return self.principals.resolve(caller, self.tenant)

    def token(self, user: str) -> str:
        return self.identity.login(self.email(user), PASSWORD, self.tenant)["access_token"]

    def run(self, principal: Principal, query: str, variables: dict | None = None) -> dict:
        api, timezone = self.apis.get(self.tenant, principal.grants)
        request = Request(self.tenant, principal, query, variables, None, timezone)
        return json.loads(run(api, self.service.backend, request))

    def data(self, principal: Principal, query: str, variables: dict | None = None) -> Any:
        body = self.run(principal, query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def world(service: TenantService) -> World:
    identity = Identity(service.backend, b"test secret " * 4, hasher=fast_hasher())
    service.create_tenant("perm")
    service.apply("perm", validate_text(METADATA))
    ids: dict[str, str] = {}
    suffix = uuid.uuid4().hex[:8]
    for user, role in USERS.items():
        made = identity.create_user(f"{user}.{suffix}@example.com", PASSWORD)
        identity.set_membership("perm", made.email, role=role)
        ids[user] = str(made.id)
    principals = Principals(service, identity)
    apis = ActiveApis(service, SchemaCache())
    w = World(service, identity, principals, apis, ids, suffix=suffix)
    # Records, each created by its owner (creation sets the owner).
    for owner, name, region in (
        ("rep", "Rep East", "east"),
        ("other_rep", "Other West", "west"),
        ("manager", "Manager Own", "east"),
    ):
        created = w.data(
            w.principal(owner) if owner != "manager" else w.principal("manager"),
            "mutation($n: String!, $r: String) { createAccount(input: {name: $n, region: $r}) "
            "{ id ownerId: owner } }",
            {"n": name, "r": region},
        )
        ids[name] = created["createAccount"]["id"]
    for owner, name, account, stage in (
        ("rep", "Won deal", "Rep East", "won"),
        ("other_rep", "Open deal", "Other West", "open"),
    ):
        created = w.data(
            w.principal(owner),
            "mutation($n: String!, $a: ID, $s: String) { createDeal(input: "
            "{name: $n, accountId: $a, stage: $s, amount: 100}) { id } }",
            {"n": name, "a": ids[account], "s": stage},
        )
        ids[name] = created["createDeal"]["id"]
    # The secret is set by the platform (nobody in sales can edit or read it).
    system = Principal.system("perm")
    w.data(
        system,
        'mutation($id: ID!) { updateAccount(id: $id, input: {secret: "s3cret", revenue: 7}) '
        "{ id } }",
        {"id": ids["Rep East"]},
    )
    return w
