"""Seeding (pack sample data, the demo) goes through the record service: values are read
and checked by their kinds, records arrive in any state, and no event is announced."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from metadata.validation import validate_data
from runtime.model.shape import build_shape
from runtime.packs.records import SampleDataError, insert_sample_data
from runtime.sql import naming
from runtime.storage.tables import system_table

META = {
    "objects": {
        "account": {"fields": {"name": {"type": "text", "max_length": 10}}},
        "lead": {
            "fields": {
                "name": {"type": "text"},
                "status": {"type": "picklist", "values": ["new", "contacted", "won"]},
                "budget": {"type": "currency"},
                "account": {"type": "lookup", "to": "account"},
            },
            "transitions": {
                "status": {"initial": ["new"], "allow": [{"from": "new", "to": "contacted"}]}
            },
        },
    }
}


@pytest.fixture
def tenant(service):
    valid = validate_data(META)
    service.create_tenant("seed")
    service.apply("seed", valid)
    return service, valid.model


def seed(service, model, data, keys=None):
    schema = service.backend.schema("seed")
    with service.backend.begin_tenant("seed") as conn:
        keys = keys if keys is not None else {}
        return insert_sample_data(conn, schema, model, data, keys=keys, skip=set())


def test_seeds_arrive_in_their_state_with_checked_values_and_no_events(tenant):
    service, model = tenant
    keys: dict = {}
    counts = seed(
        service,
        model,
        {
            "account": [{"_key": "a1", "name": "华信"}],
            "lead": [
                {"name": "甲", "status": "won", "budget": 12.5, "account": "a1"},
                {
                    "name": "乙",
                    "status": "contacted",
                    "budget": {"amount": 3, "currency_code": "USD"},
                },
            ],
        },
        keys,
    )
    assert counts == {"account": 1, "lead": 2}
    schema = service.backend.schema("seed")
    shape = build_shape(model, None, full=model)
    leads = shape.table("lead", schema, service.backend.dialect)
    outbox = system_table(schema, naming.OUTBOX_TABLE)
    with service.backend.read_tenant("seed") as conn:
        rows = conn.execute(
            select(
                leads.c.status, leads.c.budget, leads.c.budget__currency, leads.c.account
            ).order_by(leads.c.name)
        ).all()
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0
    # By name: 乙 (U+4E59) sorts before 甲 (U+7532).
    assert [(r.status, str(r.budget), r.budget__currency) for r in rows] == [
        ("contacted", "3.00", "USD"),
        ("won", "12.50", "CNY"),
    ]
    assert rows[1].account == keys["a1"]


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"name": "x" * 11}, "name is 11 characters long; the limit is 10"),
        ({"name": "x", "founded": "2020"}, "account has no field 'founded'"),
    ],
)
def test_a_bad_seed_is_refused_by_name_and_nothing_is_written(tenant, record, words):
    service, model = tenant
    with pytest.raises(SampleDataError, match=words):
        seed(service, model, {"account": [record]})
    schema = service.backend.schema("seed")
    table = build_shape(model, None, full=model).table("account", schema, service.backend.dialect)
    with service.backend.read_tenant("seed") as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 0
