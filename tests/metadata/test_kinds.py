"""Field kinds: one per catalogue type, documented, and reading text as people write it
in English and Chinese, with errors that name the value and the forms that read."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from metadata.field_types import TYPES
from metadata.kinds import KIND_NAMES_ZH, KINDS, ValueProblem, kind_of
from metadata.kinds import docs as kind_docs
from metadata.validation import validate_data

ROOT = Path(__file__).parents[2]

MODEL = validate_data(
    {
        "objects": {
            "lead": {
                "fields": {
                    "name": {"type": "text", "max_length": 20},
                    "notes": {"type": "long_text"},
                    "body": {"type": "rich_text"},
                    "employees": {"type": "integer"},
                    "rate": {"type": "decimal", "precision": 10, "scale": 2},
                    "budget": {"type": "currency"},
                    "budget_jpy": {"type": "currency", "default_currency": "JPY"},
                    "probability": {"type": "percent"},
                    "vip": {"type": "boolean"},
                    "due": {"type": "date"},
                    "met_at": {"type": "datetime"},
                    "call_at": {"type": "time"},
                    "talk": {"type": "duration"},
                    "email": {"type": "email"},
                    "phone": {"type": "phone"},
                    "site": {"type": "url"},
                    "status": {
                        "type": "picklist",
                        "values": [
                            {"value": "new", "label": {"en": "New", "zh-CN": "新建"}},
                            {"value": "qualified", "label": {"en": "Qualified", "zh-CN": "已确认"}},
                        ],
                    },
                    "tags": {
                        "type": "multi_picklist",
                        "values": [
                            {"value": "hot", "label": {"en": "Hot", "zh-CN": "热门"}},
                            {"value": "vip", "label": {"en": "VIP", "zh-CN": "大客户"}},
                        ],
                    },
                    "account": {"type": "lookup", "to": "account"},
                    "number": {"type": "auto_number", "format": "L-{0000}"},
                    "extra": {"type": "json"},
                    "score": {
                        "type": "formula",
                        "expression": "employees * 2",
                        "returns": "number",
                    },
                    "ref": {"type": "uuid"},
                    "lead_count": {"type": "rollup", "from": "contract.lead", "function": "count"},
                    "office": {"type": "address"},
                    "scan": {"type": "attachment", "content_types": ["application/pdf"]},
                    "about": {"type": "polymorphic_lookup", "to": ["account", "contract"]},
                    "spot": {"type": "geolocation"},
                }
            },
            "account": {"fields": {"name": {"type": "text"}}},
            "contract": {
                "fields": {
                    "lead": {"type": "master_detail", "to": "lead"},
                }
            },
        }
    }
).model
LEAD = MODEL.objects["lead"]
UID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def field(name: str):
    for obj in MODEL.objects.values():
        if name in obj.fields:
            return obj.fields[name]
    raise KeyError(name)


def test_every_catalogue_type_has_a_kind_and_no_kind_lacks_a_type():
    assert list(KINDS) == list(TYPES)
    assert all(KINDS[name].name == name for name in TYPES)
    assert len(KINDS) >= 26
    # Every kind has a Chinese name for its messages.
    assert set(KIND_NAMES_ZH) == set(KINDS)


def test_every_kind_is_documented_and_the_table_is_current():
    text = (ROOT / "docs" / "metadata.md").read_text(encoding="utf-8")
    assert kind_docs.rewrite(text) == text, "run: python -m metadata.kinds.docs --write"
    for name in KINDS:
        assert f"| `{name}` |" in text


def test_the_docs_table_is_made_from_the_kinds():
    table = kind_docs.markdown()
    assert table.count("\n") == len(KINDS) + 1
    assert "| `currency` | amount `numeric`, code `code` | `CurrencyAmount` |" in table


# Every kind, read from text in both locales: (field, text, locale, value).
READS = [
    ("name", "  华信科技  ", "zh-CN", "华信科技"),
    ("name", "Acme", "en", "Acme"),
    ("notes", "第一行\n第二行", "zh-CN", "第一行\n第二行"),
    ("body", "<p>Hi</p>", "en", "<p>Hi</p>"),
    ("employees", "1,234", "en", 1234),
    ("employees", "１，２３４", "zh-CN", 1234),
    ("employees", "-12", "en", -12),
    ("rate", "1,234.50", "en", Decimal("1234.50")),
    ("rate", "１２.５", "zh-CN", Decimal("12.5")),
    ("budget", "¥1,200", "zh-CN", {"amount": Decimal("1200"), "currency_code": "CNY"}),
    ("budget", "￥1,200.50", "zh-CN", {"amount": Decimal("1200.50"), "currency_code": "CNY"}),
    ("budget", "1,200 元", "zh-CN", {"amount": Decimal("1200"), "currency_code": "CNY"}),
    ("budget", "100美元", "zh-CN", {"amount": Decimal("100"), "currency_code": "USD"}),
    ("budget", "$35.5", "en", {"amount": Decimal("35.5"), "currency_code": "USD"}),
    ("budget", "USD 99", "en", {"amount": Decimal("99"), "currency_code": "USD"}),
    ("budget", "1,200 EUR", "en", {"amount": Decimal("1200"), "currency_code": "EUR"}),
    ("budget", "1200", "en", {"amount": Decimal("1200"), "currency_code": "CNY"}),
    ("budget_jpy", "¥5,000", "en", {"amount": Decimal("5000"), "currency_code": "JPY"}),
    ("probability", "12.5%", "en", Decimal("12.5")),
    ("probability", "３０％", "zh-CN", Decimal("30")),
    ("vip", "是", "zh-CN", True),
    ("vip", "否", "zh-CN", False),
    ("vip", "Yes", "en", True),
    ("vip", "0", "en", False),
    ("due", "2026-12-01", "en", dt.date(2026, 12, 1)),
    ("due", "2026/12/1", "zh-CN", dt.date(2026, 12, 1)),
    ("due", "2026年12月1日", "zh-CN", dt.date(2026, 12, 1)),
    ("due", "2026.12.1", "zh-CN", dt.date(2026, 12, 1)),
    ("due", "12/1/2026", "en", dt.date(2026, 12, 1)),
    ("met_at", "2026-12-01T09:30:00+08:00", "en", dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.UTC)),
    ("met_at", "2026/12/1 09:30", "zh-CN", dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)),
    (
        "met_at",
        "2026年12月1日 下午3点30分",
        "zh-CN",
        dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC),
    ),
    ("met_at", "12/1/2026 3:30 PM", "en", dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)),
    ("call_at", "09:30", "en", dt.time(9, 30)),
    ("call_at", "9:30:15", "en", dt.time(9, 30, 15)),
    ("call_at", "3:30 PM", "en", dt.time(15, 30)),
    ("call_at", "下午3点30分", "zh-CN", dt.time(15, 30)),
    ("call_at", "上午9点", "zh-CN", dt.time(9, 0)),
    ("talk", "5400", "en", 5400),
    ("talk", "1:30:00", "en", 5400),
    ("talk", "1h 30m", "en", 5400),
    ("talk", "1小时30分钟", "zh-CN", 5400),
    ("talk", "2天", "zh-CN", 172800),
    ("email", "Li.Lei@Example.CN", "en", "li.lei@example.cn"),
    ("phone", "+86 138 0013 8000", "zh-CN", "+86 138 0013 8000"),
    ("site", "https://example.cn", "en", "https://example.cn"),
    ("status", "qualified", "en", "qualified"),
    ("status", "Qualified", "en", "qualified"),
    ("status", "已确认", "zh-CN", "qualified"),
    ("tags", "热门、大客户", "zh-CN", ["hot", "vip"]),
    ("tags", "Hot; VIP", "en", ["hot", "vip"]),
    ("account", UID, "en", uuid.UUID(UID)),
    ("lead", UID.upper(), "zh-CN", uuid.UUID(UID)),
    ("ref", UID, "en", uuid.UUID(UID)),
    ("extra", '{"a": [1, 2]}', "en", {"a": [1, 2]}),
    ("name", "   ", "en", None),
    (
        "office",
        "广东省深圳市南山区科技园路1号 518057",
        "zh-CN",
        {
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "street": "科技园路1号",
            "postal_code": "518057",
        },
    ),
    (
        "office",
        "中国北京市朝阳区建国路88号",
        "zh-CN",
        {
            "country": "中国",
            "province": "北京市",
            "city": "北京市",
            "district": "朝阳区",
            "street": "建国路88号",
        },
    ),
    (
        "office",
        "1 Keyuan Rd, Shenzhen, Guangdong 518057, China",
        "en",
        {
            "street": "1 Keyuan Rd",
            "city": "Shenzhen",
            "province": "Guangdong",
            "postal_code": "518057",
            "country": "China",
        },
    ),
    (
        "office",
        "中国|浙江省|杭州市||文三路90号|",
        "en",
        {"country": "中国", "province": "浙江省", "city": "杭州市", "street": "文三路90号"},
    ),
    ("about", f"account:{UID}", "en", {"object": "account", "id": uuid.UUID(UID)}),
    ("about", f"contract : {UID}", "zh-CN", {"object": "contract", "id": uuid.UUID(UID)}),
    ("spot", "31.2304, 121.4737", "en", {"latitude": 31.2304, "longitude": 121.4737}),
    ("spot", "31.2304°N, 121.4737°E", "en", {"latitude": 31.2304, "longitude": 121.4737}),
    ("spot", "33.87°S 151.21°E", "en", {"latitude": -33.87, "longitude": 151.21}),
    ("spot", "北纬31.2304 东经121.4737", "zh-CN", {"latitude": 31.2304, "longitude": 121.4737}),
    ("spot", "东经121.4737，北纬31.2304", "zh-CN", {"latitude": 31.2304, "longitude": 121.4737}),
]


@pytest.mark.parametrize(("name", "text", "locale", "value"), READS)
def test_text_reads_as_people_write_it(name, text, locale, value):
    f = field(name)
    assert kind_of(f.type).from_text(f, text, locale) == value


def test_every_stored_kind_has_text_reads_in_both_locales():
    by_type: dict[str, set[str]] = {}
    for name, _, locale, _ in READS:
        by_type.setdefault(field(name).type, set()).add(locale)
    writable = {n for n, k in KINDS.items() if k.writable}
    assert writable <= set(by_type)
    # English and Chinese forms for every kind whose forms differ by language.
    for kind in ("integer", "decimal", "currency", "percent", "boolean", "date", "datetime"):
        assert by_type[kind] == {"en", "zh-CN"}, kind
    for kind in ("time", "duration", "picklist", "multi_picklist", "address", "geolocation"):
        assert by_type[kind] == {"en", "zh-CN"}, kind
    for kind in ("polymorphic_lookup",):
        assert by_type[kind] == {"en", "zh-CN"}, kind


# Text that does not read: (field, text, locale, words the English message must hold,
# words the Chinese one must hold).
REFUSALS = [
    ("employees", "12.5", "en", ["'12.5'", "whole number"], ["整数"]),
    ("employees", "lots", "en", ["'lots'", "1,234"], ["数字"]),
    ("rate", "1.2.3", "zh-CN", ["'1.2.3'", "1,234.50"], ["数字"]),
    ("budget", "¥ lots", "zh-CN", ["'¥ lots'", "¥1,200"], ["金额", "1,200 元"]),
    ("budget", "12 XX1", "en", ["'12 XX1'", "USD 99"], ["金额"]),
    ("vip", "maybe", "en", ["'maybe'", "yes or no"], ["是或否"]),
    ("due", "31/12/2026", "zh-CN", ["'31/12/2026'", "2026年12月1日"], ["日期", "2026/12/1"]),
    ("due", "2026-02-30", "en", ["'2026-02-30'", "12/1/2026"], ["日期"]),
    ("due", "13/1/2026", "en", ["'13/1/2026'", "month first"], ["月在前"]),
    ("met_at", "tomorrow", "en", ["'tomorrow'", "09:30"], ["日期加时间"]),
    ("call_at", "25:00", "en", ["'25:00'", "3:30 PM"], ["时间", "下午3点30分"]),
    ("talk", "a while", "en", ["'a while'", "1h 30m"], ["时长", "1小时30分钟"]),
    ("status", "won", "en", ["'won'", "new, qualified"], ["'won'", "可选值"]),
    ("tags", "hot、cold", "zh-CN", ["'cold'", "hot, vip"], ["可选值"]),
    ("account", "ACME", "en", ["'ACME'", "UUID"], ["ID"]),
    ("lead", "L-0001", "zh-CN", ["'L-0001'", "UUID"], ["ID"]),
    ("ref", "12345", "en", ["'12345'", "UUID"], ["UUID"]),
    ("probability", "half", "en", ["'half'", "1,234.50"], ["数字"]),
    ("extra", "{nope", "en", ["'{nope'", "JSON"], ["JSON"]),
    ("number", "L-0001", "en", ["number", "platform"], ["自动编号"]),
    ("score", "3", "en", ["score", "computed"], ["计算"]),
    ("lead_count", "3", "en", ["lead_count", "computed"], ["计算"]),
    ("office", "somewhere", "en", ["'somewhere'", "Chinese order"], ["地址", "科技园路1号"]),
    ("spot", "here", "en", ["'here'", "31.2304, 121.4737"], ["纬度, 经度"]),
    ("about", UID, "en", ["object:id", "account:<uuid>"], ["对象:ID"]),
    ("scan", "contract.pdf", "en", ["scan holds a file", "files API"], ["附件", "文件接口"]),
    ("about", f"lead:{UID}", "en", ["account, contract, not 'lead'"], ["只能关联"]),
    ("spot", "95, 10", "en", ["latitude 95.0 is out of range"], ["纬度 95.0 超出范围"]),
]


@pytest.mark.parametrize(("name", "text", "locale", "en", "zh"), REFUSALS)
def test_text_that_does_not_read_is_named_with_the_forms_that_do(name, text, locale, en, zh):
    f = field(name)
    with pytest.raises(ValueProblem) as caught:
        kind_of(f.type).from_text(f, text, locale)
    for words in en:
        assert words in caught.value.en, caught.value.en
    for words in zh:
        assert words in caught.value.zh, caught.value.zh


def test_every_kind_has_a_refusal_or_accepts_any_text():
    refused = {field(name).type for name, *_ in REFUSALS}
    anything = {"text", "long_text", "rich_text"}  # any text reads; checks come after
    patterned = {"email", "phone", "url"}  # the pattern is a check, tested below
    assert set(KINDS) - refused - anything - patterned == set()


@pytest.mark.parametrize(
    ("name", "value", "code", "en"),
    [
        ("name", "x" * 21, "VALUE_TOO_LONG", "name is 21 characters long; the limit is 20"),
        ("email", "li@", "BAD_USER_INPUT", "email: 'li@' is not a valid email"),
        ("phone", "call me", "BAD_USER_INPUT", "phone: 'call me' is not a valid phone"),
        ("site", "example.cn", "BAD_USER_INPUT", "site: 'example.cn' is not a valid url"),
        ("rate", Decimal("1.234"), "INVALID_VALUE", "rate has more than 2 decimal places"),
        ("rate", Decimal("123456789"), "INVALID_VALUE", "rate is too large"),
        ("talk", -1, "INVALID_VALUE", "talk cannot be negative"),
        ("status", "won", "INVALID_VALUE", "status: 'won' is not one of new, qualified"),
        ("tags", ["hot", "hot"], "INVALID_VALUE", "tags lists a value twice"),
    ],
)
def test_checks_refuse_what_the_field_does_not_allow(name, value, code, en):
    f = field(name)
    with pytest.raises(ValueProblem) as caught:
        kind_of(f.type).check(f, value, name)
    assert caught.value.code == code
    assert caught.value.en.startswith(en)
    assert caught.value.zh


def test_trailing_zeros_are_not_precision():
    f = field("rate")
    kind_of("decimal").check(f, Decimal("3.500"), "rate")  # no refusal


def test_json_reading_is_strict_and_rounding_is_asked_for():
    rate, employees, budget = field("rate"), field("employees"), field("budget")
    assert kind_of("decimal").from_json(rate, "3.145", rounding=True) == Decimal("3.15")
    assert kind_of("integer").from_json(employees, Decimal("2.5"), rounding=True) == 3
    with pytest.raises(ValueProblem, match="whole number"):
        kind_of("integer").from_json(employees, Decimal("2.5"))
    with pytest.raises(ValueProblem):
        kind_of("integer").from_json(employees, True)
    with pytest.raises(ValueProblem, match="out of range"):
        kind_of("integer").from_json(employees, 2**63)
    money = kind_of("currency").from_json(budget, {"amount": "5", "currencyCode": "USD"})
    assert money == {"amount": Decimal("5"), "currency_code": "USD"}
    with pytest.raises(ValueProblem) as caught:
        kind_of("currency").from_json(budget, {"amount": 5, "currency_code": "usd"})
    assert caught.value.part == "currencyCode"


def test_an_attachment_accepts_only_its_types_and_sizes():
    scan = field("scan")
    kind = kind_of("attachment")
    kind.accepts(scan, "application/pdf", 10, "scan")
    with pytest.raises(ValueProblem) as caught:
        kind.accepts(scan, "image/png", 10, "scan")
    assert caught.value.code == "UNSUPPORTED_MEDIA_TYPE"
    with pytest.raises(ValueProblem) as caught:
        kind.accepts(scan, "application/pdf", 10_485_761, "scan")
    assert caught.value.code == "FILE_TOO_LARGE"
    assert "10,485,760" in caught.value.en


def test_a_kind_owns_its_columns():
    budget = field("budget")
    currency = kind_of("currency")
    assert [(c.name, c.type) for c in currency.columns(budget)] == [
        ("budget", "numeric"),
        ("budget__currency", "code"),
    ]
    assert currency.to_columns(budget, {"amount": Decimal(1), "currency_code": "USD"}) == {
        "budget": Decimal(1),
        "budget__currency": "USD",
    }
    assert kind_of("formula").columns(field("score")) == []


JSON_VALUES = [
    "ok",
    "x" * 21,
    "li@example.cn",
    "li@",
    7,
    "12.5",
    "12.345",
    "1e3",
    "NaN",
    Decimal("123456789"),
    Decimal("3.50"),
    True,
    None,
    {"amount": "5.5", "currencyCode": "USD"},
    {"amount": "5.555", "currency_code": "USD"},
    {"amount": 5, "currency_code": "usd"},
    {"amount": None},
    [1],
    -5,
    2**63,
    False,
    "new",
    "won",
    "2026-12-01",
    "2026-02-30",
]


@pytest.mark.parametrize(
    "name",
    ["name", "email", "rate", "probability", "budget", "employees", "talk", "vip", "status", "due"],
)
def test_a_fast_reader_answers_as_from_json_and_check_do(name):
    f = field(name)
    kind = kind_of(f.type)
    read = kind.reader(f, name)
    for value in JSON_VALUES:
        if value is None:
            continue
        try:
            expected = kind.from_json(f, value)
            kind.check(f, expected, name)
        except ValueProblem as problem:
            with pytest.raises(ValueProblem) as caught:
                read(value)
            assert (caught.value.en, caught.value.code) == (problem.en, problem.code)
        else:
            assert read(value) == expected, value
