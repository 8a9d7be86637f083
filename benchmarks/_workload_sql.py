"""The hand-written SQL of workloads W1-W4, shared by the benchmark servers.

``statements(pg, prefix)`` returns every variant by (kind, workload, subtree): ``rows``
returns plain rows, ``json`` lets the database build the JSON. The ``subtree`` variants
add what a hand-written app would write for a role-subtree user: ``owner`` among the user
ids given as the ``owners`` parameter. Nothing here imports Tessera: the separate
baseline server (``_baseline_server.py``) must not pay for it.
"""

from __future__ import annotations

import re


def statements(pg: bool, prefix: str) -> dict[tuple[str, str, bool], str]:
    """Return the SQL of each (kind, workload, subtree); ``prefix`` qualifies tables
    (``'"t_bench".'`` on PostgreSQL, empty on SQLite)."""
    PG, S = pg, prefix

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

    _W4_TOP = (
        "SELECT id, name, stage, amount, amount__currency, close_date, account FROM "
        f"{S}opportunity WHERE deleted_at IS NULL/*scope:*/ AND stage IN ('proposal', "
        "'negotiation') AND amount >= 100000 ORDER BY amount DESC, id LIMIT 50"
    )
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
        # The top 50 first, then each one's account (null where it is not visible), as
        # the GraphQL answer has it.
        "W4": f"SELECT o.id, o.name, o.stage, o.amount, o.amount__currency, o.close_date, "
        f"a.name FROM ({_W4_TOP}) o LEFT JOIN {S}account a ON a.id = o.account AND "
        "a.deleted_at IS NULL/*scope:a*/ ORDER BY o.amount DESC, o.id",
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
        + (
            "do_not_call"
            if PG
            else "CASE WHEN do_not_call THEN json('true') ELSE json('false') END"
        )
        + f", 'accountId', account, 'createdAt', {_ts('created_at')}"
    )
    _W3_CONTACT = _obj(
        "'id', c.id, 'lastName', c.last_name, 'email', c.email, 'account', "
        + _obj("'name', a.name")
    )
    _W4_OBJ = _obj(
        "'id', o.id, 'name', o.name, 'stage', o.stage, 'amount', "
        + _obj(f"'amount', {_dec('o.amount')}, 'currencyCode', o.amount__currency")
        + ", 'closeDate', o.close_date, 'account', "
        + "(SELECT "
        + _obj("'name', a.name")
        + f" FROM {S}account a WHERE a.id = o.account AND "
        "a.deleted_at IS NULL/*scope:a*/)"
    )
    _TEXT = "::text" if PG else ""
    JSON: dict[str, str] = {
        "W1": f"SELECT {_W1_OBJ}{_TEXT} FROM {S}account WHERE id = {_param('id')} "
        "AND deleted_at IS NULL/*scope:*/",
        "W2": f"SELECT {_agg('j', 'k')}{_TEXT} FROM (SELECT {_W2_OBJ} AS j, id AS k "
        f"FROM {S}contact "
        "WHERE deleted_at IS NULL/*scope:*/ ORDER BY id LIMIT 1000) x",
        "W3": f"SELECT {_agg('j', 'k')}{_TEXT} FROM (SELECT "
        + _obj(
            "'id', a.id, 'name', a.name, 'contacts', "
            + ("" if PG else "json")
            + f"((SELECT {_agg('cj', 'ck')} FROM (SELECT {_W3_CONTACT} AS cj, c.id AS ck FROM "
            f"{S}contact c WHERE c.account = a.id AND c.deleted_at IS NULL/*scope:c*/ "
            "ORDER BY c.id "
            "LIMIT 10) cc))"
        )
        + f" AS j, a.id AS k FROM (SELECT id, name FROM {S}account WHERE deleted_at IS NULL"
        "/*scope:*/ ORDER BY id LIMIT 100) a ORDER BY a.id) x",
        "W4": f"SELECT {_agg('j', 'k1 DESC, k2')}{_TEXT} FROM (SELECT {_W4_OBJ} AS j, "
        f"o.amount AS k1, o.id AS k2 FROM ({_W4_TOP}) o) x",
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

    return {
        (kind, workload, subtree): _scoped(text, subtree)
        for kind, texts in (("rows", ROWS), ("json", JSON))
        for workload, text in texts.items()
        for subtree in (False, True)
    }
