"""The browser pages in a real browser with the network cut off: Debian's Chromium,
headless, driven by Playwright for Python (never a browser Playwright downloads).

Every request to anything but 127.0.0.1 is refused and recorded, so a page that still
needs a CDN fails here the way it would on an offline machine. The test signs in through
GraphiQL's own form, runs a query and sees the data, then opens the API docs.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from metadata.validation import validate_file
from runtime.settings import Settings
from runtime.wiring import Platform
from tests.conftest import DEMO_METADATA
from tests.runtime.browser.conftest import SECRET
from tests.runtime.processes.conftest import Cluster

PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`tessera serve` on a SQLite instance with a tenant, records and a member."""
    folder = tmp_path_factory.mktemp("browser")
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(folder),
        "TESSERA_SECRET_KEY": SECRET,
        "TESSERA_LOG_FORMAT": "json",
    }
    platform = Platform(Settings.from_env(env))
    service, identity = platform.service, platform.identity
    service.create_tenant("acme", "Acme 公司")
    service.apply("acme", validate_file(DEMO_METADATA))
    email = f"rep-{uuid.uuid4().hex[:6]}@acme.example"
    identity.create_user(email, PASSWORD)
    identity.set_membership("acme", email, tenant_admin=True)
    from runtime.storage.records import insert_records

    model = service.active("acme")[1].model
    with service.backend.begin_tenant("acme") as conn:
        insert_records(conn, model, "account", [{"name": "Northwind 北风贸易"}], schema=None)
    cluster = Cluster(Settings.from_env(env).database_url, env, folder, platform)
    process = cluster.spawn("server", "serve", serve=True)
    yield process.url, email
    cluster.stop()
    platform.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN")
    blocked: list[str] = []

    def only_loopback(route):
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert blocked == [], f"the page tried to reach beyond 127.0.0.1: {blocked}"
    assert errors == [], f"script errors: {errors}"


def run_query(page, query: str, expected: str) -> None:
    """Type ``query`` into GraphiQL and run it until the response shows ``expected``.

    Right after a load, GraphiQL may still be fetching the schema (and, with an expired
    token, refreshing it first) and can drop a click on Run; on a busy machine that took
    longer than one wait. Each try waits up to 8 s; the query must succeed within four.
    """
    for attempt in range(4):
        page.evaluate(
            """(q) => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror
                   .setValue(q)""",
            query,
        )
        page.click(".graphiql-execute-button")
        try:
            page.wait_for_selector(f".graphiql-response:has-text('{expected}')", timeout=8_000)
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise


def test_graphiql_signs_in_runs_a_query_and_shows_data(server, page):
    base, email = server
    page.goto(f"{base}/t/acme/graphql")
    assert page.title() == "Tessera GraphQL · acme"
    page.fill("#email", email)
    page.fill("#password", "wrong password")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#error:has-text('not right')")
    page.fill("#password", PASSWORD)
    page.click("#password-form button[type=submit]")
    page.wait_for_selector(".graphiql-container", timeout=20_000)
    assert email in page.inner_text("#who")
    run_query(page, "{ accounts { nodes { name } } }", "Northwind 北风贸易")
    # An access token that no longer works is refreshed once, and the query goes through.
    page.evaluate(
        """() => {
            const key = 'tessera:acme';
            const s = JSON.parse(sessionStorage.getItem(key));
            s.access = 'expired.' + s.access;
            sessionStorage.setItem(key, JSON.stringify(s));
        }"""
    )
    page.reload()  # the sign-in survives a reload (this tab's session)
    page.wait_for_selector(".graphiql-container", timeout=20_000)
    run_query(page, "{ accountsAggregate { count } }", '"count": 1')
    refreshed = page.evaluate("() => JSON.parse(sessionStorage.getItem('tessera:acme')).access")
    assert not refreshed.startswith("expired.")
    page.click("#sign-out")
    page.wait_for_selector("#password-form")


def test_the_api_docs_and_start_page_render_offline(server, page):
    base, _ = server
    page.goto(f"{base}/schema/swagger")
    page.wait_for_selector(".swagger-ui .info .title:has-text('Tessera admin API')", timeout=20_000)
    assert page.locator(".opblock").count() > 10  # the operations are listed
    page.goto(f"{base}/")
    page.click("a[href='/t/acme/graphql']")
    page.wait_for_selector("#password-form")
    missing = page.goto(f"{base}/t/nobody/graphql")
    assert missing is not None and missing.status == 404
    assert "no tenant named nobody" in page.inner_text("main")


def test_pages_fit_a_phone(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == "127.0.0.1"
            else route.abort()
        ),
    )
    page = context.new_page()
    base, _ = server
    page.goto(f"{base}/t/acme/graphql")
    page.wait_for_selector("#password-form")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling on a phone
    context.close()
