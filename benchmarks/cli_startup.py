"""How long CLI commands take from start to exit, against Python's own start-up.

Runs each command ``--runs`` times in a fresh process (as a person or a script does) on a
throwaway SQLite data folder with one tenant, and reports the median wall time, next to
the baselines ``python -c pass`` (the interpreter alone) and ``python -c "import
sqlalchemy.orm"`` (the least any command that reads the registry must load).

    .venv/bin/python benchmarks/cli_startup.py      # options: --runs 7, --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESSERA = str(Path(sys.executable).parent / "tessera")

COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import sqlalchemy.orm' (baseline)": [
        sys.executable,
        "-c",
        "import sqlalchemy.orm",
    ],
    "tessera --help": [TESSERA, "--help"],
    "tessera tenant list": [TESSERA, "tenant", "list"],
    "tessera tenant list --json": [TESSERA, "tenant", "list", "--json"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp())
    env = {**os.environ, "TESSERA_DATA_DIR": str(data)}
    subprocess.run([TESSERA, "tenant", "create", "acme"], env=env, check=True, capture_output=True)
    results = {}
    for label, command in COMMANDS.items():
        subprocess.run(command, env=env, check=True, capture_output=True)  # warm the disk
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        results[label] = statistics.median(times)
        print(f"{label:48} {results[label] * 1000:7.0f} ms (median of {args.runs})", flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
