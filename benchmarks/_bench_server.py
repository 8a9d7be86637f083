"""The server the workload benchmark drives: Tessera's app plus hand-written endpoints.

``/bench/{W}/rows`` runs hand-written SQL returning plain rows and encodes them with
msgspec; ``/bench/{W}/json`` runs hand-written SQL in which the database builds the JSON.
Both answer exactly what the GraphQL workload asks for. The ``-subtree`` variants add
what a hand-written app would write for a role-subtree user: ``owner`` among the user ids
sent as ``owners`` (each ``/*scope:ALIAS*/`` marks where that condition goes).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import msgspec
from litestar import MediaType, Response, post
from litestar.params import FromPath, JSONBody

from runtime.server.app import create_app
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService

TENANT = "bench"
backend = make_backend(Settings.from_env())
backend.prepare()
app = create_app(service=TenantService(backend))
PG = backend.dialect == "postgresql"
S = f'"{backend.schema(TENANT)}".' if PG else ""


def _obj(pairs: str) -> str:
    return ("json_build_object(" if PG else "json_object(") + pairs + ")"


def _agg(expr: str, order: str) -> str:
    if PG:
        return f"coalesce(json_agg({expr} ORDER BY {order}), '[]')"
    return f"coalesce(json_group_array(json({expr})), json('[]'))"


def _dec(col: str) -> str:
    return f"CAST({col} AS text)" if PG else f"printf('%.2f', {col})"


def _ts(col: str) -> str:
    if PG:
        return f"""to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    return (
        f"substr({col},1,10)||'T'||substr({col},12,8)||'.'||"
        f"substr(substr({col},21)||'000000',1,6)||'Z'"
    )


def _param(name: str) -> str:
    return f"%({name})s" if PG else f":{name}"


ROWS: dict[str, str] = {
    "W1": f"SELECT id, name, industry, rating, employees, website, phone, annual_revenue, "
    f"annual_revenue__currency, created_at FROM {S}account WHERE id = {_param('id')} "
    "AND deleted_at IS NULL/*scope:*/",
    "W2": f"SELECT id, last_name, first_name, title, email, mobile, birthday, do_not_call, "
    f"account, created_at FROM {S}contact WHERE deleted_at IS NULL/*scope:*/ ORDER BY id "
    "LIMIT 1000",
    "W3": f"WITH a AS (SELECT id, name FROM {S}account WHERE deleted_at IS NULL/*scope:*/ "
    "ORDER BY id "
    f"LIMIT 100), c AS (SELECT c.id, c.account, c.last_name, c.email, row_number() OVER "
    f"(PARTITION BY c.account ORDER BY c.id) AS rn FROM {S}contact c WHERE c.account IN "
    "(SELECT id FROM a) AND c.deleted_at IS NULL/*scope:c*/) SELECT a.id, a.name, c.id, "
    "c.last_name, "
    "c.email FROM a LEFT JOIN c ON c.account = a.id AND c.rn <= 10 ORDER BY a.id, c.id",
    "W4": f"SELECT o.id, o.name, o.stage, o.amount, o.amount__currency, o.close_date, a.name "
    f"FROM {S}opportunity o JOIN {S}account a ON a.id = o.account AND a.deleted_at IS NULL"
    "/*scope:a*/ WHERE o.deleted_at IS NULL/*scope:o*/ AND o.stage IN ('proposal', "
    "'negotiation') AND o.amount >= "
    "100000 ORDER BY o.amount DESC, o.id LIMIT 50",
}

_W1_OBJ = _obj(
    "'id', id, 'name', name, 'industry', industry, 'rating', rating, 'employees', employees, "
    "'website', website, 'phone', phone, 'annualRevenue', "
    + _obj(f"'amount', {_dec('annual_revenue')}, 'currencyCode', annual_revenue__currency")
    + f", 'createdAt', {_ts('created_at')}"
)
_W2_OBJ = _obj(
    "'id', id, 'lastName', last_name, 'firstName', first_name, 'title', title, 'email', email, "
    "'mobile', mobile, 'birthday', birthday, 'doNotCall', "
    + ("do_not_call" if PG else "CASE WHEN do_not_call THEN json('true') ELSE json('false') END")
    + f", 'accountId', account, 'createdAt', {_ts('created_at')}"
)
_W3_CONTACT = _obj(
    "'id', c.id, 'lastName', c.last_name, 'email', c.email, 'account', " + _obj("'name', a.name")
)
_W4_OBJ = _obj(
    "'id', o.id, 'name', o.name, 'stage', o.stage, 'amount', "
    + _obj(f"'amount', {_dec('o.amount')}, 'currencyCode', o.amount__currency")
    + ", 'closeDate', o.close_date, 'account', "
    + _obj("'name', a.name")
)
_TEXT = "::text" if PG else ""
JSON: dict[str, str] = {
    "W1": f"SELECT {_W1_OBJ}{_TEXT} FROM {S}account WHERE id = {_param('id')} "
    "AND deleted_at IS NULL/*scope:*/",
    "W2": f"SELECT {_agg('j', 'k')}{_TEXT} FROM (SELECT {_W2_OBJ} AS j, id AS k FROM {S}contact "
    "WHERE deleted_at IS NULL/*scope:*/ ORDER BY id LIMIT 1000) x",
    "W3": f"SELECT {_agg('j', 'k')}{_TEXT} FROM (SELECT "
    + _obj(
        "'id', a.id, 'name', a.name, 'contacts', "
        + ("" if PG else "json")
        + f"((SELECT {_agg('cj', 'ck')} FROM (SELECT {_W3_CONTACT} AS cj, c.id AS ck FROM "
        f"{S}contact c WHERE c.account = a.id AND c.deleted_at IS NULL/*scope:c*/ ORDER BY c.id "
        "LIMIT 10) cc))"
    )
    + f" AS j, a.id AS k FROM (SELECT id, name FROM {S}account WHERE deleted_at IS NULL"
    "/*scope:*/ ORDER BY id LIMIT 100) a ORDER BY a.id) x",
    "W4": f"SELECT {_agg('j', 'k1 DESC, k2')}{_TEXT} FROM (SELECT {_W4_OBJ} AS j, o.amount AS k1, "
    f"o.id AS k2 FROM {S}opportunity o JOIN {S}account a ON a.id = o.account AND a.deleted_at "
    "IS NULL/*scope:a*/ WHERE o.deleted_at IS NULL/*scope:o*/ AND o.stage IN ('proposal', "
    "'negotiation') AND "
    "o.amount >= 100000 ORDER BY o.amount DESC, o.id LIMIT 50) x",
}


_SCOPE = re.compile(r"/\*scope:(\w*)\*/")


def _scoped(sql: str, subtree: bool) -> str:
    """Fill each ``/*scope:ALIAS*/`` marker with the owner condition, or drop it."""

    def condition(match: re.Match[str]) -> str:
        if not subtree:
            return ""
        column = f"{match.group(1)}.owner" if match.group(1) else "owner"
        if PG:
            return f" AND {column} = ANY({_param('owners')})"
        return f" AND {column} IN (SELECT value FROM json_each({_param('owners')}))"

    return _SCOPE.sub(condition, sql)


def _params(data: dict[str, Any]) -> dict[str, Any]:
    if "owners" in data:
        owners = data["owners"]
        data = {**data, "owners": [uuid.UUID(o) for o in owners] if PG else json.dumps(owners)}
    return data


def _iso(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps UTC as "YYYY-MM-DD HH:MM:SS.ffffff"
        return value.replace(" ", "T") + "Z"
    return value.isoformat().replace("+00:00", "Z")


def _money(amount: Any, code: Any) -> Any:
    return None if amount is None else {"amount": f"{amount:.2f}", "currencyCode": code}


def _encode(name: str, rows: list[Any]) -> Any:
    if name == "W1":
        return [
            {
                "id": r[0],
                "name": r[1],
                "industry": r[2],
                "rating": r[3],
                "employees": r[4],
                "website": r[5],
                "phone": r[6],
                "annualRevenue": _money(r[7], r[8]),
                "createdAt": _iso(r[9]),
            }
            for r in rows
        ][:1]
    if name == "W2":
        return [
            {
                "id": r[0],
                "lastName": r[1],
                "firstName": r[2],
                "title": r[3],
                "email": r[4],
                "mobile": r[5],
                "birthday": r[6],
                "doNotCall": bool(r[7]),
                "accountId": r[8],
                "createdAt": _iso(r[9]),
            }
            for r in rows
        ]
    if name == "W3":
        out: list[dict[str, Any]] = []
        for r in rows:
            if not out or out[-1]["id"] != r[0]:
                out.append({"id": r[0], "name": r[1], "contacts": []})
            if r[2] is not None:
                out[-1]["contacts"].append(
                    {"id": r[2], "lastName": r[3], "email": r[4], "account": {"name": r[1]}}
                )
        return out
    return [
        {
            "id": r[0],
            "name": r[1],
            "stage": r[2],
            "amount": _money(r[3], r[4]),
            "closeDate": r[5],
            "account": {"name": r[6]},
        }
        for r in rows
    ]


_ENCODER = msgspec.json.Encoder(decimal_format="string")


# Statements are filled in once, at import, as an app would hold them.
SQL = {
    (kind, workload, subtree): _scoped(text, subtree)
    for kind, texts in (("rows", ROWS), ("json", JSON))
    for workload, text in texts.items()
    for subtree in (False, True)
}


def _run(kind: str, workload: str, variant: str, data: dict[str, Any]) -> Any:
    sql = SQL[(kind, workload, variant == "subtree")]
    with backend.read_tenant(TENANT) as conn:
        result = conn.exec_driver_sql(sql, _params(data))
        return result.all() if kind == "rows" else result.scalar()


@post("/bench/{workload:str}/rows", sync_to_thread=True, status_code=200)
def rows(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[bytes]:
    result = _run("rows", workload, "", data)
    return Response(_ENCODER.encode(_encode(workload, result)), media_type=MediaType.JSON)


@post("/bench/{workload:str}/rows-subtree", sync_to_thread=True, status_code=200)
def rows_subtree(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[bytes]:
    result = _run("rows", workload, "subtree", data)
    return Response(_ENCODER.encode(_encode(workload, result)), media_type=MediaType.JSON)


@post("/bench/{workload:str}/json", sync_to_thread=True, status_code=200)
def built(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[str]:
    value = _run("json", workload, "", data)
    return Response(value if workload != "W1" else f"[{value}]", media_type=MediaType.JSON)


@post("/bench/{workload:str}/json-subtree", sync_to_thread=True, status_code=200)
def built_subtree(workload: FromPath[str], data: JSONBody[dict[str, Any]]) -> Response[str]:
    value = _run("json", workload, "subtree", data)
    return Response(value if workload != "W1" else f"[{value}]", media_type=MediaType.JSON)


for handler in (rows, rows_subtree, built, built_subtree):
    app.register(handler)
