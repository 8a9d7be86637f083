"""Debian's Chromium for the browser tests, headless, driven by Playwright for Python
(never a browser Playwright downloads). In CI a missing Chromium fails the tests."""

from __future__ import annotations

import os
import shutil

import pytest

SECRET = "browser-test-secret-key-" + "b" * 24


def chromium() -> str:
    path = os.environ.get("TESSERA_TEST_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not os.path.exists(path):
        message = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {message}")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so a fixture can tell that it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def keep_screenshot(request, page, folder) -> None:
    """Save the page of a failed test beside its logs (where a browser test went wrong
    is easier seen than read)."""
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        path = folder / f"{request.node.name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
        except Exception as exc:  # the page may be gone with the failure
            print(f"no screenshot: {exc}")
        else:
            print(f"screenshot of the failure: {path}")
