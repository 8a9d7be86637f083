"""Expressions mean the same compiled to SQL (on both backends) and evaluated in Python."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from metadata.errors import MetadataError
from metadata.expressions import ExpressionError, check
from metadata.expressions.checker import BOOLEAN, DATE, NUMBER
from metadata.validation import validate_text
from runtime.expressions.evaluate import Scope, evaluate
from runtime.expressions.sql import to_sql
from runtime.sql.dialect import dialect_for
from runtime.storage.records import insert_records
from runtime.storage.tables import build_table

META = """
objects:
  account:
    fields:
      name: {type: text}
      industry: {type: picklist, values: [manufacturing, retail]}
      founded: {type: date}
      parent: {type: lookup, to: account, related_name: children}
      title: {type: formula, returns: text, expression: "name & ' (' & TEXT(founded) & ')'"}
  deal:
    fields:
      name: {type: text}
      code: {type: text}
      amount: {type: currency}
      quantity: {type: integer}
      discount: {type: percent}
      close_date: {type: date}
      won: {type: boolean}
      signed_at: {type: datetime}
      reviewed_at: {type: datetime}
      account: {type: lookup, to: account}
      net: {type: formula, returns: number, expression: "amount * (1 - discount / 100)"}
      net_twice: {type: formula, returns: number, expression: "net * 2"}
"""
TODAY = dt.date(2026, 11, 23)

EXPRESSIONS = [
    "amount * (1 - discount / 100)",
    "quantity / 4",
    "quantity / 0",
    "-quantity + 2 * 3",
    "ROUND(amount / 3, 2)",
    "ABS(0 - amount)",
    "name & ' / ' & code",
    "LEN(name)",
    "TRIM(code)",
    "LEFT(name, 2) & '|' & RIGHT(name, 3) & '|' & LEFT(name, -1) & '|' & RIGHT(name, 0)",
    "LEFT(name, quantity)",
    "CONTAINS(name, '精密') || BEGINS(name, 'Nor')",
    "name < 'Z'",
    "name > code",
    "ISBLANK(code) && NOT ISBLANK(name)",
    "BLANKVALUE(code, 'none')",
    "IF(won, 'won', IF(amount > 1000, 'big', 'small'))",
    "IF(NULL, 1, 2)",
    "won = TRUE OR quantity >= 10",
    "NOT won",
    "account.name",
    "account.parent.name",
    "account.parent.industry = 'manufacturing'",
    "TEXT(account.founded) & ' ' & TEXT(close_date)",
    "TEXT(account)",
    "ADDDAYS(close_date, 30)",
    "ADDDAYS(close_date, -2.7)",
    "DATEDIFF(TODAY(), close_date)",
    "DATEDIFF(account.founded, close_date) > 365",
    "YEAR(close_date) * 10000 + MONTH(close_date) * 100 + DAY(close_date)",
    "close_date < DATEVALUE('2027-01-01')",
    "ISBLANK(account.parent)",
    "account.parent = account",
    "amount = NULL",
    "signed_at < NOW()",
    "signed_at >= NOW() || ISBLANK(signed_at)",
    "signed_at < reviewed_at",
    "signed_at = reviewed_at",
    "IF(reviewed_at > signed_at, 'reviewed after', 'not after')",
    # Formulas referring to formulas, here and through a lookup.
    "net_twice + 1",
    "account.title",
    "account.parent.title & '/' & TEXT(close_date)",
    # Datetime arithmetic.
    "ADDHOURS(signed_at, 36) > reviewed_at",
    "ADDHOURS(signed_at, -0.5) < signed_at",
    "ADDDAYS(signed_at, 2) < NOW()",
    "ADDDAYS(signed_at, 1) = ADDHOURS(signed_at, 24)",
]


@pytest.fixture
def crm(service):
    service.create_tenant("expr")
    metadata = validate_text(META)
    service.apply("expr", metadata)
    model = metadata.model
    backend = service.backend
    schema = backend.schema("expr")
    accounts: dict[Any, dict[str, Any]] = {}
    group = {"name": "华信集团", "industry": "manufacturing", "founded": dt.date(1998, 3, 1)}
    deals = []
    with backend.begin_tenant("expr") as conn:

        def add(obj: str, values: dict[str, Any]) -> Any:
            [record_id] = insert_records(conn, model, obj, [values], schema=schema)
            return record_id

        group_id = add("account", group)
        accounts[group_id] = group
        plant = {"name": "华信精密", "industry": "retail", "founded": dt.date(2010, 6, 30)}
        plant["parent"] = group_id
        plant_id = add("account", plant)
        accounts[plant_id] = plant
        gone = {"name": "Gone Ltd", "parent": group_id}
        gone_id = add("account", gone)
        table = build_table(model, "account", schema=schema, dialect=conn.dialect.name)
        conn.execute(
            update(table).where(table.c.id == gone_id).values(deleted_at=dt.datetime.now(dt.UTC))
        )
        rows = [
            {
                "name": "华信精密 MES",
                "code": "  MES-2 ",
                "amount": Decimal("3400000.00"),
                "quantity": 3,
                "discount": Decimal("12.5"),
                "close_date": dt.date(2027, 2, 28),
                "won": False,
                "signed_at": dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC),
                "reviewed_at": dt.datetime(2026, 3, 1, 9, 30, 0, 500, tzinfo=dt.UTC),
                "account": plant_id,
            },
            {
                "name": "Northwind",
                "code": "",
                "quantity": 10,
                "won": True,
                "signed_at": dt.datetime(2040, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))),
                "reviewed_at": dt.datetime(2039, 12, 31, 16, 0, tzinfo=dt.UTC),
                "account": group_id,
            },
            {"name": "Zeta", "amount": Decimal("999.99"), "close_date": dt.date(2026, 12, 31)},
            {"name": "Orphan", "quantity": 0, "account": gone_id, "won": None},
        ]
        for values in rows:
            deals.append((add("deal", values), values))
    return service, model, accounts, deals


def _sql_value(service, model, typed, deal_id) -> Any:
    backend = service.backend
    dialect = dialect_for(backend.dialect, backend.schema("expr"))

    class Binder:
        def __init__(self) -> None:
            self.dialect = dialect
            self.params: dict[str, Any] = {}

        def param(self, value: Any) -> str:
            key = f"p{len(self.params)}"
            self.params[key] = value
            return dialect.placeholder(key)

    binder = Binder()
    expression = to_sql(typed, "t", binder, today=TODAY)
    key = binder.param(dialect.bind_uuid(deal_id))
    sql = f'SELECT {expression} FROM {dialect.table("deal")} t WHERE t."id" = {key}'
    with backend.read_tenant("expr") as conn:
        return conn.exec_driver_sql(sql, binder.params).scalar_one()


def _same(value: Any, kind: str) -> Any:
    """Bring a database or Python value to one form for comparison."""
    if value is None:
        return None
    if kind == NUMBER:
        return Decimal(str(value)).quantize(Decimal("0.000001"))
    if kind == BOOLEAN:
        return bool(value)
    if kind == DATE:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return str(value)


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_sql_and_python_agree(crm, text):
    service, model, accounts, deals = crm
    typed = check(text, model, "deal")
    results = []
    for deal_id, values in deals:
        in_db = _sql_value(service, model, typed, deal_id)
        scope = Scope(
            record={"id": deal_id, **values}, today=TODAY, load=lambda _obj, i: accounts.get(i)
        )
        in_python = evaluate(typed, scope)
        assert _same(in_db, typed.type) == _same(in_python, typed.type), (text, values["name"])
        results.append(_same(in_python, typed.type))
    if text not in ("quantity / 0", "IF(NULL, 1, 2)", "amount = NULL"):
        # Each expression says something about the data (guards against all-null agreement).
        assert any(r is not None for r in results), text


def test_some_values_the_engine_must_get_right(crm):
    service, model, accounts, deals = crm
    _, mes = deals[0]

    def value(text: str) -> Any:
        return evaluate(
            check(text, model, "deal"),
            Scope(record=mes, today=TODAY, load=lambda _obj, i: accounts.get(i)),
        )

    assert value("amount * (1 - discount / 100)") == Decimal("2975000.000")
    assert value("account.parent.name") == "华信集团"
    assert value("TRIM(code)") == "MES-2"
    assert value("ADDDAYS(close_date, 1)") == dt.date(2027, 3, 1)
    assert value("DATEDIFF(TODAY(), close_date)") == 97
    assert value("ROUND(amount / 3, 2)") == Decimal("1133333.33")
    # Datetimes compare as moments, whatever zone they were written in.
    _, northwind = deals[1]
    moment = check("signed_at = reviewed_at", model, "deal")
    assert evaluate(moment, Scope(record=northwind, today=TODAY)) is True
    assert value("signed_at < reviewed_at") is True  # by half a millisecond
    orphan_id, _ = deals[3]
    # A lookup to a soft-deleted record reads as null in SQL.
    assert _sql_value(service, model, check("account.name", model, "deal"), orphan_id) is None


def test_formulas_refer_to_formulas_but_never_in_a_cycle():
    model = validate_text(META).model
    record = {"amount": Decimal("100"), "discount": Decimal("10")}
    assert evaluate(check("net_twice", model, "deal"), Scope(record, TODAY)) == Decimal("180")
    cyclic = META.replace('"net * 2"', '"net_thrice / 3"').replace(
        "      net_twice:",
        '      net_thrice: {type: formula, returns: number, expression: "net_twice * 3"}\n'
        "      net_twice:",
    )
    with pytest.raises(MetadataError) as caught:
        validate_text(cyclic)
    report = caught.value.report()
    assert "cycle: deal.net_twice → deal.net_thrice → deal.net_twice" in report, report


def test_engine_functions_know_the_caller_and_the_calendar():
    from metadata.calendar import Calendar
    from runtime.expressions.evaluate import Caller

    model = validate_text(META + "roles:\n  boss: {}\n  rep: {reports_to: boss}\n").model
    # 2026-10-01..07 is a holiday; Sunday 2026-09-27 and Saturday 2026-10-10 are worked.
    calendar = Calendar(
        holidays=frozenset(dt.date(2026, 10, d) for d in range(1, 8)),
        workdays=frozenset({dt.date(2026, 9, 27), dt.date(2026, 10, 10)}),
    )
    counted: list[str] = []
    caller = Caller(
        user_id="u1",
        facts=lambda: ("boss", frozenset({"rep", "boss"})),
        count=lambda obj, condition: counted.append(obj) or 7,
    )

    def value(text: str, record: dict[str, Any]) -> Any:
        typed = check(text, model, "deal", engine=True)
        return evaluate(typed, Scope(record, TODAY, calendar=calendar, caller=caller))

    sept30 = {"close_date": dt.date(2026, 9, 30)}
    assert value("ADDWORKDAYS(close_date, 1)", sept30) == dt.date(2026, 10, 8)
    assert value("ADDWORKDAYS(close_date, 3)", sept30) == dt.date(2026, 10, 10)
    assert value("ADDWORKDAYS(close_date, -2)", sept30) == dt.date(2026, 9, 28)
    assert value("WORKDAYS(close_date, DATEVALUE('2026-10-12'))", sept30) == 4
    assert value("COUNT('account', industry = 'retail') < 10", {}) is True
    assert counted == ["account"]
    assert value("ROLE() = 'boss' AND ISMEMBER('rep') AND ISMEMBER('boss')", {}) is True
    assert str(value("USERID()", {})) == "u1"
    with pytest.raises(ExpressionError, match="there is no role 'chief'"):
        check("ISMEMBER('chief')", model, "deal", engine=True)
    with pytest.raises(ExpressionError, match="there is no object 'leed'"):
        check("COUNT('leed', TRUE) > 1", model, "deal", engine=True)


def test_prior_values_in_rules():
    model = validate_text(META).model
    rule = check(
        "ISCHANGED(won) && won && PRIORVALUE(quantity) < quantity", model, "deal", prior=True
    )
    before = {"won": False, "quantity": 1}
    assert evaluate(rule, Scope({"won": True, "quantity": 2}, TODAY, prior=before)) is True
    assert evaluate(rule, Scope({"won": False, "quantity": 2}, TODAY, prior=before)) is False
    # Creating a record: nothing has changed yet.
    assert evaluate(rule, Scope({"won": True, "quantity": 2}, TODAY)) is False
    new = check("ISNEW()", model, "deal", prior=True)
    assert evaluate(new, Scope({}, TODAY)) is True
    assert evaluate(new, Scope({}, TODAY, prior={})) is False


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("amount +", 9, "expected a value"),
        ("(amount", 8, "expected ')'"),
        ("amount * * 2", 10, "expected a value"),
        ("amount 2", 8, "an operator or the end"),
        ("'open", 1, "no closing '"),
        ("amount # 2", 8, "unexpected character '#'"),
        ("amout > 3", 1, "did you mean 'amount'"),
        ("name.first", 1, "not a lookup"),
        ("account.nmae", 1, "account has no field 'nmae'"),
        ("name & 3", 8, "wrap other values in TEXT()"),
        ("quantity < 1 < 2", 14, "do not chain"),
        ("close_date + 1", 1, "ADDDAYS"),
        ("won < TRUE", 5, "use = or !="),
        ("IF(won, 1, 'one')", 12, "one type"),
        ("ISCHANGED(won)", 1, "previous values"),
        ("LEN()", 1, "takes 1 argument"),
        ("FOO(1)", 1, "there is no function FOO"),
        ("ROUND(amount, quantity)", 15, "written out"),
        ("DATEVALUE('2026-02-30')", 11, "not a date"),
        ("TEXT(amount)", 6, "cannot be shown yet"),
        ("ADDWORKDAYS(close_date, 2)", 1, "workflow engine"),
        ("COUNT('deal', won)", 1, "workflow engine"),
        ("ADDDAYS(name, 2)", 9, "date or datetime"),
        ("", 1, "empty"),
    ],
)
def test_mistakes_are_reported_where_they_are(text, column, words):
    model = validate_text(META).model
    with pytest.raises(ExpressionError) as caught:
        check(text, model, "deal")
    assert caught.value.column == column, str(caught.value)
    assert words in str(caught.value)


def test_a_condition_must_be_boolean():
    model = validate_text(META).model
    with pytest.raises(ExpressionError, match="gives a number, but a boolean is needed"):
        check("quantity + 1", model, "deal", expect=BOOLEAN)
    assert check("quantity > 1", model, "deal", expect=BOOLEAN).type == BOOLEAN


def test_constants_are_bound_parameters():
    model = validate_text(META).model
    dialect = dialect_for("postgresql", "tenant_x")

    class Binder:
        def __init__(self) -> None:
            self.dialect = dialect
            self.params: dict[str, Any] = {}

        def param(self, value: Any) -> str:
            self.params[f"p{len(self.params)}"] = value
            return dialect.placeholder(f"p{len(self.params) - 1}")

    binder = Binder()
    hostile = "x'); DROP TABLE deal; --"
    sql = to_sql(check(f'name = "{hostile}"', model, "deal"), "t", binder, today=TODAY)
    assert hostile not in sql and list(binder.params.values()) == [hostile]
    assert sql == '(t."name" = %(p0)s)'
