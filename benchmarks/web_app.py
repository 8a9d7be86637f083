"""The web app in Chromium: time to a rendered 50-row list view and to a record page
with 3 related lists, on a tenant with 10,000 accounts, and the first load's size.

    .venv/bin/python benchmarks/web_app.py                      # SQLite, the embedded default
    .venv/bin/python benchmarks/web_app.py --url postgresql://postgres@127.0.0.1/bench_web
    # options: --accounts 10000 --runs 25 --json

It sets up core_crm with its sample data plus ``--accounts`` accounts (each with a
contact and an opportunity), starts `tessera serve`, signs a sales director in with
Debian's Chromium (headless, Playwright), and navigates to each page ``--runs`` times
(a full page load each time: the browser keeps its HTTP cache, as a person's does). The
app marks ``tessera:list-rendered`` once the page's rows are on screen and
``tessera:record-rendered`` once the record and its related lists are; a mark's
``startTime`` is measured from the start of the navigation.

Baseline, in the same page and run: the data request alone (the same GraphQL list
query, sent with fetch from the page), so what the app adds (booting, the shell, the UI
schema, rendering) is the difference.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._serve import scratch_env, serving  # noqa: E402
from metadata.packs.catalog import Catalog  # noqa: E402
from runtime.packs.service import PackService  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.storage.records import insert_records  # noqa: E402
from runtime.wiring import Platform  # noqa: E402

TENANT = "bench_web"
EMAIL = "director@bench-web.example"
PASSWORD = "bench-web-password"
SECRET = "bench-web-secret-key-" + "w" * 30
LIST, RECORD = "tessera:list-rendered", "tessera:record-rendered"


def set_up(env: dict[str, str], accounts: int) -> str:
    """Create the tenant and its records; return an opportunity's id (for its page)."""
    platform = Platform(Settings.from_env(env))
    service, identity = platform.service, platform.identity
    with contextlib.suppress(Exception):  # a first run has none
        service.delete_tenant(TENANT)
    service.create_tenant(TENANT, "Web app benchmark", timezone="Asia/Shanghai")
    with contextlib.suppress(Exception):  # kept from an earlier run
        identity.create_user(EMAIL, PASSWORD)
    identity.set_membership(TENANT, EMAIL, role="sales_director")
    owner = identity.user(EMAIL).id
    packs = PackService(service, Catalog())
    owners = {"rep": owner, "manager": owner, "director": owner}
    packs.apply(
        packs.plan_install(TENANT, ["core_crm"], sample_data=True, owners=owners, sql=False)
    )
    model = service.active(TENANT)[1].model
    schema = service.backend.schema(TENANT)
    started = time.perf_counter()
    with service.backend.begin_tenant(TENANT) as conn:
        ids = insert_records(
            conn,
            model,
            "account",
            [
                {
                    "name": f"基准客户 {i:05d}",
                    "industry": "manufacturing",
                    "rating": "warm",
                    "region": "east",
                    "annual_revenue": 1_000_000 + i,
                    "owner": owner,
                }
                for i in range(accounts)
            ],
            schema=schema,
        )
        insert_records(
            conn,
            model,
            "contact",
            [{"name": f"联系人 {i:05d}", "account": a, "owner": owner} for i, a in enumerate(ids)],
            schema=schema,
        )
        opportunities = insert_records(
            conn,
            model,
            "opportunity",
            [
                {
                    "name": f"商机 {i:05d}",
                    "account": a,
                    "stage": "proposal",
                    "amount": 50_000 + i,
                    "owner": owner,
                }
                for i, a in enumerate(ids)
            ],
            schema=schema,
        )
        target = opportunities[0]
        insert_records(
            conn,
            model,
            "quote",
            [
                {
                    "name": f"报价 {i}",
                    "account": ids[0],
                    "opportunity": target,
                    "discount": 5,
                    "owner": owner,
                }
                for i in range(5)
            ],
            schema=schema,
        )
        insert_records(
            conn,
            model,
            "activity",
            [
                {
                    "subject": f"拜访 {i}",
                    "kind": "visit",
                    "related_to": {"object": "opportunity", "id": str(target)},
                    "owner": owner,
                }
                for i in range(8)
            ],
            schema=schema,
        )
    took = time.perf_counter() - started
    print(f"set up {accounts:,} accounts, contacts and opportunities in {took:.1f} s")
    platform.close()
    return str(target)


def first_load(base: str) -> dict[str, int]:
    """The bytes of the first load: the page and every file it loads before the shell
    (raw and gzipped), and ECharts (loaded only by the pages that draw a chart)."""
    page = httpx.get(f"{base}/app/{TENANT}/home").text
    static = ROOT / "runtime" / "server" / "static"
    files = [*(static / "app").rglob("*.js"), static / "app" / "app.css"]
    vue = next((static / "vendor").glob("vue-*/vue.esm-browser.prod.js"))
    echarts = next((static / "vendor").glob("echarts-*/echarts.esm.min.js"))
    raw = [page.encode(), *(f.read_bytes() for f in [*files, vue])]
    return {
        "first_load_raw": sum(len(b) for b in raw),
        "first_load_gzip": sum(len(gzip.compress(b, 6)) for b in raw),
        "vue_gzip": len(gzip.compress(vue.read_bytes(), 6)),
        "app_gzip": sum(len(gzip.compress(f.read_bytes(), 6)) for f in files),
        "echarts_gzip_lazy": len(gzip.compress(echarts.read_bytes(), 6)),
    }


def measure(base: str, opportunity: str, runs: int, chromium: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {
        "boot": [],
        "shell": [],
        "list": [],
        "record": [],
        "baseline_list_query": [],
        "transfer": [],
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page.goto(f"{base}/app/signin?tenant={TENANT}")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.click("form button.primary")
        page.wait_for_selector("nav.sidenav")
        for i in range(runs + 2):  # the first two warm the server's caches up
            page.goto(f"{base}/app/{TENANT}/o/account")
            page.wait_for_function(
                "performance.getEntriesByName('tessera:list-rendered').length > 0"
            )
            rows = page.locator("table.records tbody tr").count()
            assert rows == 50, rows
            took = page.evaluate(
                "performance.getEntriesByName('tessera:list-rendered')[0].startTime"
            )
            transfer = page.evaluate(
                "performance.getEntriesByType('resource')"
                ".concat(performance.getEntriesByType('navigation'))"
                ".reduce((n, e) => n + (e.transferSize || 0), 0)"
            )
            baseline = page.evaluate(
                """async (tenant) => {
                    const s = JSON.parse(localStorage.getItem('tessera:app:' + tenant));
                    const query = `query List($first: Int, $orderBy: [AccountOrderBy!]) {
                      accounts(first: $first, orderBy: $orderBy) {
                      totalCount pageInfo { hasNextPage endCursor } nodes { id rowVersion name
                      industry rating region parent { id name } partner { id name } owner } } }`;
                    const t0 = performance.now();
                    const r = await fetch(`/t/${tenant}/graphql`, {method: 'POST', headers: {
                      'content-type': 'application/json', authorization: 'Bearer ' + s.access},
                      body: JSON.stringify({query, variables:
                        {first: 50, orderBy: [{updatedAt: 'DESC'}]}})});
                    const body = await r.json();
                    if (body.data.accounts.nodes.length !== 50) throw new Error('baseline read');
                    return performance.now() - t0;
                }""",
                TENANT,
            )
            if i >= 2:
                for mark in ("boot", "shell"):
                    out[mark].append(
                        page.evaluate(
                            f"performance.getEntriesByName('tessera:{mark}')[0].startTime"
                        )
                    )
                out["list"].append(took)
                out["baseline_list_query"].append(baseline)
                out["transfer"].append(transfer)
        for i in range(runs + 2):
            page.goto(f"{base}/app/{TENANT}/r/opportunity/{opportunity}")
            page.wait_for_function(
                "performance.getEntriesByName('tessera:record-rendered').length > 0"
            )
            took = page.evaluate(
                "performance.getEntriesByName('tessera:record-rendered')[0].startTime"
            )
            if i >= 2:
                out["record"].append(took)
        page.click(".tabs button >> nth=1")
        page.wait_for_selector(".related-list")
        related = page.evaluate("document.querySelectorAll('.related-list').length")
        assert related >= 3, related
        browser.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a PostgreSQL URL (default: SQLite in a scratch folder)")
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    chromium = os.environ.get("TESSERA_TEST_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("Chromium is needed: apt-get install -y chromium")
    env = scratch_env(SECRET, args.url)
    opportunity = set_up(env, args.accounts)
    with serving(env) as base:
        sizes = first_load(base)
        times = measure(base, opportunity, args.runs, chromium)
    result = {
        "backend": "postgresql" if args.url else "sqlite",
        "accounts": args.accounts,
        "runs": args.runs,
        "boot_p50_ms": round(statistics.median(times["boot"]), 1),
        "shell_p50_ms": round(statistics.median(times["shell"]), 1),
        "list_p50_ms": round(statistics.median(times["list"]), 1),
        "list_p90_ms": round(pct(times["list"], 0.9), 1),
        "baseline_list_query_p50_ms": round(statistics.median(times["baseline_list_query"]), 1),
        "record_p50_ms": round(statistics.median(times["record"]), 1),
        "record_p90_ms": round(pct(times["record"], 0.9), 1),
        "list_page_transfer_bytes_p50": round(statistics.median(times["transfer"])),
        **sizes,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:32} {value:,}" if isinstance(value, (int, float)) else f"{key:32} {value}")


if __name__ == "__main__":
    main()
