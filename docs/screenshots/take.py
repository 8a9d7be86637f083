"""Take the web app's screenshots in docs/screenshots/ (both languages, desktop and phone).

    .venv/bin/python docs/screenshots/take.py

A scratch SQLite instance with core_crm and its sample data, `tessera serve`, and
Debian's Chromium (headless, through Playwright). PNGs are kept small: 1200x760 at one
pixel per CSS pixel, reduced to 256 colours by pngquant and squeezed by optipng when
they are installed (apt-get install pngquant optipng).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from benchmarks._serve import scratch_env, serving  # noqa: E402
from metadata.packs.catalog import Catalog  # noqa: E402
from runtime.packs.service import PackService  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.wiring import Platform  # noqa: E402

TENANT = "demo"
PASSWORD = "screenshots-password"
PEOPLE = {"rep": "sales_rep", "manager": "sales_manager", "director": "sales_director"}


def main() -> None:
    env = scratch_env("screenshots-secret-" + "s" * 40)
    platform = Platform(Settings.from_env(env))
    platform.service.create_tenant(TENANT, "演示 Demo", timezone="Asia/Shanghai")
    for who, role in PEOPLE.items():
        platform.identity.create_user(f"{who}@demo.example", PASSWORD, display_name=who)
        platform.identity.set_membership(TENANT, f"{who}@demo.example", role=role)
    owners = {who: platform.identity.user(f"{who}@demo.example").id for who in PEOPLE}
    packs = PackService(platform.service, Catalog())
    packs.apply(
        packs.plan_install(TENANT, ["core_crm"], sample_data=True, owners=owners, sql=False)
    )
    platform.close()
    with serving(env) as base:
        shoot(base)
    shots = [str(p) for p in sorted(OUT.glob("*.png"))]
    if shutil.which("pngquant"):  # 256 colours: a third of the size, no visible change
        subprocess.run(["pngquant", "--force", "--ext", ".png", "--quality", "70-95", *shots])
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", *shots], check=True)


def shoot(base: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("TESSERA_TEST_CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for locale in ("zh-CN", "en"):
            page = browser.new_page(locale=locale, viewport={"width": 1200, "height": 760})
            page.goto(f"{base}/app/signin?tenant={TENANT}")
            page.wait_for_selector("input[name=email]")
            page.screenshot(path=str(OUT / f"signin-{locale}.png"))
            page.fill("input[name=email]", "rep@demo.example")
            page.fill("input[name=password]", PASSWORD)
            page.click("form button.primary")
            page.wait_for_selector("[data-testid=chart] svg")
            page.screenshot(path=str(OUT / f"home-{locale}.png"))
            page.goto(f"{base}/app/{TENANT}/o/lead?view=lead_pool")
            page.wait_for_selector("table.records tbody tr:has(a)")
            page.screenshot(path=str(OUT / f"list-{locale}.png"))
            page.goto(f"{base}/app/{TENANT}/o/opportunity/kanban/stage")
            page.wait_for_selector(".card")
            page.screenshot(path=str(OUT / f"kanban-{locale}.png"))
            page.goto(f"{base}/app/{TENANT}/o/account")
            page.click("table.records >> text=华信精密制造有限公司")
            page.wait_for_selector(".path, .sections")
            page.screenshot(path=str(OUT / f"record-{locale}.png"))
            page.click(".tabs button >> nth=1")
            page.wait_for_selector(".related-list")
            page.screenshot(path=str(OUT / f"related-{locale}.png"))
            page.goto(f"{base}/app/{TENANT}/o/opportunity")
            page.click("text=筛选" if locale == "zh-CN" else "text=Filter")
            page.click(".group-actions button >> nth=0")
            page.screenshot(path=str(OUT / f"filter-{locale}.png"))
            page.close()
            phone = browser.new_page(
                locale=locale, viewport={"width": 390, "height": 760}, is_mobile=True
            )
            phone.goto(f"{base}/app/signin?tenant={TENANT}")
            phone.fill("input[name=email]", "rep@demo.example")
            phone.fill("input[name=password]", PASSWORD)
            phone.click("form button.primary")
            phone.wait_for_selector("nav.bottombar")
            phone.goto(f"{base}/app/{TENANT}/o/opportunity")
            phone.click("table.records tbody tr >> nth=0 >> a")
            phone.wait_for_selector(".sections")
            tag = "zh-CN" if locale == "zh-CN" else "en"
            phone.screenshot(path=str(OUT / f"record-phone-{tag}.png"))
            phone.close()
        browser.close()


if __name__ == "__main__":
    main()
