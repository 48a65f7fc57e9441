"""Playwright driving Debian's chromium against pytest-django's live server.

Playwright never downloads a browser here: it launches /usr/bin/chromium. The sync API runs an
event loop in the test thread, so Django's async-safety guard is relaxed for these tests only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="browser tests need Debian's chromium: apt-get install chromium")
    # The live server's thread writes security events through their own connection on
    # PostgreSQL (RELIABILITY R26): every alias is open to it.
    every_database = pytest.mark.django_db(transaction=True, databases="__all__")
    # One test process runs them all (``--dist loadgroup``): one chromium and one live server
    # instead of one per process, on a machine of two cores.
    one_browser = pytest.mark.xdist_group("browser")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(every_database)
            item.add_marker(one_browser)
            if not CHROMIUM.exists():
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="ru-RU", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base_url = live_server.url
    yield page
    context.close()


def login(page, username: str, password: str = "pass-12345") -> None:
    """Log in through the real login form."""
    page.goto(f"{page.base_url}/login/")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").click()
    page.wait_for_load_state("networkidle")
