"""EXPLAIN ANALYZE of W1-W4: Tessera's compiled statements against the baseline's SQL.

Uses the tenant ``server_workloads.py`` loaded (run that first). For each workload and
access level it compiles the GraphQL request as the server does (the sales manager's
principal for the role-subtree level, resolved from their API token), takes the kept
plan's statement and parameters, and runs ``EXPLAIN (ANALYZE, FORMAT JSON)`` on it and
on the baseline server's hand-written statement (``_workload_sql.py``), several times
each. Reported: the median execution time, the planner's total cost, and the plan's
scan nodes (which index or sequential scans each reads), so a change that loses an
index shows up by name.

    .venv/bin/python benchmarks/explain_workloads.py --url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._workload_sql import statements  # noqa: E402
from benchmarks.graphql_workloads import TENANT, WORKLOADS  # noqa: E402
from runtime.graphql.executor import Request, run  # noqa: E402
from runtime.security.principal import Principal  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.wiring import Platform  # noqa: E402

STATE = Path(tempfile.gettempdir()) / "tessera-server-workloads.json"


def _scans(node: dict[str, Any]) -> list[str]:
    """The plan's scans, in plan order: 'Index Scan on account (account_pkey)'."""
    found = []
    kind = node.get("Node Type", "")
    if "Scan" in kind and "Relation Name" in node:
        index = f" ({node['Index Name']})" if "Index Name" in node else ""
        found.append(f"{kind} on {node['Relation Name']}{index}")
    for child in node.get("Plans", ()):
        found += _scans(child)
    return found


def _explain(conn: Any, sql: str, params: dict[str, Any], runs: int) -> dict[str, Any]:
    times, plan = [], None
    for _ in range(runs):
        row = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params).scalar()
        document = row if isinstance(row, list) else json.loads(row)
        plan = document[0]
        times.append(plan["Execution Time"])
    assert plan is not None
    return {
        "ms": statistics.median(times),
        "cost": plan["Plan"]["Total Cost"],
        "scans": sorted(set(_scans(plan["Plan"]))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1/bench")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not STATE.exists():
        raise SystemExit("run benchmarks/server_workloads.py first (it loads the data)")
    state = json.loads(STATE.read_text())
    platform = Platform(Settings(database_url=args.url, secret_key=state["secret"]))
    backend = platform.backend
    schema = backend.schema(TENANT)
    baseline = statements(True, f'"{schema}".')
    manager = platform.identity.authenticate(f"Bearer {state['manager_token']}")
    readers = {
        "full": Principal.system(TENANT),
        "subtree": platform.principals.resolve(manager, TENANT),
    }
    results = []
    for level, principal in readers.items():
        api, timezone = platform.apis.get(TENANT, principal.grants)
        for name, query in WORKLOADS.items():
            variables = {"id": state["account_id"]} if name == "W1" else {}
            answer = json.loads(
                run(api, backend, Request(TENANT, principal, query, variables, None, timezone))
            )
            assert "errors" not in answer, answer
            [root] = api.plans.of(query)[0]
            assert root.sql is not None
            given: dict[str, Any] = {}
            if "id" in variables:
                given["id"] = uuid.UUID(variables["id"])
            if level == "subtree":
                given["owners"] = [uuid.UUID(o) for o in state["team"]]
            with backend.reading(TENANT) as conn:
                ours = _explain(conn, root.sql, dict(root.params), args.runs)
                theirs = _explain(conn, baseline[("json", name, level == "subtree")], given, 3)
            row = {"workload": name, "access": level, "tessera": ours, "baseline": theirs}
            results.append(row)
            print(
                f"{name} {level:7}  Tessera {ours['ms']:7.2f} ms (cost {ours['cost']:9.1f}) "
                f"| baseline {theirs['ms']:7.2f} ms (cost {theirs['cost']:9.1f})\n"
                f"    Tessera scans:  {'; '.join(ours['scans'])}\n"
                f"    baseline scans: {'; '.join(theirs['scans'])}",
                flush=True,
            )
    if args.json:
        print(json.dumps(results, indent=2))
    platform.close()


if __name__ == "__main__":
    main()
