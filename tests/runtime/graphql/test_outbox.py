"""The transactional outbox: each record write appends one event in its own transaction."""

from __future__ import annotations

import json

from sqlalchemy import select

from runtime.storage.tables import system_tables


def events(api) -> list[dict]:
    backend = api.service.backend
    schema = backend.schema(api.tenant)
    outbox = system_tables(schema).tables[(f"{schema}." if schema else "") + "_tessera_outbox"]
    with backend.read_tenant(api.tenant) as conn:
        rows = conn.execute(select(outbox).order_by(outbox.c.id)).all()
    return [
        {
            "kind": r.kind,
            "object": r.object,
            "id": str(r.record_id),
            "changes": json.loads(r.changes),
        }
        for r in rows
    ]


def test_writes_append_events_in_order(api):
    assert events(api) == []  # seeding the demo writes rows directly, not through the API
    made = api(
        'mutation { createCampaign(input: {name: "Expo 2027", channel: "trade_show"}) { id } }'
    )
    campaign = made["createCampaign"]["id"]
    api(
        'mutation($id: ID!) { updateCampaign(id: $id, input: {name: "Expo 2027 Shanghai"}) { id } }',
        {"id": campaign},
    )
    api("mutation($id: ID!) { deleteCampaign(id: $id) { id } }", {"id": campaign})
    api("mutation($id: ID!) { restoreCampaign(id: $id) { id } }", {"id": campaign})
    seen = events(api)
    assert [(e["kind"], e["object"], e["id"]) for e in seen] == [
        ("created", "campaign", campaign),
        ("updated", "campaign", campaign),
        ("deleted", "campaign", campaign),
        ("restored", "campaign", campaign),
    ]
    assert seen[0]["changes"]["name"] == [None, "Expo 2027"]
    assert seen[1]["changes"] == {"name": ["Expo 2027", "Expo 2027 Shanghai"]}
    assert seen[2]["changes"]["deleted_at"][0] is None


def test_a_failed_request_leaves_no_event(api):
    body = api.raw(
        """mutation {
          a: createCampaign(input: {name: "kept?"}) { id }
          b: createCampaign(input: {name: "x", channel: "no such channel"}) { id }
        }"""
    )
    assert body["errors"]
    assert events(api) == []
