"""Hostile and malformed input gets a clear answer, never a 500, a stack trace or a hint
about records the caller cannot read (issue 15). Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from litestar.testing import TestClient

from metadata.errors import MetadataError
from metadata.validation import validate_text
from runtime.outbound import webhook_secret
from runtime.server.app import create_app
from runtime.settings import Settings

PASSWORD = "a long enough password"
SECRET = "hardening-test-secret-" + "x" * 32
META = """
objects:
  account:
    fields:
      name: {type: text, required: true}
      code: {type: text, unique: true}
      notes: {type: long_text}
      data: {type: json}
      revenue: {type: integer}
      ratio: {type: decimal}
      amount: {type: currency}
  deal:
    fields:
      name: {type: text, required: true}
      client: {type: lookup, to: account, related_name: deals, on_delete: restrict}
      code: {type: text, unique: true}
      client_name: {type: formula, expression: "client.name", returns: text}
      stage: {type: picklist, values: [open, won]}
roles:
  rep: {}
  other: {}
  dealer: {}
  boss: {}
permission_sets:
  reps:
    roles: [rep, other]
    objects:
      account: {allow: [read, create, update, delete, restore], access: own}
      deal: {allow: [read, create, update, delete, restore], access: own}
  dealers:
    roles: [dealer]
    objects:
      deal: {allow: [read, create], access: own}
  bosses:
    roles: [boss]
    objects:
      account: {allow: [read, create, update, delete, restore], access: tenant}
      deal: {allow: [read, create, update, delete, restore], access: tenant}
"""


@dataclass
class Hostile:
    client: TestClient
    tenant: str
    headers: dict[str, dict[str, str]]
    emails: dict[str, str]
    ids: dict[str, str]

    def gql(self, who: str | None, query: str, variables: dict | None = None) -> Any:
        return self.client.post(
            f"/t/{self.tenant}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers[who or "root"],
        )

    def data(self, who: str, query: str, variables: dict | None = None) -> Any:
        body = self.gql(who, query, variables).json()
        assert "errors" not in body, body
        return body["data"]


def _app(service: Any, **settings: Any) -> Any:
    return create_app(
        Settings(password_hashing="fast", secret_key=SECRET, rate_per_minute=0, **settings),
        service=service,
    )


@pytest.fixture
def hostile(service):
    app = _app(service)
    with TestClient(app, raise_server_exceptions=False) as client:
        identity = app.state.identity
        suffix = uuid.uuid4().hex[:8]
        tenant = "hard"
        emails = {who: f"{who}.{suffix}@hard.example" for who in ("root", "rep", "other")}
        emails |= {who: f"{who}.{suffix}@hard.example" for who in ("dealer", "boss", "admin")}
        identity.create_user(emails["root"], PASSWORD, platform_admin=True)
        headers = {
            "root": {
                "Authorization": "Bearer "
                + identity.login(emails["root"], PASSWORD, None)["access_token"]
            }
        }
        assert client.post(
            "/api/tenants", json={"name": tenant}, headers=headers["root"]
        ).is_success
        applied = client.post(
            f"/api/tenants/{tenant}/metadata/apply",
            json={"metadata_yaml": META},
            headers=headers["root"],
        )
        assert applied.status_code == 200, applied.text
        for who in ("rep", "other", "dealer", "boss", "admin"):
            identity.create_user(emails[who], PASSWORD)
            identity.set_membership(
                tenant,
                emails[who],
                role=who if who != "admin" else "rep",
                tenant_admin=who == "admin",
            )
            token = identity.login(emails[who], PASSWORD, tenant)["access_token"]
            headers[who] = {"Authorization": f"Bearer {token}"}
        world = Hostile(client, tenant, headers, emails, {})
        world.ids["theirs"] = world.data(
            "other", 'mutation { createAccount(input: {name: "Theirs", code: "C1"}) { id } }'
        )["createAccount"]["id"]
        world.ids["mine"] = world.data(
            "rep", 'mutation { createAccount(input: {name: "Mine", code: "C2"}) { id } }'
        )["createAccount"]["id"]
        # A deal the rep cannot see, referring to the rep's account (made by the boss).
        world.ids["boss deal"] = world.data(
            "boss",
            'mutation($a: ID) { createDeal(input: {name: "B", clientId: $a, code: "D1"}) { id } }',
            {"a": world.ids["mine"]},
        )["createDeal"]["id"]
        yield world


# -- no oracles -------------------------------------------------------------------------

#: Every write path that can fail because of a record the caller cannot read. The hidden
#: record's id must never appear in the answer (docs/security.md, "What an error tells").
ERROR_PATHS = {
    "upsert onto a hidden record": (
        'mutation { upsertAccount(on: code, input: {name: "X", code: "C1"}) { id } }',
        "UNIQUE_VIOLATION",
    ),
    "create a duplicate of a hidden record": (
        'mutation { createAccount(input: {name: "X", code: "C1"}) { id } }',
        "UNIQUE_VIOLATION",
    ),
    "delete a record a hidden record refers to": (
        "mutation($mine: ID!) { deleteAccount(id: $mine) { id } }",
        "DELETE_RESTRICTED",
    ),
    "update a hidden record": (
        'mutation($theirs: ID!) { updateAccount(id: $theirs, input: {name: "Y"}) { id } }',
        "NOT_FOUND",
    ),
    "delete a hidden record": (
        "mutation($theirs: ID!) { deleteAccount(id: $theirs) { id } }",
        "NOT_FOUND",
    ),
    "refer to a hidden record": (
        'mutation($theirs: ID) { createDeal(input: {name: "D", clientId: $theirs}) { id } }',
        "REFERENCE_NOT_FOUND",
    ),
}


@pytest.mark.parametrize("path", ERROR_PATHS)
def test_errors_never_name_a_record_the_caller_cannot_read(hostile, path):
    query, code = ERROR_PATHS[path]
    variables = {
        k: v
        for k, v in {"mine": hostile.ids["mine"], "theirs": hostile.ids["theirs"]}.items()
        if f"${k}" in query
    }
    response = hostile.gql("rep", query, variables)
    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code, body
    hidden = {hostile.ids["boss deal"]}
    if "$theirs" not in query:
        hidden.add(hostile.ids["theirs"])
    for record_id in hidden:
        assert record_id not in response.text, (path, response.text)


def test_a_restricting_record_the_caller_can_read_is_named(hostile):
    deal = hostile.data(
        "rep",
        'mutation($a: ID) { createDeal(input: {name: "own", clientId: $a}) { id } }',
        {"a": hostile.ids["mine"]},
    )["createDeal"]["id"]
    # Two deals refer to the rep's account: the boss's (hidden from the rep) and the
    # rep's own. The refusal names the one the rep can read, never the other.
    body = hostile.gql(
        "rep", "mutation($id: ID!) { deleteAccount(id: $id) { id } }", {"id": hostile.ids["mine"]}
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "DELETE_RESTRICTED"
    message = body["errors"][0]["message"]
    assert deal in message and hostile.ids["boss deal"] not in message


def test_upsert_still_updates_a_record_the_caller_can_edit(hostile):
    got = hostile.data(
        "rep",
        'mutation { upsertAccount(on: code, input: {name: "Mine 2", code: "C2"}) { id name } }',
    )["upsertAccount"]
    assert got == {"id": hostile.ids["mine"], "name": "Mine 2"}


def test_a_formula_over_a_hidden_lookup_does_not_break_the_role(hostile):
    """The dealer cannot read accounts, and deal.client_name follows deal.client."""
    introspection = hostile.gql("dealer", "{ __schema { types { name } } }")
    assert introspection.status_code == 200
    names = {t["name"] for t in introspection.json()["data"]["__schema"]["types"]}
    assert "Deal" in names and "Account" not in names
    fields = hostile.gql("dealer", '{ __type(name: "Deal") { fields { name } } }').json()
    assert "clientName" not in {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert hostile.data("dealer", "{ deals { nodes { id } } }") == {"deals": {"nodes": []}}


# -- bounded queries ----------------------------------------------------------------------


def _code(response: Any) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


def test_filter_nesting_counts_toward_the_limits(hostile):
    nots = (
        "{ accounts(filter: "
        + "{not: " * 40
        + '{name: {eq: "a"}}'
        + "}" * 40
        + ") { nodes { id } } }"
    )
    response = hostile.gql("boss", nots)
    assert _code(response) == "LIMIT_EXCEEDED" and "8 levels" in response.text

    def chain(hops: int) -> str:
        inner = '{name: {eq: "x"}}'
        for i in reversed(range(hops)):  # from the innermost: account, deal, account...
            inner = f"{{deals: {{some: {inner}}}}}" if i % 2 == 0 else f"{{client: {inner}}}"
        return inner

    deep = hostile.gql("boss", f"{{ accounts(filter: {chain(5)}) {{ nodes {{ id }} }} }}")
    assert _code(deep) == "LIMIT_EXCEEDED" and "relations" in deep.text
    # Four hops is allowed, and SQLite's parser copes with it.
    assert hostile.data("boss", f"{{ accounts(filter: {chain(4)}) {{ nodes {{ id }} }} }}")


def test_in_lists_are_bounded(hostile):
    query = "query($l: [String!]) { accounts(filter: {name: {in: $l}}) { nodes { id } } }"
    assert hostile.data("boss", query, {"l": ["x"] * 1000}) == {"accounts": {"nodes": []}}
    response = hostile.gql("boss", query, {"l": ["x"] * 1001})
    assert _code(response) == "LIMIT_EXCEEDED" and "1,000 conditions" in response.text
    ors = (
        "{ accounts(filter: {or: ["
        + ", ".join(['{name: {eq: "x"}}'] * 1001)
        + "]}) { nodes { id } } }"
    )
    assert _code(hostile.gql("boss", ors)) == "LIMIT_EXCEEDED"


def test_statements_stop_at_the_timeout(backend):
    """The backend's own bound, whatever runs the statement (here one that would take
    minutes): PostgreSQL's statement_timeout, SQLite's progress handler."""
    from sqlalchemy.exc import DBAPIError

    from runtime.storage.backends import PostgresBackend, SqliteBackend, cancelled

    if backend.dialect == "sqlite":
        bounded = SqliteBackend(backend.path, statement_timeout=0.2)
        slow = (
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
            "WHERE i < 1000000000) SELECT count(*) FROM n"
        )
    else:
        bounded = PostgresBackend(backend.control.url, statement_timeout=0.2)
        slow = "SELECT pg_sleep(30)"
    started = time.monotonic()
    with pytest.raises(DBAPIError) as caught, bounded.connect_control() as conn:
        conn.exec_driver_sql(slow)
    assert cancelled(caught.value)
    assert time.monotonic() - started < 5
    # The platform's own long work may lift it for its transaction.
    with bounded.control.connect() as conn:
        bounded.unbounded(conn)
        quick = "SELECT 1" if backend.dialect == "sqlite" else "SELECT pg_sleep(0.3), 1"
        assert conn.exec_driver_sql(quick).first()[-1] == 1
    bounded.dispose()


def test_a_cancelled_request_stops_its_statement(backend):
    """What the server does when a client goes away: cancel from another thread."""
    import threading

    from sqlalchemy.exc import DBAPIError

    from runtime.storage.backends import cancelled
    from runtime.storage.cancel import Cancellation

    slow = (
        "SELECT pg_sleep(30)"
        if backend.dialect == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 1000000000) SELECT count(*) FROM n"
    )
    cancellation = Cancellation()
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            with backend.control.connect() as conn, cancellation.watching(conn):
                conn.exec_driver_sql(slow)
        except BaseException as exc:  # inspected below
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.3)
    cancellation.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
    assert outcome and isinstance(outcome[0], DBAPIError) and cancelled(outcome[0])


def _slow_tenant(service: Any) -> dict[str, Any]:
    """A tenant with 20,000 accounts, and a request within every limit whose statement
    takes seconds: each row tested against 999 conditions."""
    backend = service.backend
    service.create_tenant("slow")
    service.apply("slow", validate_text(META))
    with backend.begin_tenant("slow") as conn:
        schema = backend.schema("slow")
        table = f'"{schema}"."account"' if schema else '"account"'
        for i in range(0, 20_000, 1000):
            values = ", ".join(
                f"('{uuid.uuid4()}', 'name {j} {uuid.uuid4().hex}', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, 1)"
                for j in range(i, i + 1000)
            )
            conn.exec_driver_sql(
                f"INSERT INTO {table} (id, name, created_at, updated_at, row_version) "
                f"VALUES {values}"
            )
    terms = [{"name": {"contains": uuid.uuid4().hex}} for _ in range(999)]
    return {
        "query": "query($f: AccountFilter) { accounts(filter: $f) { totalCount } }",
        "variables": {"f": {"or": terms}},
    }


def _root_token(app: Any) -> str:
    identity = app.state.identity
    email = f"root.{uuid.uuid4().hex[:8]}@slow.example"
    identity.create_user(email, PASSWORD, platform_admin=True)
    return identity.login(email, PASSWORD, None)["access_token"]


def test_a_query_past_the_timeout_gets_a_timeout_error(service):
    """End to end on the GraphQL API: the statement runs past the timeout and stops."""
    from runtime.storage.backends import PostgresBackend, SqliteBackend
    from runtime.tenants import TenantService

    backend = service.backend
    if backend.dialect == "sqlite":
        bounded = SqliteBackend(backend.path, statement_timeout=0.1)
    else:
        bounded = PostgresBackend(backend.control.url, statement_timeout=0.1)
    slow = _slow_tenant(service)
    app = create_app(
        Settings(password_hashing="fast", secret_key=SECRET, rate_per_minute=0),
        service=TenantService(bounded),
    )
    with TestClient(app) as client:
        token = _root_token(app)
        started = time.monotonic()
        body = client.post(
            "/t/slow/graphql", json=slow, headers={"Authorization": f"Bearer {token}"}
        ).json()
        elapsed = time.monotonic() - started
    bounded.dispose()
    assert body["errors"][0]["extensions"]["code"] == "TIMEOUT", body
    assert body["data"] == {"accounts": None}
    assert elapsed < 5


def test_a_client_that_goes_away_stops_its_statement(service):
    """The same statement with no timeout to stop it: the client leaves after 0.3 s, and
    the server cancels the statement rather than let it run on for nobody."""
    import asyncio

    slow = _slow_tenant(service)
    app = create_app(
        Settings(password_hashing="fast", secret_key=SECRET, rate_per_minute=0),
        service=service,
    )
    with TestClient(app):
        token = _root_token(app)
    body = json.dumps(slow).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/t/slow/graphql",
        "raw_path": b"/t/slow/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[bytes] = []

    async def call() -> float:
        calls = 0

        async def receive() -> dict[str, Any]:
            nonlocal calls
            calls += 1
            if calls == 1:
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(0.3)  # the client gives up
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        started = time.monotonic()
        await app(scope, receive, send)  # type: ignore[arg-type]
        return time.monotonic() - started

    elapsed = asyncio.run(call())
    answer = json.loads(b"".join(sent))
    assert answer["errors"][0]["extensions"]["code"] == "TIMEOUT", answer
    assert elapsed < 3, elapsed


def test_a_client_gone_before_its_first_statement_gets_an_answer_not_a_500(hostile, monkeypatch):
    """On a busy server the client may leave before the request's first statement: the
    cancellation is seen as the connection is taken (seen in CI on a slow machine)."""
    import runtime.server.graphql_api as graphql_api
    from runtime.storage.cancel import Cancelled

    def gone(*_args: Any) -> str:
        raise Cancelled("the client went away")

    monkeypatch.setattr(graphql_api, "run", gone)
    answer = hostile.client.post(
        f"/t/{hostile.tenant}/graphql",
        json={"query": "{ accounts { totalCount } }"},
        headers=hostile.headers["rep"],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"


# -- malformed input ---------------------------------------------------------------------


def _problem(response: Any, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_deeply_nested_json_is_refused_before_anything_reads_it(hostile):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/auth/login", f"/t/{hostile.tenant}/graphql", "/api/tenants"):
        response = hostile.client.post(
            path,
            content='{"query": "{ __typename }", "variables": ' + deep + "}",
            headers={"content-type": "application/json", **hostile.headers["root"]},
        )
        assert "nests more than 64" in _problem(response, 400)["detail"]
    nested: Any = "x"
    for _ in range(70):
        nested = {"k": nested}
    response = hostile.gql(
        "rep",
        'mutation($d: JSON) { createAccount(input: {name: "j", data: $d}) { id } }',
        {"d": nested},
    )
    assert "$.variables.d.k.k" in _problem(response, 400)["detail"]


NUL = "a\x00b"


def test_nul_characters_are_refused_everywhere_with_the_place_named(hostile):
    c, root = hostile.client, hostile.headers["root"]
    cases = {
        "$.email": c.post("/auth/login", json={"email": NUL, "password": "x" * 12, "tenant": None}),
        "$.tenant": c.post(
            "/auth/login", json={"email": "a@b.example", "password": "p", "tenant": NUL}
        ),
        "the URL path": c.post("/t/a%00b/graphql", json={"query": "{ __typename }"}, headers=root),
        "the URL path ": c.get("/api/tenants/a%00b", headers=root),
        "the query string": c.get(
            f"/t/{hostile.tenant}/graphql?query=%7B__typename%00%7D", headers=root
        ),
        "$.name": c.post("/api/tenants", json={"name": NUL}, headers=root),
        "$.email ": c.post("/api/users", json={"email": NUL + "@x.example"}, headers=root),
        "$.variables.n": hostile.gql(
            "rep", "mutation($n: String!) { createAccount(input: {name: $n}) { id } }", {"n": NUL}
        ),
        "$.variables.d.k": hostile.gql(
            "rep",
            'mutation($d: JSON) { createAccount(input: {name: "j", data: $d}) { id } }',
            {"d": {"k": NUL}},
        ),
        "$.variables.f": hostile.gql(
            "rep",
            "query($f: String) { accounts(filter: {notes: {contains: $f}}) { nodes { id } } }",
            {"f": NUL},
        ),
        "$.metadata_yaml": c.post(
            f"/api/tenants/{hostile.tenant}/metadata/plan",
            json={"metadata_yaml": "objects: {}\n" + NUL},
            headers=root,
        ),
    }
    for where, response in cases.items():
        detail = _problem(response, 400)["detail"]
        assert where.strip() in detail and "NUL" in detail, (where, detail)
    # A string literal inside the GraphQL document: a validation error at its location.
    literal = hostile.gql(
        "rep", '{ accounts(filter: {name: {eq: "a\\u0000b"}}) { nodes { id } } }'
    ).json()
    assert literal["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "NUL" in literal["errors"][0]["message"] and literal["errors"][0]["locations"]


def test_crafted_cursors_are_invalid_cursors(hostile):
    def b64(value: Any) -> str:
        return base64.b64encode(json.dumps(value).encode()).decode()

    query = (
        "query($c: String, $o: [AccountOrderBy!]) "
        "{ accounts(after: $c, orderBy: $o) { nodes { id } } }"
    )
    for cursor, order in (
        ("zzz", None),
        (b64([1, 2]), None),
        (b64({"a": 1}), None),
        (b64(None), None),
        (b64(["x", str(uuid.uuid4())]), [{"revenue": "ASC"}]),
        (b64([[1], str(uuid.uuid4())]), [{"name": "ASC"}]),
        (b64([1e308, "not-a-uuid"]), [{"ratio": "DESC"}]),
        (b64([2**70, str(uuid.uuid4())]), [{"revenue": "ASC"}]),
        ("%%%", None),
    ):
        response = hostile.gql("rep", query, {"c": cursor, "o": order})
        assert response.status_code == 200, response.text
        assert _code(response) == "INVALID_CURSOR", (cursor, response.text)


def test_like_patterns_ending_in_a_backslash(hostile):
    query = "query($p: String) { accounts(filter: {name: {%s: $p}}) { nodes { name } } }"
    for op in ("like", "ilike"):
        lone = hostile.gql("rep", query % op, {"p": "Mi\\"})
        assert _code(lone) == "BAD_USER_INPUT" and "lone backslash" in lone.text
        # An escaped backslash is a backslash; escaped wildcards are literal.
        assert hostile.data("rep", query % op, {"p": "Mi\\\\"}) == {"accounts": {"nodes": []}}
        assert hostile.data("rep", query % op, {"p": "Min\\%"}) == {"accounts": {"nodes": []}}
    for op in ("startsWith", "contains"):  # no wildcards: a backslash is just a character
        got = hostile.data("rep", query % op, {"p": "Mi\\"})
        assert got == {"accounts": {"nodes": []}}


def test_numbers_the_database_cannot_hold(hostile):
    c, root, t = hostile.client, hostile.headers["root"], hostile.tenant
    big_filter = hostile.gql(
        "rep", "{ accounts(filter: {ratio: {gt: 1e1000000}}) { nodes { id } } }"
    )
    assert _code(big_filter) == "BAD_USER_INPUT" and "outside the range of ratio" in big_filter.text
    big_amount = hostile.gql(
        "rep", "{ accounts(filter: {amount: {amount: {lt: -1e400}}}) { nodes { id } } }"
    )
    assert _code(big_amount) == "BAD_USER_INPUT"
    create = hostile.gql(
        "rep", 'mutation { createAccount(input: {name: "x", ratio: 1e1000000}) { id } }'
    )
    assert _code(create) == "INVALID_VALUE" and "too large" in create.text
    revenue = hostile.gql(
        "rep",
        "query($r: BigInt) { accounts(filter: {revenue: {eq: $r}}) { nodes { id } } }",
        {"r": 2**70},
    )
    assert revenue.status_code == 200 and "64-bit" in revenue.text
    for path in (
        f"/api/tenants/{t}/metadata/versions/{2**31}",
        f"/api/tenants/{t}/metadata/versions/{2**64}",
        f"/api/tenants/{t}/audit?before={2**64}",
        f"/api/tenants/{t}/audit?before=-1",
        f"/api/users/audit?before={2**64}",
    ):
        _problem(c.get(path, headers=root), 400)
    token = c.post(
        f"/api/tenants/{t}/tokens",
        json={"name": "t", "user": hostile.emails["rep"], "expires_in_days": 1_000_000_000},
        headers=root,
    )
    assert "expires_in_days" in json.dumps(_problem(token, 400))
    apply = c.post(
        f"/api/tenants/{t}/metadata/apply",
        json={"metadata": {"objects": {}}, "expected_version": 2**40},
        headers=root,
    )
    _problem(apply, 400)


def test_control_characters_in_yaml_are_located(hostile):
    response = hostile.client.post(
        f"/api/tenants/{hostile.tenant}/metadata/plan",
        json={"metadata_yaml": "objects:\n  account\x01: {}\n"},
        headers=hostile.headers["root"],
    )
    problem = _problem(response, 422)
    assert problem["errors"][0]["line"] == 2 and "U+0001" in problem["errors"][0]["message"]
    with pytest.raises(MetadataError):
        validate_text("a: \x1b")


def test_a_signed_token_with_a_strange_subject_is_just_not_valid(hostile):
    now = int(time.time())
    for sub in ("not-a-uuid", 12, "", None):
        token = jwt.encode(
            {"sub": sub, "typ": "access", "tnt": hostile.tenant, "iat": now, "exp": now + 60},
            SECRET,
            algorithm="HS256",
        )
        for method, path in (("post", f"/t/{hostile.tenant}/graphql"), ("get", "/auth/me")):
            response = getattr(hostile.client, method)(
                path,
                headers={"Authorization": f"Bearer {token}"},
                **({"json": {"query": "{ __typename }"}} if method == "post" else {}),
            )
            _problem(response, 401)


def test_oversized_bodies_are_refused(service):
    app = _app(service, max_body_bytes=1000)
    with TestClient(app) as client:
        response = client.post(
            "/auth/login",
            content=b'{"email": "' + b"a" * 2000 + b'"}',
            headers={"content-type": "application/json"},
        )
        assert "1,000 bytes" in _problem(response, 413)["detail"]


# -- enumeration and secrets ------------------------------------------------------------


def test_a_tenant_admin_cannot_tell_platform_users_from_strangers(hostile):
    c, admin, t = hostile.client, hostile.headers["admin"], hostile.tenant
    # A platform user of nobody's tenant here, and an address nobody uses.
    outsider = f"outsider.{uuid.uuid4().hex[:8]}@hard.example"
    c.app.state.identity.create_user(
        outsider, PASSWORD, display_name="outsider", platform_admin=True
    )
    stranger = f"stranger.{uuid.uuid4().hex[:8]}@hard.example"
    answers = {}
    for email in (outsider, stranger):
        response = c.put(f"/api/tenants/{t}/members/{email}", json={"role": "rep"}, headers=admin)
        assert response.status_code == 200, response.text
        view = response.json()
        assert "platform_admin" not in view["user"]
        answers[email] = sorted(view["user"])
    assert answers[outsider] == answers[stranger]
    members = c.get(f"/api/tenants/{t}/members", headers=admin).json()
    assert all("platform_admin" not in m["user"] for m in members)
    # The platform admin still sees it.
    assert (
        "platform_admin"
        in c.get(f"/api/tenants/{t}/members", headers=hostile.headers["root"]).json()[0]["user"]
    )
    # A manager who is not a member: one answer for a platform user and for a stranger.
    other = f"other.{uuid.uuid4().hex[:8]}@hard.example"
    c.app.state.identity.create_user(other, PASSWORD)
    refusals = []
    for manager in (other, f"nobody.{uuid.uuid4().hex[:8]}@hard.example"):
        response = c.put(
            f"/api/tenants/{t}/members/{hostile.emails['rep']}",
            json={"role": "rep", "manager": manager},
            headers=admin,
        )
        refusals.append((response.status_code, response.json()["detail"].replace(manager, "EMAIL")))
    assert refusals[0] == refusals[1]
    tokens = [
        c.post(f"/api/tenants/{t}/tokens", json={"name": "t", "user": email}, headers=admin)
        for email in (other, f"nobody.{uuid.uuid4().hex[:8]}@hard.example")
    ]
    assert tokens[0].status_code == tokens[1].status_code == 404
    assert tokens[0].json()["title"] == tokens[1].json()["title"]


def test_the_webhook_endpoint_does_not_tell_tenants_apart(hostile):
    answers = [
        hostile.client.post(f"/t/{tenant}/hooks/anything", json={})
        for tenant in (hostile.tenant, "no_such_tenant")
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json()["detail"] == answers[1].json()["detail"]


def test_webhook_secrets_come_only_from_their_own_variables(monkeypatch):
    monkeypatch.setenv("TESSERA_SECRET_KEY", "platform secret " * 3)
    monkeypatch.setenv("TESSERA_HOOK_SECRET_CRM", "tenant secret " * 3)
    assert webhook_secret("TESSERA_SECRET_KEY") is None
    assert webhook_secret("TESSERA_HOOK_SECRET_CRM") == "tenant secret " * 3
    for name in ("TESSERA_SECRET_KEY", "TESSERA_DATABASE_URL", "HOME"):
        flows = (
            "objects: {lead: {fields: {name: {type: text}}}}\n"
            f"workflows:\n  w:\n    trigger: {{webhook: {{secret_env: {name}}}}}\n"
            "    actions: [{notify: {to: {role: x}, message: {en: hi, zh-CN: hi}}}]\n"
        )
        with pytest.raises(MetadataError) as caught:
            validate_text(flows)
        assert "secret_env" in str([i.to_dict() for i in caught.value.issues])


# -- the OpenAPI document ----------------------------------------------------------------


def test_openapi_says_who_needs_a_credential_and_which_errors_come_back(hostile):
    doc = hostile.client.get("/schema/openapi.json").json()
    assert "security" not in doc
    for path, method in (("/health", "get"), ("/auth/login", "post"), ("/auth/refresh", "post")):
        assert not doc["paths"][path][method].get("security"), path
    for path, method in (
        ("/api/tenants", "post"),
        ("/t/{tenant}/graphql", "post"),
        ("/auth/me", "get"),
    ):
        operation = doc["paths"][path][method]
        assert operation["security"] == [{"bearer": []}], path
        for status in ("401", "403", "404"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"]
    members = doc["paths"]["/api/tenants/{tenant}/members/{email}"]["put"]["responses"]
    assert {"400", "401", "403", "404", "409", "422"} <= set(members)
    assert "Problem" in doc["components"]["schemas"]


def test_text_longer_than_its_column_is_refused_by_name(hostile, service):
    from metadata.registry.store import InvalidTenant
    from runtime.security.identity import IdentityError

    c, root, t = hostile.client, hostile.headers["root"], hostile.tenant
    long = "x" * 5000
    for path, body in (
        (
            "/api/users",
            {"email": f"long.{uuid.uuid4().hex[:8]}@hard.example", "display_name": long},
        ),
        ("/api/tenants", {"name": "longname", "display_name": long}),
        (f"/api/tenants/{t}/tokens", {"name": long, "user": hostile.emails["rep"]}),
    ):
        problem = _problem(c.post(path, json=body, headers=root), 400)
        assert "200" in json.dumps(problem), problem
    # The same rules hold for the CLI, which calls the services directly.
    with pytest.raises(InvalidTenant, match="limit is 200"):
        service.create_tenant("longname", long)
    with pytest.raises(IdentityError, match="limit is 200"):
        c.app.state.identity.create_user("long@hard.example", None, display_name=long)
