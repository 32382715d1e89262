"""Sending and link tracking in Debian's Chromium, driven by Playwright.

Database queries stay outside the `chromium()` blocks. Inside them
Django rejects ORM calls (SynchronousOnlyOperation), and allowing them with
DJANGO_ALLOW_ASYNC_UNSAFE left a PostgreSQL session open after the tests.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact
from emailsync.models import Message, UserActivity
from emailsync.sync import sync_account
from tests.support.browser import chromium

PASSWORD = "secret-owner-1"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def account(owner, mailbox_user, connect_account):
    owner.set_password(PASSWORD)
    owner.save()
    return connect_account(owner, *mailbox_user)


def log_in(page, live_server, next_url):
    page.goto(f"{live_server.url}{reverse('login')}?next={next_url}")
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{live_server.url}{next_url}")


def test_browser_sends_from_contact_page(live_server, account, smtp_server):
    contact = Contact.objects.create(owner=account.owner, last_name="Moreno", email="lucia@acme.example")

    with chromium(locale="en-US") as browser:
        page = browser.new_page()
        log_in(page, live_server, contact.get_absolute_url())
        page.get_by_role("link", name="Send email").click()
        page.fill("#id_subject", "Enviado desde Chromium")
        page.fill("#id_body", "Hola Lucía,\n\nAquí va.")
        page.get_by_role("button", name="Send").click()
        page.wait_for_url(f"{live_server.url}{contact.get_absolute_url()}")
        is_listed = page.get_by_role("link", name="Enviado desde Chromium").is_visible()

    assert is_listed
    assert any(b"Enviado desde Chromium" in item.data for item in smtp_server.messages)


def test_browser_link_click_records(live_server, account, dovecot, mailbox_user):
    target = f"{live_server.url}{reverse('login')}?from=message"
    raw = (
        f"From: lucia@acme.example\r\nTo: {account.email_address}\r\nSubject: Enlace\r\n"
        "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        f'<p><a href="{target}">Ver la oferta</a></p>\r\n'
    ).encode()
    dovecot.append(mailbox_user[0], "INBOX", [raw])
    sync_account(account.pk)
    message = Message.objects.get(account=account)
    message_url = reverse("emailsync:message_detail", args=[message.pk])

    with chromium(locale="en-US") as browser:
        page = browser.new_page()
        log_in(page, live_server, message_url)
        # Opening the message counted already; the click must count later.
        clicked_after = timezone.now()
        with page.expect_popup() as popup_info:
            page.frame_locator("iframe.message-html-frame").get_by_role("link", name="Ver la oferta").click()
        popup = popup_info.value
        popup.wait_for_load_state()
        popup_url = popup.url

    assert popup_url == target
    assert UserActivity.objects.get(user=account.owner).last_interaction_at >= clicked_after
