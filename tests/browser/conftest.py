"""Headless Debian Chromium driven by playwright, with a screenshot of the page when a test fails."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(tempfile.gettempdir()) / "shop-ai-browser-screenshots"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: `sudo apt-get install chromium fonts-noto-cjk` (`make test` does it as root)."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; the ORM reads the tests make
    # between page actions are plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()
        # Connections opened while playwright's loop runs live in its context; close them from inside it,
        # or Postgres keeps a session open and the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", request.node.name) + ".png")
        page.screenshot(path=str(path), full_page=True)
        print(f"Screenshot of the failing page: {path}")
    context.close()
