"""W1-W4 before and after issue 16's data-layer redesign, in the same run.

Checks out the commit before the redesign (``--before``, default ``8da5a33``: the last
commit of issue 15) into a temporary git worktree, loads the demo CRM once (as
benchmarks/graphql_workloads.py does, smaller by default), then starts ``tessera
serve``'s app alternately from the old tree and from this one, several rounds, and
drives W1-W4 through each with wrk. Both read the same database: the redesign changed
no table. Reports the medians of requests/s and of the server's CPU per request, and
after/before; the bar is ≥ 0.95×.

    .venv/bin/python benchmarks/refactor_workloads.py --url postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/refactor_workloads.py --url sqlite:////tmp/bench-refactor/tessera.sqlite3

Needs ``wrk`` (Debian: apt install wrk) and git.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.graphql_workloads import (  # noqa: E402
    TENANT,
    WORKLOADS,
    alternate,
    load,
    server_env,
)

NAMES = ("W1", "W2", "W3", "W4")
SERVER = (
    "import uvicorn\n"
    "from runtime.server.app import create_app\n"
    "from runtime.settings import Settings\n"
    "settings = Settings.from_env()\n"
    "uvicorn.run(create_app(settings), host='127.0.0.1', port=settings.port, log_config=None)\n"
)


def serve(tree: Path, args: Any, secret: str, log: Path) -> subprocess.Popen[bytes]:
    """Start the server from ``tree`` (its ``runtime`` package comes first on the path)."""
    env = server_env(
        args.url,
        secret,
        args.port,
        TESSERA_METRICS="false",
        TESSERA_LOG_LEVEL="warning",
        PYTHONPATH=str(tree),
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", SERVER], cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default="postgresql://postgres@127.0.0.1/postgres", help="server to load into"
    )
    parser.add_argument("--before", default="8da5a33", help="the commit to compare with")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--opportunities", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--port", type=int, default=8768)
    parser.add_argument("--workloads", default=",".join(NAMES), help="e.g. W4 or W1,W4")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt install wrk")
    old = Path(tempfile.mkdtemp(prefix="tessera-before-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), args.before],
        check=True,
        capture_output=True,
    )
    try:
        secret = secrets.token_urlsafe(32)
        loaded = load(args.url, secret, args.accounts, args.contacts, args.opportunities)
        logs = Path(tempfile.mkdtemp(prefix="tessera-bench-refactor-"))
        bodies = {
            name: json.dumps(
                {
                    "query": WORKLOADS[name],
                    "variables": {"id": loaded.account_id} if name == "W1" else {},
                }
            )
            for name in args.workloads.split(",")
        }
        trees = {"before": old, "after": ROOT}
        samples = alternate(
            lambda mode: serve(trees[mode], args, secret, logs / f"{mode}.log"),
            bodies,
            args,
            loaded.admin_token,
            modes=("before", "after"),
        )
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
            check=False,
            capture_output=True,
        )
    results = []
    for name in args.workloads.split(","):
        rps = {m: statistics.median(s["rps"] for s in samples[(name, m)]) for m in trees}
        cpu = {m: statistics.median(s["server_ms"] for s in samples[(name, m)]) for m in trees}
        row = {
            "workload": name,
            "rps_before": rps["before"],
            "rps_after": rps["after"],
            "ratio": rps["after"] / rps["before"],
            "server_ms_before": cpu["before"],
            "server_ms_after": cpu["after"],
        }
        results.append(row)
        print(
            f"{name}: {rps['before']:.1f} req/s before, {rps['after']:.1f} after "
            f"({row['ratio']:.3f}x); server CPU {cpu['before']:.3f} -> {cpu['after']:.3f} "
            "ms/request"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    print(f"tenant {TENANT}, {args.rounds} rounds of {args.seconds} s per workload and tree")


if __name__ == "__main__":
    main()
