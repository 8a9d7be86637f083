"""The query IR is the read path: a GraphQL document and the same query built by hand as
IR read the same records, on generated filters, orders and selections, as the platform
and as a rep (row predicate and field mask), on both backends."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata.validation import validate_text
from runtime.graphql.cache import ActiveApis, SchemaCache
from runtime.graphql.executor import Request, run
from runtime.query import ir
from runtime.query.scope import QueryError
from runtime.query.statements import read
from runtime.security.grants import effective, sets_of
from runtime.security.principal import Principal
from runtime.storage.records import insert_records
from tests.runtime.query.conftest import scope_of

META = """
objects:
  city:
    fields:
      name: {type: text, required: true}
  shop:
    fields:
      name: {type: text, required: true}
      rating: {type: integer}
      price: {type: currency, default_currency: CNY}
      opened: {type: date}
      active: {type: boolean}
      secret: {type: text}
      city: {type: lookup, to: city}
  visit:
    fields:
      note: {type: text}
      score: {type: decimal, scale: 2}
      shop: {type: lookup, to: shop}
roles:
  rep: {}
permission_sets:
  reps:
    roles: [rep]
    objects:
      city: {allow: [read], access: tenant}
      shop: {allow: [read], access: own, fields: {secret: none}}
      visit: {allow: [read], access: tenant}
"""
TENANT = "diff"
NAMES = ["Alpha", "alpine", "Beta", "北京店", "上海店", "Gamma", "gamma ray", "Delta"]


@pytest.fixture
def shops(service):
    service.create_tenant(TENANT)
    metadata = validate_text(META)
    service.apply(TENANT, metadata)
    model = metadata.model
    me = uuid.uuid4()
    schema = service.backend.schema(TENANT)
    with service.backend.begin_tenant(TENANT) as conn:
        cities = insert_records(
            conn,
            model,
            "city",
            [{"name": n} for n in ("杭州", "Shanghai", "Beijing")],
            schema=schema,
        )
        rows = []
        for i in range(24):
            rows.append(
                {
                    "name": f"{NAMES[i % len(NAMES)]} {i // len(NAMES)}",
                    "rating": None if i % 7 == 3 else (i * 5) % 11,
                    "price": None if i % 5 == 4 else Decimal(i * 37 % 500) + Decimal("0.50"),
                    "opened": None if i % 6 == 5 else dt.date(2026, 1 + i % 12, 1 + i % 27),
                    "active": None if i % 9 == 8 else i % 2 == 0,
                    "secret": f"s{i}",
                    "city": None if i % 8 == 7 else cities[i % 3],
                    "owner": me if i % 3 else None,
                }
            )
        ids = insert_records(conn, model, "shop", rows, schema=schema)
        visits = [
            {"note": f"v{j}", "score": Decimal(j * 13 % 100) / 4, "shop": ids[j * 7 % 24]}
            for j in range(40)
        ]
        insert_records(conn, model, "visit", visits, schema=schema)
    rep = Principal(
        TENANT, me, "user:rep", effective(model, sets_of(model.security, "rep", ())), role="rep"
    )
    return service, ActiveApis(service, SchemaCache()), rep


# Generated filters: a small tree, written once as GraphQL's filter and once as IR.

texts = st.sampled_from(["Alpha 0", "al", "gamma", "店", "Beta", "zzz", ""])
LEAVES = {
    "name": st.tuples(st.sampled_from(["eq", "neq", "startsWith", "contains", "in"]), texts),
    "rating": st.tuples(
        st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte", "in", "notIn"]),
        st.integers(-1, 11),
    ),
    "opened": st.tuples(
        st.sampled_from(["gt", "lte", "eq"]),
        st.dates(dt.date(2025, 12, 1), dt.date(2027, 1, 1)).map(str),
    ),
    "active": st.tuples(st.just("eq"), st.booleans()),
    "isNull": st.tuples(st.sampled_from(["rating", "opened", "active", "price"]), st.booleans()),
    "price": st.tuples(
        st.sampled_from(["gte", "lt"]), st.integers(0, 500).map(lambda n: f"{n}.25")
    ),
}
leaf = st.sampled_from(sorted(LEAVES)).flatmap(
    lambda name: LEAVES[name].map(lambda opv: ("leaf", name, *opv))
)


def _grow(inner: Any) -> Any:
    return st.one_of(
        st.tuples(st.just("and"), st.lists(inner, max_size=3)),
        st.tuples(st.just("or"), st.lists(inner, max_size=3)),
        st.tuples(st.just("not"), inner),
        st.tuples(
            st.just("visits"),
            st.sampled_from(["some", "none", "every"]),
            st.tuples(st.just("score"), st.sampled_from(["gt", "lte"]), st.integers(0, 25)),
        ),
        st.tuples(st.just("city"), st.sampled_from(["杭州", "Shanghai", "Nowhere"])),
    )


filters = st.recursive(leaf, _grow, max_leaves=6)


def _list_value(op: str, value: Any) -> Any:
    return (
        [value, value + 1]
        if op in ("in", "notIn") and isinstance(value, int)
        else ([value, "Beta 0"] if op in ("in", "notIn") else value)
    )


def as_graphql(spec: Any) -> dict[str, Any]:
    kind = spec[0]
    if kind == "leaf":
        _, name, op, value = spec
        if name == "isNull":
            if op == "price":
                return {"price": {"isNull": value}}
            return {op: {"isNull": value}}
        if name == "price":
            return {"price": {"amount": {op: value}}}
        return {name: {op: _list_value(op, value)}}
    if kind in ("and", "or"):
        return {kind: [as_graphql(s) for s in spec[1]]}
    if kind == "not":
        return {"not": as_graphql(spec[1])}
    if kind == "visits":
        _, quantifier, (field, op, value) = spec
        return {"visits": {quantifier: {field: {op: str(value)}}}}
    return {"city": {"name": {"eq": spec[1]}}}


def as_ir(spec: Any, at: tuple[str | int, ...] = ()) -> ir.Condition:
    kind = spec[0]
    if kind == "leaf":
        _, name, op, value = spec
        if name == "isNull":
            return ir.Compare(op, "isNull", value)
        return ir.Compare(name, op, _list_value(op, value), at=at)
    if kind == "and":
        return ir.AllOf(tuple(as_ir(s) for s in spec[1]))
    if kind == "or":
        return ir.AnyOf(tuple(as_ir(s) for s in spec[1]))
    if kind == "not":
        return ir.Not(as_ir(spec[1]))
    if kind == "visits":
        _, quantifier, (field, op, value) = spec
        return ir.Related("visits", quantifier, ir.Compare(field, op, str(value)))
    return ir.Related("city", "one", ir.Compare("name", "eq", spec[1]))


# Generated orders and selections.

SORTABLE = ["name", "rating", "opened", "active", "city.name"]
orders = st.lists(
    st.tuples(st.sampled_from(SORTABLE), st.sampled_from(["ASC", "DESC", "DESC_NULLS_LAST"])),
    max_size=3,
    unique_by=lambda t: t[0],
)
DIRECTIONS = {"ASC": (False, True), "DESC": (True, False), "DESC_NULLS_LAST": (True, True)}
SCALARS = ["id", "name", "rating", "opened", "active", "cityId", "secret"]
selections = st.tuples(
    st.lists(st.sampled_from(SCALARS), min_size=1, max_size=5, unique=True),
    st.booleans(),  # price { amount currencyCode }
    st.booleans(),  # city { name }
    st.one_of(st.none(), st.integers(0, 3)),  # visits(first: n) { note score }
)


def graphql_selection(select: Any, rep: bool) -> str:
    scalars, price, city, visits = select
    parts = [s for s in scalars if not (rep and s == "secret")]
    if price:
        parts.append("price { amount currencyCode }")
    if city:
        parts.append("city { name }")
    if visits is not None:
        parts.append(f"visits(first: {visits}, orderBy: [{{note: ASC}}]) {{ note score }}")
    return " ".join(parts or ["id"])


def ir_selection(select: Any, rep: bool) -> ir.Select:
    scalars, price, city, visits = select
    items: list[tuple[str, ir.Item]] = [
        (s, ir.Value(s)) for s in scalars if not (rep and s == "secret")
    ]
    if price:
        items.append(
            ("price", ir.Parts("price", (("amount", "amount"), ("currencyCode", "currencyCode"))))
        )
    if city:
        items.append(("city", ir.One("city", ir.Select("city", (("name", ir.Value("name")),)))))
    if visits is not None:
        note = ir.Select("visit", (("note", ir.Value("note")), ("score", ir.Value("score"))))
        items.append(("visits", ir.Many("visits", note, order=(ir.Sort(("note",)),), limit=visits)))
    return ir.Select("shop", tuple(items) or (("id", ir.Value("id")),))


def graphql_order(order: list[tuple[str, str]]) -> list[dict[str, Any]]:
    out = []
    for path, direction in order:
        if "." in path:
            relation, field = path.split(".")
            out.append({relation: {field: direction}})
        else:
            out.append({path: direction})
    return out


def ir_order(order: list[tuple[str, str]]) -> tuple[ir.Sort, ...]:
    return tuple(ir.Sort(tuple(path.split(".")), *DIRECTIONS[d]) for path, d in order)


def _graphql(shops: Any, who: Principal, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    service, apis, _ = shops
    api, timezone = apis.get(TENANT, who.grants)
    body = json.loads(
        run(api, service.backend, Request(TENANT, who, query, variables, None, timezone))
    )
    assert "errors" not in body, body["errors"]
    return body["data"]


def _ir(shops: Any, who: Principal, query: ir.Query) -> Any:
    service, apis, _ = shops
    with service.backend.read_tenant(TENANT) as conn:
        return read(conn, scope_of(service, apis, TENANT, who), query)


def _who(shops: Any, rep: bool) -> Principal:
    return shops[2] if rep else Principal.system(TENANT)


EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@EXAMPLES
@given(spec=filters, order=orders, select=selections, rep=st.booleans(), first=st.integers(0, 30))
def test_a_list_reads_the_same_from_graphql_and_from_hand_built_ir(
    shops, spec, order, select, rep, first
):
    who = _who(shops, rep)
    query = (
        "query($f: ShopFilter, $o: [ShopOrderBy!], $n: Int) { shops(filter: $f, orderBy: $o, "
        f"first: $n) {{ totalCount nodes {{ {graphql_selection(select, rep)} }} }} }}"
    )
    variables = {"f": as_graphql(spec), "o": graphql_order(order), "n": first}
    expected = _graphql(shops, who, query, variables)["shops"]
    built = ir.ListRecords(
        "shop",
        ir.Page(first),
        ir_selection(select, rep),
        (("totalCount", ir.Count()), ("nodes", ir.Nodes())),
        where=as_ir(spec),
        order=ir_order(order),
    )
    assert _ir(shops, who, built) == expected
    # The reader sees at most its own rows: the rep's are a subset of everyone's.
    assert expected["totalCount"] <= 24


@EXAMPLES
@given(spec=filters, rep=st.booleans(), by=st.sampled_from(["active", "cityId", "opened"]))
def test_aggregates_read_the_same_from_graphql_and_from_hand_built_ir(shops, spec, rep, by):
    who = _who(shops, rep)
    granularity = ", granularity: MONTH" if by == "opened" else ""
    query = (
        f"query($f: ShopFilter) {{ shopsAggregate(filter: $f, groupBy: [{{field: {by}"
        f"{granularity}}}]) {{ key {{ {by} }} count sum {{ rating }} avg {{ rating }} "
        "max { opened price } } }"
    )
    expected = _graphql(shops, who, query, {"f": as_graphql(spec)})["shopsAggregate"]
    built = ir.AggregateRecords(
        "shop",
        1000,
        (
            ("key", ir.GroupKey(((by, by),))),
            ("count", ir.Count()),
            ("sum", ir.Measure("sum", (("rating", "rating"),))),
            ("avg", ir.Measure("avg", (("rating", "rating"),))),
            ("max", ir.Measure("max", (("opened", "opened"), ("price", "price")))),
        ),
        (ir.Group(by, "month" if by == "opened" else None),),
        where=as_ir(spec),
    )
    assert _ir(shops, who, built) == expected


def test_the_ir_reads_only_what_the_reader_may(shops):
    _service, _, rep = shops
    everyone = _ir(shops, Principal.system(TENANT), _names())
    mine = _ir(shops, rep, _names())
    assert len(everyone["nodes"]) == 24 and len(mine["nodes"]) == 16  # owner is the rep for 2 in 3
    assert {n["name"] for n in mine["nodes"]} < {n["name"] for n in everyone["nodes"]}
    # The field mask: a field hidden from the reader does not exist for it.
    hidden = ir.ListRecords(
        "shop", ir.Page(5), ir.Select("shop", (("secret", ir.Value("secret")),))
    )
    assert _ir(shops, Principal.system(TENANT), hidden)["nodes"][0]["secret"].startswith("s")
    with pytest.raises(QueryError, match="no field 'secret'"):
        _ir(shops, rep, hidden)
    filtered = ir.ListRecords(
        "shop", ir.Page(5), _names().select, where=ir.Compare("secret", "eq", "s1", at=("f",))
    )
    with pytest.raises(QueryError, match="no field 'secret'") as refused:
        _ir(shops, rep, filtered)
    assert refused.value.field == ["f"]


def test_a_hand_built_query_is_bounded_and_its_values_are_checked(shops):
    system = Principal.system(TENANT)
    with pytest.raises(QueryError, match="outside 0-1000") as big:
        _ir(shops, system, ir.ListRecords("shop", ir.Page(5000), _names().select))
    assert big.value.code == "LIMIT_EXCEEDED"
    bad = ir.ListRecords(
        "shop",
        ir.Page(5),
        _names().select,
        where=ir.Compare("rating", "eq", "many", at=("f", "rating")),
    )
    with pytest.raises(QueryError) as refused:
        _ir(shops, system, bad)
    assert refused.value.field == ["f", "rating", "eq"]
    with pytest.raises(QueryError, match="no relation 'owners'"):
        _ir(
            shops,
            system,
            ir.ListRecords(
                "shop",
                ir.Page(5),
                _names().select,
                where=ir.Related("owners", "some", ir.EVERYTHING),
            ),
        )


def _names() -> ir.ListRecords:
    return ir.ListRecords(
        "shop",
        ir.Page(100),
        ir.Select("shop", (("name", ir.Value("name")),)),
        order=(ir.Sort(("name",)),),
    )
