"""The UI schema compiler on core_crm's metadata: what each viewer is given, trimmed by
their permissions, in their language (pure: no database)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from metadata.model import build_model
from metadata.packs.catalog import Catalog
from runtime.model.shape import build_shape
from runtime.query.periods import bounds
from runtime.security.grants import effective, sets_of, visible_model
from ui_schema.compiler import UiCompiler, UnknownObject, Viewer
from ui_schema.locales import LOCALES, negotiate
from ui_schema.words import WORDS


@pytest.fixture(scope="module")
def model():
    return build_model(Catalog().load("core_crm").compose())


def compiler(model, role: str | None, locale: str = "zh-CN", admin: bool = False) -> UiCompiler:
    grants = effective(model, sets_of(model.security, role)) if not admin else None
    if grants is None:
        shape = build_shape(model)
        key = "full"
    else:
        shape = build_shape(visible_model(model, grants), grants, full=model)
        key = grants.key
    return UiCompiler(model, shape, "hash", Viewer(role, admin, key), locale)


def test_a_rep_gets_the_lead_page_in_chinese_with_the_pool_actions(model):
    lead = compiler(model, "sales_rep").object("lead")
    ui = lead["uiSchema"]
    assert ui["type"] == "Categorization" and ui["path"] == "status"
    groups = ui["elements"][0]["elements"]
    assert [g["label"] for g in groups] == ["线索信息", "跟进状态"]
    assert groups[0]["elements"][0] == {
        "type": "Control",
        "scope": "#/properties/name",
        "options": {"field": "name"},
    }
    # claim and return are the rep's; assigning from the pool is the manager's.
    assert [(a["name"], a["label"]) for a in ui["actions"]] == [
        ("claim_lead", "领取"),
        ("return_lead", "退回公海"),
        ("convert_lead", "线索转换"),
    ]
    assert ui["actions"][2]["targets"][0] == {"name": "account", "object": "account"}
    assert lead["fields"]["status"]["values"][0] == {
        "value": "new",
        "label": "新线索",
        "color": None,
    }
    assert lead["jsonSchema"]["properties"]["status"]["oneOf"][1] == {
        "const": "assigned",
        "title": "已分配",
    }
    assert "name" in lead["jsonSchema"]["required"]
    # The related list reads activities through the polymorphic lookup.
    [activities] = ui["related"]
    assert activities["filter"] == {"relatedTo": {"id": {"eq": "$id"}}}
    assert activities["polymorphic"] is True


def test_a_manager_may_assign_from_the_pool_and_roles_above_inherit(model):
    actions = compiler(model, "sales_manager").object("lead")["uiSchema"]["actions"]
    assert {a["name"] for a in actions} == {
        "claim_lead",
        "return_lead",
        "assign_from_pool",
        "convert_lead",
    }
    # Marketing may not claim leads: no button at all.
    assert compiler(model, "marketing").object("lead")["uiSchema"]["actions"] == []


def test_hidden_fields_are_nowhere_in_what_a_restricted_viewer_gets(model):
    for name in ("account", "contact"):
        compiled = compiler(model, "marketing").object(name)
        text = json.dumps(compiled, ensure_ascii=False)
        hidden = {"account": "annual_revenue", "contact": "mobile"}[name]
        assert hidden not in text and "annualRevenue" not in text
        # The full viewer does see them.
        assert hidden in json.dumps(compiler(model, None, admin=True).object(name))
    # A list view filtering on a hidden field is left out whole (its name, its count).
    views = [v["name"] for v in compiler(model, "marketing").object("account")["views"]]
    assert "large_accounts" not in views and "key_accounts" in views
    assert "large_accounts" in [
        v["name"] for v in compiler(model, "sales_rep").object("account")["views"]
    ]
    # ... and so is the navigation item that opens it.
    items = compiler(model, "marketing").shell()["apps"][0]["items"]
    assert [i for i in items if i["view"] == "large_accounts"] == []


def test_layout_rules_go_to_the_browser_as_trees(model):
    opportunity = compiler(model, "sales_rep").object("opportunity")
    controls = {
        c["options"]["field"]: c["options"]
        for tab in opportunity["uiSchema"]["elements"]
        for group in tab["elements"]
        for c in group["elements"]
    }
    assert controls["lost_reason"]["visibleWhen"]["op"] == "="
    assert "visibleWhen" not in controls["name"]
    quote = compiler(model, "sales_rep").object("quote")
    [discount] = [
        c["options"]
        for tab in quote["uiSchema"]["elements"]
        for group in tab["elements"]
        for c in group["elements"]
        if c["options"]["field"] == "discount"
    ]
    assert discount["readOnlyWhen"]["op"] == "AND" and discount["ruleFields"] == ["status"]
    assert compiler(model, "sales_manager").shell()["me"] == {
        "role": "sales_manager",
        "roles": ["sales_manager", "sales_rep"],
        "admin": False,
    }


def test_read_only_fields_and_objects_follow_the_grants(model):
    rep = compiler(model, "sales_rep")
    payment = rep.object("payment")
    assert payment["can"] == {"create": False, "update": False, "delete": False}
    assert all(f["readOnly"] for f in payment["fields"].values())
    # Computed fields are read-only to everyone; a sum of amounts shows as money.
    assert rep.object("lead")["fields"]["idle_since"]["readOnly"] is True
    pipeline = rep.object("account")["fields"]["open_pipeline"]
    assert (pipeline["display"], pipeline["currency"], pipeline["readOnly"]) == (
        "currency",
        "CNY",
        True,
    )
    # An object the viewer cannot read does not exist for them.
    with pytest.raises(UnknownObject):
        compiler(model, "marketing").object("payment")
    assert "payment" not in [o["name"] for o in compiler(model, "marketing").shell()["objects"]]


def test_kanbans_allow_only_the_state_machines_moves(model):
    boards = {k["field"]: k for k in compiler(model, "sales_rep").object("lead")["kanbans"]}
    status = boards["status"]
    assert status["moves"]["new"] == ["assigned", "disqualified"]
    assert status["moves"]["qualified"] == []
    # A picklist without a state machine moves anywhere.
    assert set(boards["source"]["moves"]["website"]) == {
        "trade_show",
        "wechat",
        "phone_in",
        "referral",
    }
    # The opportunity board totals amounts in the field's currency.
    stage = next(
        k
        for k in compiler(model, "sales_rep").object("opportunity")["kanbans"]
        if k["field"] == "stage"
    )
    assert stage["sum"] == "amount" and stage["currency"] == "CNY" and stage["editable"]


def test_the_shell_lists_apps_from_pack_metadata_in_each_language(model):
    zh = compiler(model, "sales_rep").shell()
    en = compiler(model, "sales_rep", "en").shell()
    assert [a["name"] for a in zh["apps"]] == ["crm"]
    assert zh["apps"][0]["label"] == "客户关系管理" and en["apps"][0]["label"] == "CRM"
    assert zh["apps"][0]["items"][1] == {
        "object": "lead",
        "label": "公海线索",
        "view": "lead_pool",
        "kanban": None,
    }
    assert zh["words"]["nav.inbox"] == "待我审批"
    # The version changes with the language and with the grants.
    assert zh["version"] != en["version"]
    assert zh["version"] != compiler(model, "marketing").shell()["version"]
    assert zh["version"] == compiler(model, "sales_rep").shell()["version"]


def test_list_views_keep_their_sort_and_server_side_filter(model):
    views = {v["name"]: v for v in compiler(model, "sales_rep").object("lead")["views"]}
    assert views["all"]["view"] is None and views["all"]["columns"][0] == "name"
    pool = views["lead_pool"]
    assert pool["view"] == "lead_pool" and pool["orderBy"] == [{"score": "DESC"}]
    # A sort on a lookup sorts by the title of the record it names.
    funnel = {v["name"]: v for v in compiler(model, "sales_rep").object("opportunity")["views"]}
    assert funnel["sales_funnel"]["orderBy"] == [{"stage": "ASC"}, {"amount": "DESC"}]


def test_every_locale_has_every_word():
    keys = set(WORDS["en"])
    for locale in LOCALES:
        assert set(WORDS[locale]) == keys, locale


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        (None, None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("en-US,en;q=0.9,zh;q=0.8", None, "en"),
        ("fr-FR, zh-Hans;q=0.5", None, "zh-CN"),
        ("zh-TW", None, "en"),
        ("en;q=0.2, zh;q=0.9", None, "zh-CN"),
        ("zh-CN", "en", "en"),
        ("en", "xx", "en"),
        ("garbage;;q=x", None, "en"),
    ],
)
def test_the_language_of_a_request(header, explicit, expected):
    assert negotiate(header, explicit) == expected


@pytest.mark.parametrize(
    ("unit", "first", "last", "expected"),
    [
        ("day", -6, 0, ("2026-11-26", "2026-12-03")),
        ("week", 0, 0, ("2026-11-30", "2026-12-07")),
        ("month", 0, 0, ("2026-12-01", "2027-01-01")),
        ("month", -1, -1, ("2026-11-01", "2026-12-01")),
        ("quarter", 1, 1, ("2027-01-01", "2027-04-01")),
        ("year", -1, 0, ("2025-01-01", "2027-01-01")),
    ],
)
def test_relative_periods(unit, first, last, expected):
    start, end = bounds(dt.date(2026, 12, 2), unit, first, last)
    assert (start.isoformat(), end.isoformat()) == expected


def test_relative_periods_out_of_order_or_range_are_refused():
    with pytest.raises(ValueError, match="after"):
        bounds(dt.date(2026, 12, 2), "day", 1, 0)
    with pytest.raises(ValueError, match="within"):
        bounds(dt.date(2026, 12, 2), "day", 0, 10**6)
