"""State machines on picklist fields: allowed moves, initial values and role limits."""

from __future__ import annotations

import json
import uuid

import pytest

from metadata.errors import MetadataError
from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.grants import FULL
from runtime.security.principal import Principal

META = """
objects:
  lead:
    fields:
      name: {type: text, required: true}
      status: {type: picklist, values: [new, working, qualified, converted, lost]}
    transitions:
      status:
        initial: new
        allow:
          - {from: new, to: [working, lost]}
          - {from: working, to: [qualified, lost]}
          - {from: qualified, to: converted, roles: manager}
          - {from: lost, to: working, roles: [director]}
roles:
  director: {}
  manager: {reports_to: director}
  rep: {reports_to: manager}
"""


@pytest.fixture
def leads(service):
    service.create_tenant("sm")
    service.apply("sm", validate_text(META))
    apis = ActiveApis(service, SchemaCache())

    def as_role(role: str | None, *, admin: bool = False):
        if admin:
            principal = Principal.system("sm")
        else:
            principal = Principal("sm", uuid.uuid4(), f"user:{role}", FULL, role=role)

        def ask(query: str, variables: dict | None = None) -> dict:
            api, timezone = apis.get("sm")
            request = Request("sm", principal, query, variables, None, timezone)
            return json.loads(run(api, service.backend, request))

        return ask

    return as_role


CREATE = 'mutation($s: String) { createLead(input: {name: "Li", status: $s}) { id status } }'
MOVE = "mutation($id: ID!, $s: String) { updateLead(id: $id, input: {status: $s}) { status } }"


def test_allowed_moves_and_clear_refusals(leads):
    rep = leads("rep")
    error = rep(CREATE, {"s": "working"})["errors"][0]
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "must be one of new" in error["message"]
    assert error["extensions"]["field"] == ["createLead", "input", "status"]
    lead = rep(CREATE, {"s": "new"})["data"]["createLead"]["id"]
    assert rep(MOVE, {"id": lead, "s": "working"})["data"]["updateLead"]["status"] == "working"
    skipped = rep(MOVE, {"id": lead, "s": "converted"})["errors"][0]
    assert skipped["extensions"]["code"] == "INVALID_TRANSITION"
    assert "from 'working' it may go to lost, qualified" in skipped["message"]
    assert rep(MOVE, {"id": lead, "s": "qualified"})["data"]["updateLead"]["status"] == "qualified"
    # Saving without a change is not a move.
    assert rep(MOVE, {"id": lead, "s": "qualified"})["data"]["updateLead"]["status"] == "qualified"


def test_role_limited_moves_follow_the_hierarchy(leads):
    rep, manager, director = leads("rep"), leads("manager"), leads("director")
    lead = rep(CREATE, {"s": "new"})["data"]["createLead"]["id"]
    for status in ("working", "qualified"):
        rep(MOVE, {"id": lead, "s": status})
    refused = rep(MOVE, {"id": lead, "s": "converted"})["errors"][0]
    assert "only manager (or roles above them)" in refused["message"]
    # The director is above the manager, so may do what the manager may.
    assert director(MOVE, {"id": lead, "s": "converted"})["data"]["updateLead"]["status"] == (
        "converted"
    )
    final = director(MOVE, {"id": lead, "s": "lost"})["errors"][0]
    assert "nothing (it is final)" in final["message"]

    other = rep(CREATE, {"s": "new"})["data"]["createLead"]["id"]
    rep(MOVE, {"id": other, "s": "lost"})
    assert "only director" in manager(MOVE, {"id": other, "s": "working"})["errors"][0]["message"]
    # A tenant admin (here: the platform itself) may make any allowed move, but not others.
    admin = leads(None, admin=True)
    assert admin(MOVE, {"id": other, "s": "working"})["data"]["updateLead"]["status"] == "working"
    assert admin(MOVE, {"id": other, "s": "converted"})["errors"][0]["extensions"]["code"] == (
        "INVALID_TRANSITION"
    )


def test_state_machines_are_checked_against_the_metadata():
    bad = META.replace("to: [qualified, lost]", "to: [qualifed, lost]").replace(
        "roles: [director]", "roles: [directr]"
    )
    bad = bad.replace(
        "    transitions:\n", "    transitions:\n      name: {allow: [{from: a, to: b}]}\n"
    )
    with pytest.raises(MetadataError) as caught:
        validate_text(bad)
    codes = {i.code for i in caught.value.issues}
    assert {"unknown_value", "unknown_role", "invalid_state_machine"} <= codes
    messages = " ".join(i.message for i in caught.value.issues)
    assert "'qualifed' is not a value of lead.status" in messages
    assert "there is no role 'directr'" in messages
