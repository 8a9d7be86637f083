"""The server the workload benchmark drives: Tessera's app plus hand-written endpoints.

``/bench/{W}/rows`` runs hand-written SQL returning plain rows and encodes them with
msgspec; ``/bench/{W}/json`` runs hand-written SQL in which the database builds the JSON.
Both answer exactly what the GraphQL workload asks for. The ``-subtree`` variants add
what a hand-written app would write for a role-subtree user: ``owner`` among the user ids
sent as ``owners`` (each ``/*scope:ALIAS*/`` marks where that condition goes).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import msgspec
from litestar import MediaType, Response, post
from litestar.params import FromPath, JSONBody

from benchmarks._workload_sql import statements
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
SQL = statements(PG, S)


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
