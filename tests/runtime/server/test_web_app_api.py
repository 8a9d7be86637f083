"""The web app's server side on both backends: the metadata API (Strawberry), the UI
documents with their ETags, saved views that never leak a hidden field, list views as
a server-side filter, relative dates, locked records and errors in the caller's language.

A core_crm tenant with its sample data; members: an admin, a rep, a manager and
marketing (who cannot read accounts' annual revenue nor contacts' mobiles).
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from metadata.packs.catalog import Catalog
from runtime.packs.service import PackService
from runtime.server.app import create_app

TENANT = "crm"
PASSWORD = "web-app-test-password"
ROLES = {"admin": None, "rep": "sales_rep", "manager": "sales_manager", "marketing": "marketing"}


@pytest.fixture
def crm(service):
    app = create_app(service=service)
    with TestClient(app) as client:
        identity = app.state.identity
        service.create_tenant(TENANT, "CRM", timezone="Asia/Shanghai")
        # Users are platform-wide: a name of their own per test.
        domain = f"crm-{uuid.uuid4().hex[:8]}.example"
        for who, role in ROLES.items():
            email = f"{who}@{domain}"
            identity.create_user(email, PASSWORD)
            identity.set_membership(TENANT, email, role=role, tenant_admin=who == "admin")
        owners = {who: identity.user(f"{who}@{domain}").id for who in ROLES}
        packs = PackService(service, Catalog())
        packs.apply(
            packs.plan_install(TENANT, ["core_crm"], sample_data=True, owners=owners, sql=False)
        )
        tokens = {
            who: client.post(
                "/auth/login",
                json={"email": f"{who}@{domain}", "password": PASSWORD, "tenant": TENANT},
            ).json()["access_token"]
            for who in ROLES
        }
        yield _Crm(client, tokens, domain)


class _Crm:
    def __init__(self, client: TestClient, tokens: dict[str, str], domain: str) -> None:
        self.client = client
        self.tokens = tokens
        self.domain = domain

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}", **extra}

    def meta(self, who: str, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/t/{TENANT}/metadata",
            json={"query": query, "variables": variables},
            headers=self.headers(who, **{"accept-language": "zh-CN"}),
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, who: str, query: str, language: str = "en", **variables: Any) -> dict[str, Any]:
        response = self.client.post(
            f"/t/{TENANT}/graphql",
            json={"query": query, "variables": variables},
            headers=self.headers(who, **{"accept-language": language}),
        )
        assert response.status_code == 200, response.text
        return response.json()


def new_quote(crm: _Crm, name: str, discount: str) -> str:
    """Create a draft quote of the rep's first account; return its id."""
    account = crm.data("rep", "{ accounts(first: 1) { nodes { id } } }")["data"]["accounts"]
    made = crm.data(
        "rep",
        "mutation($n: String!, $a: ID!, $d: Decimal) "
        "{ createQuote(input: {name: $n, accountId: $a, discount: $d}) { id } }",
        n=name,
        a=account["nodes"][0]["id"],
        d=discount,
    )
    assert "errors" not in made, made
    return made["data"]["createQuote"]["id"]


def test_ui_documents_are_per_caller_localized_and_cached_by_etag(crm):
    shell = crm.client.get(
        f"/t/{TENANT}/ui/shell", headers=crm.headers("rep", **{"accept-language": "zh-CN,zh;q=0.9"})
    )
    assert shell.status_code == 200
    body = shell.json()
    assert body["locale"] == "zh-CN" and body["apps"][0]["label"] == "客户关系管理"
    etag = shell.headers["etag"]
    assert "private" in shell.headers["cache-control"]
    again = crm.client.get(
        f"/t/{TENANT}/ui/shell",
        headers=crm.headers("rep", **{"accept-language": "zh-CN", "if-none-match": etag}),
    )
    assert again.status_code == 304 and again.content == b""
    english = crm.client.get(
        f"/t/{TENANT}/ui/shell?locale=en", headers=crm.headers("rep", **{"if-none-match": etag})
    )
    assert english.status_code == 200 and english.json()["apps"][0]["label"] == "CRM"
    # Marketing sees other objects, so another version: the rep's copy is not theirs.
    theirs = crm.client.get(
        f"/t/{TENANT}/ui/shell",
        headers=crm.headers("marketing", **{"accept-language": "zh-CN", "if-none-match": etag}),
    )
    assert theirs.status_code == 200 and theirs.headers["etag"] != etag
    lead = crm.client.get(f"/t/{TENANT}/ui/objects/lead", headers=crm.headers("rep"))
    assert lead.json()["uiSchema"]["path"] == "status"
    # An object the caller cannot read is the same 404 as one that does not exist.
    for name in ("payment", "no_such_thing"):
        missing = crm.client.get(f"/t/{TENANT}/ui/objects/{name}", headers=crm.headers("marketing"))
        assert missing.status_code == 404, name
    assert crm.client.get(f"/t/{TENANT}/ui/shell").status_code == 401


def test_the_metadata_api_answers_as_the_caller_sees_the_tenant(crm):
    body = crm.meta(
        "marketing",
        '{ objects { name label } fields(object: "account") { name api label readOnly values } '
        'labels(locale: "en") members { email role } locales }',
    )
    assert "errors" not in body, body
    data = body["data"]
    assert {"name": "account", "label": "客户"} in data["objects"]
    assert "payment" not in [o["name"] for o in data["objects"]]
    names = [f["name"] for f in data["fields"]]
    assert "name" in names and "annual_revenue" not in names
    assert all(f["readOnly"] for f in data["fields"])  # marketing only reads accounts
    assert data["labels"]["words"]["nav.inbox"] == "Approvals inbox"
    assert "annualRevenue" not in json.dumps(data["labels"]) and "annual_revenue" not in json.dumps(
        data["labels"]
    )
    assert {"email": f"rep@{crm.domain}", "role": "sales_rep"} in data["members"]
    assert data["locales"] == ["en", "zh-CN"]
    ui = crm.meta("rep", '{ uiSchema(object: "quote") }')["data"]["uiSchema"]
    assert [a["name"] for a in ui["uiSchema"]["actions"]] == ["quote_discount"]
    # Building the Strawberry schema leaves graphql-core's shared introspection types as
    # they were: the data API's orderBy keys still say they are @oneOf.
    one_of = crm.data("rep", '{ __type(name: "AccountOrderBy") { isOneOf } }')
    assert one_of["data"]["__type"]["isOneOf"] is True
    missing = crm.meta("rep", '{ uiSchema(object: "nope") }')
    assert missing["errors"][0]["extensions"]["code"] == "NOT_FOUND"


SAVE = (
    "mutation($o: String!, $n: String!, $d: JSON!, $v: String!, $r: String) "
    "{ saveView(object: $o, name: $n, definition: $d, visibility: $v, role: $r) "
    "{ id name visibility mine definition } }"
)
VIEWS = "query($o: String!) { views(object: $o) { id name kind visibility mine } }"


def test_saved_views_are_shared_as_asked_and_never_leak_a_hidden_field(crm):
    rich = {"annualRevenue": {"amount": {"gte": "100000000"}}}
    made = crm.meta(
        "admin", SAVE, o="account", n="Rich", d={"columns": ["name"], "filter": rich}, v="public"
    )
    assert "errors" not in made, made
    rich_id = made["data"]["saveView"]["id"]
    crm.meta("rep", SAVE, o="account", n="Mine", d={"columns": ["name", "rating"]}, v="private")
    crm.meta(
        "manager", SAVE, o="account", n="Team", d={"columns": ["name"]}, v="role", r="sales_rep"
    )

    def saved(who: str) -> set[str]:
        body = crm.meta(who, VIEWS, o="account")
        assert "errors" not in body, body
        return {v["name"] for v in body["data"]["views"] if v["kind"] == "saved"}

    assert saved("admin") == {"Rich"}
    assert saved("rep") == {"Rich", "Mine", "Team"}
    assert saved("manager") == {"Rich", "Team"}  # a role view reaches the roles above it
    # Marketing cannot read annual revenue: the public view that filters on it is not
    # offered, so its name and its count tell them nothing.
    assert saved("marketing") == set()
    metadata_views = {v["name"] for v in crm.meta("marketing", VIEWS, o="account")["data"]["views"]}
    assert "large_accounts" not in metadata_views and "key_accounts" in metadata_views
    # The data API refuses both ways of applying it, without naming the field.
    refused = crm.data("marketing", '{ accounts(view: "large_accounts") { totalCount } }')
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN" and "annual" not in error["message"].lower()
    assert refused["data"]["accounts"] is None
    aggregate = crm.data("marketing", '{ accountsAggregate(view: "large_accounts") { count } }')
    assert aggregate["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    direct = crm.data(
        "marketing", "query($f: AccountFilter) { accounts(filter: $f) { totalCount } }", f=rich
    )
    assert (direct["errors"] and "data" not in direct) or direct.get("data") is None
    # The rep sees the view's records; the server counts them.
    counted = crm.data("rep", '{ accounts(view: "large_accounts") { totalCount nodes { name } } }')
    assert counted["data"]["accounts"]["totalCount"] >= 1, counted
    # Only admins share with everyone; a role view goes to one's own role or below it.
    public = crm.meta("rep", SAVE, o="account", n="Everyone", d={}, v="public")
    assert public["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    upward = crm.meta("rep", SAVE, o="account", n="Up", d={}, v="role", r="sales_director")
    assert upward["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A bad definition is refused with its place.
    bad = crm.meta("rep", SAVE, o="account", n="Bad", d={"columns": ["name", "nope"]}, v="private")
    assert bad["errors"][0]["extensions"]["field"] == ["definition", "columns", 1]
    hidden = crm.meta("marketing", SAVE, o="account", n="Peek", d={"filter": rich}, v="private")
    # To marketing's schema the field does not exist (they named it themselves).
    assert hidden["errors"][0]["extensions"]["field"][:2] == ["definition", "filter"]
    assert "annualRevenue" in hidden["errors"][0]["message"]
    # Only the owner (or an admin) deletes a view.
    denied = crm.meta("rep", "mutation($id: String!) { deleteView(id: $id) }", id=rich_id)
    assert denied["data"]["deleteView"] is False
    assert (
        crm.meta("admin", "mutation($id: String!) { deleteView(id: $id) }", id=rich_id)["data"][
            "deleteView"
        ]
        is True
    )
    assert "Rich" not in saved("rep")


def test_list_views_and_relative_dates_filter_on_the_server(crm):
    pool = crm.data("rep", '{ leads(view: "lead_pool") { totalCount nodes { pool } } }')["data"][
        "leads"
    ]
    assert pool["totalCount"] >= 1 and {n["pool"] for n in pool["nodes"]} == {"public"}
    unknown = crm.data("rep", '{ leads(view: "nope") { totalCount } }')["errors"][0]
    assert unknown["extensions"] == {"code": "BAD_USER_INPUT", "field": ["leads", "view"]}
    made = crm.data("rep", 'mutation { createLead(input: {name: "今日线索"}) { id } }')
    assert "errors" not in made, made
    count = "query($f: LeadFilter) { leads(filter: $f) { totalCount } }"

    def created(unit: str, first: int, last: int) -> dict[str, Any]:
        period = {"unit": unit, "from": first, "to": last}
        return {"name": {"eq": "今日线索"}, "createdAt": {"relative": period}}

    today = crm.data("rep", count, f=created("DAY", 0, 0))
    assert today["data"]["leads"]["totalCount"] == 1, today
    later = crm.data("rep", count, f=created("MONTH", 1, 3))
    assert later["data"]["leads"]["totalCount"] == 0
    # A date field, the same way; bounds out of order are refused with their place.
    crm.data(
        "rep", 'mutation { createTask(input: {subject: "本月任务", dueDate: "2026-12-15"}) { id } }'
    )
    backwards = crm.data(
        "rep",
        "{ tasks(filter: {dueDate: {relative: {unit: DAY, from: 3, to: 1}}}) { totalCount } }",
    )
    assert backwards["errors"][0]["extensions"]["field"] == [
        "tasks",
        "filter",
        "dueDate",
        "relative",
    ]


def test_errors_speak_the_callers_language_and_locked_records_are_known(crm):
    lead = crm.data("rep", 'mutation { createLead(input: {name: "状态机"}) { id } }')["data"][
        "createLead"
    ]["id"]
    bad = 'mutation($id: ID!) { updateLead(id: $id, input: {status: "qualified"}) { id } }'
    english = crm.data("rep", bad, id=lead)["errors"][0]
    chinese = crm.data("rep", bad, language="zh-CN,zh;q=0.9", id=lead)["errors"][0]
    assert english["extensions"]["code"] == chinese["extensions"]["code"] == "INVALID_TRANSITION"
    assert "cannot change" in english["message"] and "不能" in chinese["message"]
    # A quote over the discount threshold, submitted: a pending approval locks it.
    listed = crm.data("rep", "{ quotes(first: 5) { nodes { id } } }")
    ids = [q["id"] for q in listed["data"]["quotes"]["nodes"]]
    new = new_quote(crm, "大折扣", "30")
    submitted = crm.data(
        "rep",
        'mutation($id: ID!) { submitForApproval(process: "quote_discount", id: $id) { status } }',
        id=new,
    )
    assert "errors" not in submitted, submitted
    locked = crm.data(
        "rep",
        'query($ids: [ID!]!) { lockedRecords(objectName: "quote", ids: $ids) }',
        ids=[*ids, new],
    )
    assert new in locked["data"]["lockedRecords"]
    # Someone who cannot read quotes learns nothing about them.
    theirs = crm.data(
        "marketing",
        'query($ids: [ID!]!) { lockedRecords(objectName: "quote", ids: $ids) }',
        ids=[new],
    )
    assert theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_web_app_page_loads_only_vendored_files(crm):
    page = crm.client.get("/app/crm/home", headers={"accept-language": "zh-CN"})
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text
    assert "/static/vendor/vue-" in page.text and "http" not in page.text.split("<body")[0].replace(
        "http-equiv", ""
    )
    for path in ("/static/app/main.js", "/static/app/app.css", "/static/app/pages/list.js"):
        assert crm.client.get(path).status_code == 200, path
    # Scripts go gzipped; vendored ones (their version in their path) are kept a year,
    # the app's own are revalidated; API answers are not compressed.
    vue = next(p for p in page.text.split('"') if "/vendor/vue-" in p and p.endswith(".js"))
    got = crm.client.get(vue, headers={"accept-encoding": "gzip"})
    assert got.headers["content-encoding"] == "gzip"
    assert "max-age=31536000" in got.headers["cache-control"]
    own = crm.client.get("/static/app/main.js", headers={"accept-encoding": "gzip"})
    assert "no-cache" in own.headers["cache-control"] and own.headers["etag"]
    api = crm.client.post(
        f"/t/{TENANT}/graphql",
        json={"query": "{ accounts(first: 50) { nodes { name } } }"},
        headers={**crm.headers("rep"), "accept-encoding": "gzip"},
    )
    assert "content-encoding" not in api.headers


MATCHES = 'query($id: ID!) { conversionMatches(conversion: "convert_lead", id: $id) }'
CONVERT = (
    'mutation($id: ID!, $use: JSON) { convertRecord(conversion: "convert_lead", id: $id, '
    "use: $use) }"
)


def test_a_lead_converts_with_its_duplicate_account_offered(crm):
    lead = crm.data(
        "rep",
        'mutation { createLead(input: {name: "周杰", company: "华信精密制造有限公司", '
        'mobile: "13800001111"}) { id } }',
    )["data"]["createLead"]["id"]
    early = crm.data("rep", CONVERT, id=lead, language="zh-CN")["errors"][0]
    assert early["extensions"]["code"] == "CONDITION_NOT_MET"
    assert early["message"] == "只有已联系且不在公海中的线索可以转换"
    for status in ("assigned", "contacted"):
        moved = crm.data(
            "rep",
            "mutation($id: ID!, $s: String) { updateLead(id: $id, input: {status: $s}) { id } }",
            id=lead,
            s=status,
        )
        assert "errors" not in moved, moved
    found = crm.data("rep", MATCHES, id=lead)["data"]["conversionMatches"]
    assert [t["target"] for t in found] == ["account", "contact", "opportunity"]
    [match] = found[0]["matches"]
    assert match["title"] == "华信精密制造有限公司" and match["fields"] == ["name"]
    assert found[1]["matches"] == []  # contact declares no duplicate check
    # Creating a second account of that name breaks its uniqueness: nothing happens.
    clash = crm.data("rep", CONVERT, id=lead)["errors"][0]
    assert clash["extensions"]["code"] == "UNIQUE_VIOLATION"
    assert (
        crm.data("rep", '{ contacts(filter: {name: {eq: "周杰"}}) { totalCount } }')["data"][
            "contacts"
        ]["totalCount"]
        == 0
    )
    # Marketing may read leads but not convert them.
    denied = crm.data("marketing", CONVERT, id=lead)["errors"][0]
    assert denied["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")
    made = crm.data("rep", CONVERT, id=lead, use={"account": match["id"]})
    assert "errors" not in made, made
    result = made["data"]["convertRecord"]
    assert result["account"] == {"id": match["id"], "object": "account", "created": False}
    assert result["contact"]["created"] and result["opportunity"]["created"]
    opportunity = crm.data(
        "rep",
        "query($id: ID!, $id2: ID!) { opportunity(id: $id) { name source accountId leadId owner } "
        "lead(id: $id2) { status } }",
        id=result["opportunity"]["id"],
        id2=lead,
    )["data"]
    assert opportunity["opportunity"]["name"] == "华信精密制造有限公司 · 周杰"
    assert opportunity["opportunity"]["source"] == "lead"
    assert opportunity["opportunity"]["accountId"] == match["id"]
    assert opportunity["opportunity"]["leadId"] == lead
    assert opportunity["lead"]["status"] == "qualified"
    contact = crm.data(
        "rep",
        "query($id: ID!) { contact(id: $id) { name mobile accountId } }",
        id=result["contact"]["id"],
    )["data"]["contact"]
    assert contact == {"name": "周杰", "mobile": "13800001111", "accountId": match["id"]}
    again = crm.data("rep", CONVERT, id=lead)["errors"][0]
    assert again["extensions"]["code"] == "CONDITION_NOT_MET"


def test_layout_rules_are_sent_to_the_browser_and_enforced_on_save(crm):
    page = crm.client.get(f"/t/{TENANT}/ui/objects/opportunity", headers=crm.headers("rep"))
    controls = {
        c["options"]["field"]: c["options"]
        for tab in page.json()["uiSchema"]["elements"]
        for group in tab["elements"]
        for c in group["elements"]
    }
    assert controls["lost_reason"]["visibleWhen"] == {
        "op": "=",
        "args": [{"field": "stage", "type": "text"}, {"lit": "lost"}],
        "type": "text",
    }
    assert controls["lost_reason"]["ruleFields"] == ["stage"]
    quote = new_quote(crm, "规则", "5")
    change = (
        "mutation($id: ID!, $d: Decimal) "
        "{ updateQuote(id: $id, input: {discount: $d}) { discount } }"
    )
    # A draft's discount can change; an approved quote's cannot, but by an admin.
    assert crm.data("rep", change, id=quote, d="8")["data"]["updateQuote"]["discount"] == "8.00"
    approved = crm.data(
        "admin",
        'mutation($id: ID!) { updateQuote(id: $id, input: {status: "approved"}) { id } }',
        id=quote,
    )
    assert "errors" not in approved, approved
    refused = crm.data("rep", change, id=quote, d="9", language="zh-CN")["errors"][0]
    assert refused["extensions"]["code"] == "FORBIDDEN"
    assert refused["extensions"]["field"][-1] == "discount"
    assert "只读" in refused["message"]
    # Unchanged values and other fields are not refused.
    same = crm.data("rep", change, id=quote, d="8")
    assert "errors" not in same, same
    assert crm.data("admin", change, id=quote, d="9")["data"]["updateQuote"]["discount"] == "9.00"


def test_picklist_labels_follow_the_callers_language(crm):
    query = '{ leads(first: 20, filter: {status: {eq: "new"}}) { nodes { status statusLabel } } }'
    # Asked again and again (on PostgreSQL the fast lane answers repeats from a kept
    # plan), each answer in the language asked for.
    for language, label in (("en", "New"), ("zh-CN", "新线索"), ("en", "New"), ("zh", "新线索")):
        nodes = crm.data("rep", query, language=language)["data"]["leads"]["nodes"]
        assert nodes and {(n["status"], n["statusLabel"]) for n in nodes} == {("new", label)}
    # A field without a state machine, through a relation, and a value with no label.
    answer = crm.data(
        "rep",
        "{ opportunities(first: 1) { nodes { stageLabel account { ratingLabel } } } }",
        language="zh-CN",
    )["data"]["opportunities"]["nodes"][0]
    assert answer["stageLabel"] in {"初步接洽", "需求确认", "方案报价", "商务谈判", "赢单", "输单"}
    assert answer["account"]["ratingLabel"] in {"重点客户", "普通客户", "休眠客户"}


def test_two_conversions_of_one_lead_at_once_make_one_set_of_records(crm):
    lead = crm.data(
        "rep", 'mutation { createLead(input: {name: "并发", company: "并发科技"}) { id } }'
    )["data"]["createLead"]["id"]
    for status in ("assigned", "contacted"):
        crm.data(
            "rep",
            "mutation($id: ID!, $s: String) { updateLead(id: $id, input: {status: $s}) { id } }",
            id=lead,
            s=status,
        )
    start = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def convert() -> None:
        start.wait()
        answers.append(crm.data("rep", CONVERT, id=lead))

    threads = [threading.Thread(target=convert) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # The lead is locked while one converts; the other then finds it qualified.
    codes = sorted(a["errors"][0]["extensions"]["code"] if "errors" in a else "ok" for a in answers)
    assert codes == ["CONDITION_NOT_MET", "ok"], answers
    made = crm.data(
        "rep",
        '{ accounts(filter: {name: {eq: "并发科技"}}) { totalCount } '
        'contacts(filter: {name: {eq: "并发"}}) { totalCount } }',
    )["data"]
    assert made == {"accounts": {"totalCount": 1}, "contacts": {"totalCount": 1}}


@pytest.mark.parametrize(
    ("definition", "where"),
    [
        ("not an object", []),
        ({"columns": "name"}, ["definition", "columns"]),
        ({"columns": [1]}, ["definition", "columns"]),
        ({"filter": {"name": 5}}, ["definition", "filter", "name"]),
        ({"filter": {"name": {"eq": {"deep": 1}}}}, ["definition", "filter", "name"]),
        ({"filter": [1]}, ["definition", "filter"]),
        ({"filter": {"and": "x"}}, ["definition", "filter", "and"]),
        ({"orderBy": [{"name": "SIDEWAYS"}]}, ["definition", "orderBy"]),
        ({"orderBy": "name"}, ["definition", "orderBy"]),
        ({"groupBy": 3}, ["definition", "groupBy"]),
        ({"extra": 1}, ["definition", "extra"]),
    ],
)
def test_a_bad_saved_view_is_refused_with_its_place(crm, definition, where):
    body = crm.meta("rep", SAVE, o="account", n="Bad", d=definition, v="private")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"][: len(where)] == where, error


def test_bad_requests_to_the_new_roots_are_clear_errors(crm):
    for query, code in (
        ('{ lockedRecords(objectName: "lead", ids: ["nope"]) }', "BAD_USER_INPUT"),
        ('{ lockedRecords(objectName: "nothing", ids: []) }', "NOT_FOUND"),
        ('{ conversionMatches(conversion: "nope", id: "x") }', "NOT_FOUND"),
        ('{ conversionMatches(conversion: "convert_lead", id: "x") }', "BAD_USER_INPUT"),
        ('mutation { convertRecord(conversion: "convert_lead", id: "x", use: [1]) }', None),
        (
            "{ leads(filter: {createdAt: {relative: {unit: DAY, from: 0, to: 99999999}}}) "
            "{ totalCount } }",
            "BAD_USER_INPUT",
        ),
    ):
        body = crm.data("rep", query)
        assert body["errors"], query
        if code:
            assert body["errors"][0]["extensions"]["code"] == code, (query, body)
    response = crm.client.post(f"/t/{TENANT}/metadata", content=b"[1]", headers=crm.headers("rep"))
    assert response.status_code == 400
    assert crm.meta("rep", "{ nope }")["errors"][0]["message"]
    delete = crm.meta("rep", 'mutation { deleteView(id: "not-an-id") }')["errors"][0]
    assert delete["extensions"]["code"] == "BAD_USER_INPUT"
