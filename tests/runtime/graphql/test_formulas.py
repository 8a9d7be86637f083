"""Formula fields: computed in the SQL of every read, filterable, sortable and aggregatable,
never stored, never written, and hidden when they would reveal what a reader cannot see."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from metadata.diff import diff
from metadata.errors import MetadataError
from metadata.snapshot import Snapshot
from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.security.grants import effective, sets_of
from runtime.security.principal import Principal
from runtime.storage.records import RecordError, insert_records

META = """
objects:
  account:
    fields:
      name: {type: text, required: true}
      pipeline: {type: rollup, from: deal.account, function: sum, field: amount, where: "probability < 100"}
      deal_count: {type: rollup, from: deal.account, function: count}
      last_close: {type: rollup, from: deal.account, function: max, field: close_date}
  deal:
    fields:
      name: {type: text, required: true}
      amount: {type: decimal, scale: 2}
      probability: {type: percent}
      close_date: {type: date}
      account: {type: lookup, to: account}
      weighted: {type: formula, expression: "amount * probability / 100", returns: number}
      title: {type: formula, expression: 'name & " @ " & account.name', returns: text}
      closing: {type: formula, expression: "DATEDIFF(DATEVALUE('2027-01-01'), close_date) <= 30", returns: boolean}
      follow_up: {type: formula, expression: "ADDDAYS(close_date, 7)", returns: date}
roles:
  rep: {}
  viewer: {}
permission_sets:
  viewers:
    roles: [viewer]
    objects:
      account: {allow: [read], access: tenant}
      deal: {allow: [read], access: own}
  reps:
    roles: [rep]
    objects:
      deal: {allow: [read], access: tenant, fields: {probability: none}}
      account: {allow: [read], access: own}
"""


@pytest.fixture
def crm(service):
    service.create_tenant("fx")
    metadata = validate_text(META)
    service.apply("fx", metadata)
    model = metadata.model
    me = uuid.uuid4()
    with service.backend.begin_tenant("fx") as conn:
        schema = service.backend.schema("fx")
        [mine] = insert_records(
            conn, model, "account", [{"name": "Alpha", "owner": me}], schema=schema
        )
        [theirs] = insert_records(conn, model, "account", [{"name": "Beta"}], schema=schema)
        insert_records(
            conn,
            model,
            "deal",
            [
                {
                    "name": "D1",
                    "amount": Decimal("1000"),
                    "probability": Decimal("50"),
                    "close_date": "2027-01-20",
                    "account": mine,
                },
                {
                    "name": "D2",
                    "amount": Decimal("8000"),
                    "probability": Decimal("25"),
                    "close_date": "2027-03-01",
                    "account": theirs,
                },
                {"name": "D3"},
            ],
            schema=schema,
        )
    apis = ActiveApis(service, SchemaCache())

    def ask(query: str, principal: Principal | None = None) -> dict:
        who = principal or Principal.system("fx")
        api, timezone = apis.get("fx", who.grants)
        return json.loads(
            run(api, service.backend, Request("fx", who, query, None, None, timezone))
        )

    rep = Principal(
        "fx", me, "user:rep", effective(model, sets_of(model.security, "rep", ())), role="rep"
    )
    return ask, rep, model


def test_formulas_are_computed_filtered_sorted_and_aggregated(crm):
    ask, _, _ = crm
    data = ask(
        """{ deals(orderBy: [{weighted: DESC}], filter: {weighted: {gte: "100"}}) {
              nodes { name weighted title closing followUp } }
            dealsAggregate(groupBy: [{field: closing}]) { key { closing } count sum { weighted } } }"""
    )["data"]
    assert data["deals"]["nodes"] == [
        {
            "name": "D2",
            "weighted": "2000.00",
            "title": "D2 @ Beta",
            "closing": False,
            "followUp": "2027-03-08",
        },
        {
            "name": "D1",
            "weighted": "500.00",
            "title": "D1 @ Alpha",
            "closing": True,
            "followUp": "2027-01-27",
        },
    ]
    groups = {g["key"]["closing"]: g for g in data["dealsAggregate"]}
    assert groups[True]["count"] == 1 and groups[False]["count"] == 1 and groups[None]["count"] == 1
    assert Decimal(groups[False]["sum"]["weighted"]) == Decimal("2000")
    blank = ask('{ deals(filter: {name: {eq: "D3"}}) { nodes { weighted title closing } } }')
    assert blank["data"]["deals"]["nodes"] == [
        {"weighted": None, "title": "D3 @ ", "closing": None}
    ]


def test_formulas_cannot_be_written(crm, service):
    ask, _, model = crm
    body = ask('mutation { createDeal(input: {name: "x", weighted: "1"}) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    inputs = ask('{ __type(name: "DealUpdateInput") { inputFields { name } } }')["data"]
    assert "weighted" not in {f["name"] for f in inputs["__type"]["inputFields"]}
    with service.backend.begin_tenant("fx") as conn, pytest.raises(RecordError, match="formula"):
        insert_records(
            conn, model, "deal", [{"name": "x", "weighted": 1}], schema=service.backend.schema("fx")
        )


def test_a_formula_reveals_nothing_the_reader_cannot_see(crm):
    ask, rep, _ = crm
    fields = ask('{ __type(name: "Deal") { fields { name } } }', rep)["data"]["__type"]["fields"]
    names = {f["name"] for f in fields}
    # probability is hidden from reps, so the formula using it is too.
    assert "probability" not in names and "weighted" not in names and "title" in names
    nodes = ask("{ deals(orderBy: [{name: ASC}]) { nodes { name title } } }", rep)["data"]
    # Beta belongs to someone else: the formula reads it as null, as a lookup would.
    assert nodes["deals"]["nodes"] == [
        {"name": "D1", "title": "D1 @ Alpha"},
        {"name": "D2", "title": "D2 @ "},
        {"name": "D3", "title": "D3 @ "},
    ]
    refused = ask('{ deals(filter: {weighted: {gt: "0"}}) { totalCount } }', rep)
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_formula_changes_are_metadata_only():
    old = Snapshot.of(validate_text(META).model)
    changed = META.replace("amount * probability / 100", "amount * probability / 100 * 2")
    dropped = META.replace(
        '      weighted: {type: formula, expression: "amount * probability / 100", returns: number}\n',
        "",
    )
    for text in (changed, dropped):
        plan = diff(old, Snapshot.of(validate_text(text).model))
        assert [op.kind for op in plan.operations] in (["alter_field"], ["drop_field"])
        assert not plan.operations[0].destructive
        if plan.operations[0].kind == "alter_field":
            assert not plan.operations[0].touches_storage
    to_text = META.replace(
        '{type: formula, expression: "amount * probability / 100", returns: number}',
        "{type: text}",
    )
    assert diff(old, Snapshot.of(validate_text(to_text).model)).refusals


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            'expression: "amount * probability / 100", returns: number',
            'expression: "amount * probability / 100", returns: text',
        ),
        ('expression: "amount * probability / 100"', 'expression: "amout * 2"'),
        ('expression: "ADDDAYS(close_date, 7)"', 'expression: "ADDDAYS(close_date, 7) + weighted"'),
    ],
)
def test_bad_formulas_are_reported(change, words):
    with pytest.raises(MetadataError) as caught:
        validate_text(META.replace(change, words))
    assert caught.value.issues[0].pointer.startswith("/objects/deal/fields/")


def test_formulas_are_not_searchable_or_tracked():
    tracked = META.replace("  deal:\n    fields:", "  deal:\n    history: [weighted]\n    fields:")
    with pytest.raises(MetadataError) as caught:
        validate_text(tracked)
    assert [i.code for i in caught.value.issues] == ["formula_not_allowed"]
    searched = META.replace("  deal:\n    fields:", "  deal:\n    search: [title]\n    fields:")
    with pytest.raises(MetadataError) as caught:
        validate_text(searched)
    assert "title" in str(caught.value.issues[0])


def test_rollups_over_children(crm, service):
    ask, _, model = crm
    with service.backend.begin_tenant("fx") as conn:
        schema = service.backend.schema("fx")
        [alpha] = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT id FROM "
                + (f'"{schema}".' if schema else "")
                + "account WHERE name = 'Alpha'"
            )
        ]
        insert_records(
            conn,
            model,
            "deal",
            [
                {
                    "name": "D4",
                    "amount": Decimal("300"),
                    "probability": Decimal("100"),
                    "close_date": "2027-06-30",
                    "account": alpha,
                },
                {
                    "name": "D5",
                    "amount": Decimal("50.5"),
                    "probability": Decimal("10"),
                    "account": alpha,
                },
            ],
            schema=schema,
        )
    data = ask(
        """{ accounts(orderBy: [{pipeline: DESC}], filter: {dealCount: {gte: 1}}) {
              nodes { name pipeline dealCount lastClose } } }"""
    )["data"]
    assert data["accounts"]["nodes"] == [
        # D4 is won (probability 100), so the pipeline leaves it out; the count does not.
        {"name": "Beta", "pipeline": "8000.00", "dealCount": 1, "lastClose": "2027-03-01"},
        {"name": "Alpha", "pipeline": "1050.50", "dealCount": 3, "lastClose": "2027-06-30"},
    ]
    empty = ask("{ accounts(filter: {dealCount: {eq: 0}}) { totalCount } }")["data"]
    assert empty["accounts"]["totalCount"] == 0


def test_rollups_count_only_what_the_reader_may_see(crm):
    ask, rep, _ = crm
    fields = ask('{ __type(name: "Account") { fields { name } } }', rep)["data"]["__type"]
    names = {f["name"] for f in fields["fields"]}
    # The pipeline filters on probability, hidden from reps: the roll-up is left out.
    assert "pipeline" not in names and "dealCount" in names
    nodes = ask("{ accounts { nodes { name dealCount } } }", rep)["data"]["accounts"]["nodes"]
    assert nodes == [{"name": "Alpha", "dealCount": 1}]
    # A viewer sees every account but only their own deals (none): counts follow.
    model = validate_text(META).model
    viewer = Principal(
        "fx",
        uuid.uuid4(),
        "user:v",
        effective(model, sets_of(model.security, "viewer", ())),
        role="viewer",
    )
    seen = ask("{ accounts(orderBy: [{name: ASC}]) { nodes { name dealCount } } }", viewer)
    assert seen["data"]["accounts"]["nodes"] == [
        {"name": "Alpha", "dealCount": 0},
        {"name": "Beta", "dealCount": 0},
    ]
    everyone = ask("{ accounts(orderBy: [{name: ASC}]) { nodes { dealCount } } }")["data"]
    assert [n["dealCount"] for n in everyone["accounts"]["nodes"]] == [1, 1]


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ("from: deal.account, function: count", "from: deal.name, function: count"),
        ("function: count}", "function: count, field: amount}"),
        ("function: max, field: close_date", "function: max, field: name"),
        ('where: "probability < 100"', 'where: "probability + 1"'),
    ],
)
def test_bad_rollups_name_the_option(change, option):
    with pytest.raises(MetadataError) as caught:
        validate_text(META.replace(change, option))
    [issue] = caught.value.issues
    assert issue.code == "invalid_rollup" and issue.pointer.startswith("/objects/account/fields/")
