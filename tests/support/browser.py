"""Debian's Chromium driven by Playwright, for tests of what only a browser shows."""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]


@contextmanager
def chromium_page(locale="en-US"):
    """Yield a Playwright page whose `console_errors` lists the console's error lines."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: install Debian's chromium package.")
        pytest.skip("Chromium is missing: install Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(locale=locale)
        page.set_default_timeout(10_000)
        page.console_errors = []
        page.on("console", lambda line: line.type == "error" and page.console_errors.append(line.text))
        try:
            yield page
        finally:
            browser.close()
