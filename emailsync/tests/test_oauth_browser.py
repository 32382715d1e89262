"""Sign in with Google in Debian's Chromium, through the test authorization server.

The user presses the button in the wizard, accepts on the authorization
server's consent page, lands back in the wizard, and the first sync runs
over XOAUTH2 against the OAuth Dovecot. Screenshots go to
test-artifacts/screenshots/ like the other wizard tests'.
"""

import pytest
from django.urls import reverse

from emailsync.models import MailAccount
from tests.support.mail import make_raw

from .conftest import add_oauth_user
from .test_setup_browser import chromium, log_in, open_page, outside_loop, screenshot  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_server_url(live_server):
    """Build the redirect URI from the running site, as SITE_URL does in production."""
    return live_server.url


def press_sign_in(page, live_server, oauth_server, address):
    page.goto(live_server.url + reverse("emailsync:settings"))
    page.click('[data-provider="gmail"]')
    page.wait_for_url("**/connect/gmail/")
    page.click('button[data-oauth="google"]')
    page.wait_for_url(f"{oauth_server.url}/authorize?**")
    page.fill("#username", address)


def test_browser_sign_in_with_google_end_to_end(live_server, owner, oauth_settings, oauth_server, oauth_dovecot,
                                                 inline_tasks, chromium):  # noqa: F811
    address = add_oauth_user(oauth_dovecot)
    oauth_dovecot.append(address, "INBOX", [make_raw(subject=f"Hola {number}") for number in range(2)])
    oauth_dovecot.append(address, "Sent", [make_raw(subject="Oferta", sender=address)])
    page = open_page(chromium, "en")
    log_in(page, live_server, owner.username)

    press_sign_in(page, live_server, oauth_server, address)
    screenshot(page, "en", "21-oauth-consent")
    page.click("#allow")

    page.wait_for_url("**/settings/email/mailbox/from/")
    screenshot(page, "en", "22-oauth-connected")
    page.click("main a.btn-primary[href$='/mailbox/servers/']")
    page.wait_for_url("**/settings/email/mailbox/servers/")
    screenshot(page, "en", "23-oauth-server-details")
    page.click("main a.btn-primary[href$='/mailbox/sharing/']")
    page.wait_for_url("**/settings/email/mailbox/sharing/")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/email/mailbox/options/")
    page.check("input[name=sync_window][value=all]")
    page.click("#sync-options-form button[type=submit]")

    page.wait_for_url("**/settings/email/mailbox/")
    page.wait_for_selector('[data-field="label"]:has-text("Up to date")')
    screenshot(page, "en", "24-oauth-mailbox")
    account = outside_loop(lambda: MailAccount.objects.get(owner=owner))
    assert account.auth_method == MailAccount.AuthMethod.OAUTH2
    assert account.email_address == address
    assert outside_loop(lambda: account.messages.count()) == 3
    assert [item.active for item in oauth_server.state.introspections if item.username == address]
    assert oauth_server.failed_introspections(address) == []
    assert page.console_errors == []


@pytest.mark.parametrize("language", ["es", "en"])
def test_browser_denied_consent_shows_message(live_server, owner, oauth_settings, oauth_server, oauth_dovecot,
                                              language, chromium):  # noqa: F811
    address = add_oauth_user(oauth_dovecot)
    page = open_page(chromium, language)
    log_in(page, live_server, owner.username)

    press_sign_in(page, live_server, oauth_server, address)
    page.click("#deny")

    page.wait_for_url("**/connect/gmail/")
    screenshot(page, language, "25-oauth-denied")
    alert = page.locator(".alert-danger").inner_text()
    expected = {"en": "You did not allow the CRM", "es": "No ha permitido"}[language]
    assert expected in alert
    assert page.is_visible('button[data-oauth="google"]')
    assert outside_loop(lambda: MailAccount.objects.count()) == 0
