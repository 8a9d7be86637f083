"""What a tenant's permission data costs a server, per tenant, with many tenants.

Creates ``--tenants`` tenants with the same metadata (apps/demo_crm) and measures, in one
run, on the chosen backend:

- ``registry read``: the old refresh of a tenant's principals directory, every 10 s per
  tenant: ``TenantService.active`` (a control-plane query and a parse of the snapshot);
- ``active models``: the refresh now: the process's ``ActiveModels`` entry, which its
  requests keep anyway (invalidated by push);
- distinct parsed models held for all tenants, before (one per tenant) and after (one
  per content hash).

    .venv/bin/python benchmarks/tenant_directories.py --url postgresql://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.add_field_no_rewrite import scratch_database
from metadata.validation import validate_file
from runtime.coordination.invalidation import Invalidation
from runtime.demo import DEMO_DIR
from runtime.model.active import ActiveModels
from runtime.settings import Settings
from runtime.storage.backends import make_backend
from runtime.tenants import TenantService


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with scratch_database(args.url) as url:
        backend = make_backend(Settings(database_url=url))
        backend.prepare()
        service = TenantService(backend)
        metadata = validate_file(DEMO_DIR / "metadata.yaml")
        names = [f"t{i:03d}" for i in range(args.tenants)]
        for name in names:
            service.create_tenant(name)
            service.apply(name, metadata)
        models = ActiveModels(service, invalidation=Invalidation())
        for name in names:
            models.get(name)  # what the tenant's requests have already loaded
        old, new = [], []
        for _ in range(args.rounds):
            started = time.perf_counter()
            parsed = [service.active(name)[1].model for name in names]
            old.append((time.perf_counter() - started) / len(names))
            started = time.perf_counter()
            shared = [models.get(name)[0].model for name in names]
            new.append((time.perf_counter() - started) / len(names))
        backend.dispose()
    print(f"{args.tenants} tenants with the same metadata ({backend.dialect}):")
    print(f"  registry read + parse per tenant refresh: {statistics.median(old) * 1000:8.3f} ms")
    print(f"  active models per tenant refresh:         {statistics.median(new) * 1000:8.3f} ms")
    before, after = len({id(m) for m in parsed}), len({id(m) for m in shared})
    print(f"  distinct models held: before {before}, after {after}")


if __name__ == "__main__":
    main()
