"""The mailbox setup wizard in Debian's Chromium, driven by Playwright.

A user connects a mailbox on the test Dovecot and SMTP server through the
running site, in Spanish and in English, and the site's own confirmation
email travels through the test SMTP server. Every wizard page is saved as
a screenshot under test-artifacts/screenshots/ for reviewers.

Django's ORM refuses to run inside Playwright's event loop, so database
work in the middle of a test goes through `outside_loop`.
"""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from crm.models import Profile
from emailsync.models import MailAccount
from tests.support.browser import launch_chromium
from tests.support.dovecot import free_port
from tests.support.mail import mail_to, make_raw

from .conftest import add_address_user, point_presets_at

SCREENSHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "screenshots"
LOGIN_PASSWORD = "secret-pass-1"  # the root conftest's personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Texts the tests look for, in each language.
TEXTS = {
    "es": {
        "locale": "es-ES", "up_to_date": "Al día", "login_failed": "Iniciar sesión en el servidor de entrada",
        "refused": "rechazó la conexión", "subject": "Su buzón {address} está conectado",
    },
    "en": {
        "locale": "en-GB", "up_to_date": "Up to date", "login_failed": "Sign in to the incoming server",
        "refused": "refused the connection", "subject": "Your mailbox {address} is connected",
    },
}


def outside_loop(function, *args):
    """Run function in a thread of its own and return its result (see the module docstring)."""
    result = {}

    def target():
        try:
            result["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture
def chromium():
    """A headless Chromium; request it last, after every fixture that writes to the database."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


def open_page(chromium, language):
    page = chromium.new_page(locale=TEXTS[language]["locale"], viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.console_errors = []
    page.on("console", lambda line: line.type == "error" and page.console_errors.append(line.text))
    return page


def log_in(page, live_server, username):
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", LOGIN_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + reverse("crm:home"))


def screenshot(page, language, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{language}-{name}.png"), full_page=True)


# --- The whole wizard ----------------------------------------------------------------


@pytest.mark.parametrize("language", ["es", "en"])
def test_browser_custom_imap_end_to_end(live_server, owner, teammate, language, dovecot, site_mail, inline_tasks,
                                        chromium):
    outside_loop(lambda: Profile.objects.create(user=owner, language=language))
    mail_before = len(site_mail.messages)
    address, password = add_address_user(dovecot, site_mail)
    dovecot.append(address, "INBOX", [make_raw(subject=f"Hola {number}") for number in range(3)])
    dovecot.append(address, "Clientes", [make_raw(subject="Pedido")])
    page = open_page(chromium, language)
    log_in(page, live_server, owner.username)

    open_email_configuration(page)
    screenshot(page, language, "01-choose-provider")
    page.click('[data-provider="custom"]')
    fill_custom_form(page, address, password, dovecot, site_mail)
    screenshot(page, language, "02-custom-server")
    page.click("main form button[type=submit]")

    page.wait_for_url("**/settings/email/mailbox/from/")
    page.fill("#id_address", "ventas@example.test")
    page.click("#add-from-heading ~ form button[type=submit]")
    page.wait_for_selector('tr[data-address="ventas@example.test"]')
    assert page.is_visible('tr[data-address="ventas@example.test"] [data-state="unconfirmed"]')
    screenshot(page, language, "03-from-addresses")
    page.click("main a.btn-primary[href$='/mailbox/servers/']")

    page.wait_for_url("**/settings/email/mailbox/servers/")
    screenshot(page, language, "04-server-details")
    page.click("main a.btn-primary[href$='/mailbox/sharing/']")

    page.wait_for_url("**/settings/email/mailbox/sharing/")
    assert not page.is_visible("#id_shared_users_0")
    page.check("input[name=sharing_mode][value=custom]")
    page.check(f"input[name=shared_users][value='{teammate.pk}']")
    page.check("input[name=sharing_level][value=metadata]")
    page.fill("#id_exclusions", "rrhh@example.test")
    screenshot(page, language, "05-sharing")
    page.click("main form button[type=submit]")

    page.wait_for_url("**/settings/email/mailbox/options/")
    page.check("input[name=sync_window][value=all]")
    page.get_by_label("Clientes").check()
    screenshot(page, language, "06-first-sync")
    page.click("#sync-options-form button[type=submit]")

    page.wait_for_url("**/settings/email/mailbox/")
    page.wait_for_selector(f'[data-field="label"]:has-text("{TEXTS[language]["up_to_date"]}")')
    screenshot(page, language, "07-mailbox")
    assert page.console_errors == []

    account = outside_loop(lambda: MailAccount.objects.get(owner=owner))
    assert outside_loop(lambda: account.messages.count()) == 4
    assert (account.sharing_mode, account.sharing_level) == ("custom", "metadata")
    assert outside_loop(lambda: list(account.shared_users.values_list("pk", flat=True))) == [teammate.pk]
    confirmations = mail_to(site_mail, owner.email, since=mail_before)
    # Unfolding the encoded Subject header leaves the folding space in front.
    subjects = [message["Subject"].strip() for message in confirmations]
    assert subjects == [TEXTS[language]["subject"].format(address=address)]
    assert len(mail_to(site_mail, "ventas@example.test", since=mail_before)) == 1


def open_email_configuration(page):
    """Reach Email configuration through Settings in the menu, as a user would."""
    page.click("#main-nav .nav-link.dropdown-toggle >> nth=0")
    page.click("#main-nav a.dropdown-item[href='/settings/email/']")
    page.wait_for_url("**/settings/email/")


def fill_custom_form(page, address, password, dovecot, smtp_server, incoming_port=None):
    page.fill("#id_email_address", address)
    page.check("input[name=incoming_protocol][value=imap]")
    page.fill("#id_incoming_host", dovecot.host)
    page.select_option("#id_incoming_security", "starttls")
    page.fill("#id_incoming_port", str(incoming_port or dovecot.imap_port))
    page.fill("#id_incoming_password", password)
    page.fill("#id_smtp_host", smtp_server.host)
    page.select_option("#id_smtp_security", "starttls")
    page.fill("#id_smtp_port", str(smtp_server.port))


# --- Preset flow, and a rejected password ----------------------------------------------


@pytest.mark.parametrize("language", ["es", "en"])
def test_browser_preset_wrong_password_then_right(live_server, owner, settings, language, dovecot, smtp_server,
                                                  trust_test_ca, chromium):
    point_presets_at(settings, dovecot, smtp_server)
    address, password = add_address_user(dovecot, smtp_server)
    page = open_page(chromium, language)
    log_in(page, live_server, owner.username)

    page.goto(live_server.url + reverse("emailsync:settings"))
    page.click('[data-provider="gmail"]')
    page.check("input[name=protocol][value=imap]")
    page.fill("#id_email_address", address)
    screenshot(page, language, "11-preset-address")
    page.click("main form button[type=submit]")

    page.wait_for_url("**/connect/gmail/password/")
    screenshot(page, language, "12-preset-password")
    page.fill("#id_password", "wrong-" + password)
    page.click("main form button[type=submit]")
    page.wait_for_selector(".check-step.is-failed")
    screenshot(page, language, "13-preset-login-failed")

    failed = page.locator(".check-step.is-failed .check-step-label").inner_text()
    assert failed == TEXTS[language]["login_failed"]
    assert page.locator("#app-password-help").get_attribute("open") is not None
    assert page.locator("#app-password-help li").count() == 4
    assert page.input_value("#id_password") == ""
    assert outside_loop(lambda: MailAccount.objects.count()) == 0

    page.fill("#id_password", password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/settings/email/mailbox/from/")
    assert outside_loop(lambda: MailAccount.objects.get(owner=owner).provider) == "gmail"


@pytest.mark.parametrize("language", ["es", "en"])
def test_browser_closed_port_shows_connection_refused(live_server, owner, language, dovecot, smtp_server,
                                                      trust_test_ca, chromium):
    address, password = add_address_user(dovecot, smtp_server)
    page = open_page(chromium, language)
    log_in(page, live_server, owner.username)

    page.goto(live_server.url + reverse("emailsync:connect_custom"))
    fill_custom_form(page, address, password, dovecot, smtp_server, incoming_port=free_port())
    page.click("main form button[type=submit]")
    page.wait_for_selector(".check-step.is-failed")
    screenshot(page, language, "14-custom-connection-refused")

    failed_message = page.locator(".check-step.is-failed .check-step-message").inner_text()
    assert TEXTS[language]["refused"] in failed_message
    assert "is-invalid" in page.get_attribute("#id_incoming_port", "class")
    assert page.input_value("#id_email_address") == address
    assert page.input_value("#id_incoming_password") == ""
    assert outside_loop(lambda: MailAccount.objects.count()) == 0


def test_browser_without_permission_403_and_no_menu(live_server, outsider, chromium):
    page = open_page(chromium, "es")
    log_in(page, live_server, outsider.username)

    page.click("#main-nav .nav-link.dropdown-toggle >> nth=0")
    menu_links = page.locator("#main-nav .dropdown-menu.show a.dropdown-item").evaluate_all(
        "links => links.map(link => link.getAttribute('href'))"
    )
    response = page.goto(live_server.url + reverse("emailsync:settings"))

    assert "/settings/email/" not in menu_links
    assert response.status == 403


# --- Progress without a reload ------------------------------------------------------------


def test_browser_progress_updates_without_reload(live_server, owner, connected_account, chromium):
    account = connected_account
    page = open_page(chromium, "en")
    log_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("emailsync:mailbox"))
    page.evaluate("window.samePage = true")

    outside_loop(set_progress, account, 5, 10, True)
    page.wait_for_selector('[data-field="progress-text"]:has-text("5 of 10 messages")')
    outside_loop(set_progress, account, 10, 10, False)
    page.wait_for_selector('[data-field="label"]:has-text("Up to date")')

    assert page.evaluate("window.samePage") is True
    assert page.locator("progress.sync-progress-bar").get_attribute("value") == "100"


@pytest.fixture
def connected_account(owner, mailbox_user, connect_account):
    """A mailbox in the middle of its first sync: 0 of 10 messages."""
    account = connect_account(owner, *mailbox_user)
    set_progress(account, done=0, total=10, running=True)
    return account


def set_progress(account, done, total, running):
    """Write what a sync worker writes while it runs, and when it finishes."""
    now = timezone.now()
    fields = {"progress_done": done, "progress_total": total}
    if running:
        fields.update(lease_owner="worker-test", lease_expires_at=now + timedelta(minutes=5),
                      sync_requested_at=now - timedelta(seconds=2), sync_started_at=now)
    else:
        fields.update(lease_owner="", lease_expires_at=None, first_synced_at=now, last_synced_at=now)
    MailAccount.objects.filter(pk=account.pk).update(**fields)


# --- Keyboard only ------------------------------------------------------------------------


def tab_to(page, selector, limit=40):
    """Press Tab until the element matching selector has the focus."""
    for _press in range(limit):
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never received the focus")


def test_browser_wizard_usable_with_keyboard(live_server, owner, settings, dovecot, smtp_server, trust_test_ca,
                                             chromium):
    point_presets_at(settings, dovecot, smtp_server)
    address, _password = add_address_user(dovecot, smtp_server)
    page = open_page(chromium, "en")
    log_in(page, live_server, owner.username)
    page.goto(live_server.url + reverse("emailsync:settings"))

    tab_to(page, '[data-provider="gmail"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/connect/gmail/")
    tab_to(page, "#id_email_address")
    page.keyboard.type(address)
    page.keyboard.press("Enter")
    page.wait_for_url("**/connect/gmail/password/")
    tab_to(page, "#id_password")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    page.wait_for_selector(".check-step.is-failed")

    assert page.evaluate("document.activeElement.id") == "check-result"
