"""Debian's Chromium for browser tests, launched the way this machine allows."""

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def launch_chromium(playwright):
    """Return a headless Chromium; skip the test (fail it under CI) when Chromium is missing."""
    if not CHROMIUM.exists():
        reason = "Chromium is missing: install Debian's chromium package."
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@contextmanager
def chromium(locale="es-ES"):
    """Yield a Playwright browser context of a headless Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser.new_context(locale=locale)
        finally:
            browser.close()


@contextmanager
def chromium_page(locale="en-US"):
    """Yield a Playwright page whose `console_errors` lists the console's error lines."""
    with chromium(locale) as context:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.console_errors = []
        page.on("console", lambda line: line.type == "error" and page.console_errors.append(line.text))
        yield page
