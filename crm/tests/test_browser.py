"""The message page in Debian's Chromium, driven by Playwright.

These check what only a browser shows: the sanitised HTML renders inside
the sandboxed srcdoc frame under the page's Content-Security-Policy, and
Bootstrap's script still runs there.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from .helpers import make_account, make_message

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Port 1 on loopback refuses connections, so an allowed image request stays
# on this machine and fails fast.
PIXEL_URL = "http://127.0.0.1:1/pixel.gif"


@pytest.fixture
def browser_page(message_url):
    """Return a Chromium page.

    It depends on message_url so that every database write and the flush at
    teardown happen outside Playwright's event loop. Inside it, Django's ORM
    raises SynchronousOnlyOperation.
    """
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: install Debian's chromium package.")
        pytest.skip("Chromium is missing: install Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(locale="es-ES")
        page.set_default_timeout(10_000)
        page.console_errors = []
        page.on("console", lambda line: line.type == "error" and page.console_errors.append(line.text))
        yield page
        browser.close()


@pytest.fixture
def message_url(live_server, owner):
    owner.set_password("secret-ana")
    owner.save()
    message = make_message(
        make_account(owner), "lucia@acme.example", ["ana@crm.example"], subject="Presupuesto",
        text_body="Texto plano.", html_body=f'<p>Hola <b>Ana</b></p><img alt="logo" src="{PIXEL_URL}">',
    )
    return live_server.url + reverse("emailsync:message_detail", args=[message.pk])


def log_in(page, url):
    page.goto(url)
    page.fill("#id_username", "ana")
    page.fill("#id_password", "secret-ana")
    page.click("main form button[type=submit]")
    page.wait_for_url(url)


def message_frame(page):
    return page.frame_locator("iframe.message-html-frame")


def test_browser_message_renders_in_frame(browser_page, message_url):
    log_in(browser_page, message_url)

    assert message_frame(browser_page).locator("p").inner_text() == "Hola Ana"


def test_browser_message_blocks_remote_image(browser_page, message_url):
    log_in(browser_page, message_url)

    assert message_frame(browser_page).locator("img").get_attribute("src") is None


def test_browser_show_images_loads_image_source(browser_page, message_url):
    log_in(browser_page, message_url)

    browser_page.get_by_role("link", name="Mostrar imágenes").click()

    assert message_frame(browser_page).locator("img").get_attribute("src") == PIXEL_URL


def test_browser_bootstrap_runs_under_csp(browser_page, message_url):
    log_in(browser_page, message_url)

    browser_page.get_by_role("tab", name="Texto sin formato").click()

    assert browser_page.locator("#pane-text").is_visible()
    assert not [line for line in browser_page.console_errors if "Content Security Policy" in line]
