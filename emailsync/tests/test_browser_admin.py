"""The operators' pages in Chromium under the site's Content-Security-Policy.

The admin, its custom buttons and the health page must work with no inline
script or style allowed, and the message page must still show the email
in its srcdoc frame while every page is sent with X-Frame-Options: DENY.
"""

import pytest
from django.urls import reverse

from crm.tests.helpers import make_message
from emailsync.models import MailAccount
from tests.support.browser import chromium_page

from .admin_helpers import make_folder, make_mailbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(live_server, django_user_model, owner):
    """A superuser, a mailbox with a folder and a message, and the URLs to visit.

    Built before Chromium starts: inside Playwright's event loop Django's
    ORM raises SynchronousOnlyOperation.
    """
    django_user_model.objects.create_superuser("root", "root@crm.example", "secret-root")
    owner.set_password("secret-owner")
    owner.save()
    account = make_mailbox(owner)
    make_folder(account, backlog=3)
    message = make_message(account, "lucia@acme.example", ["owner@crm.example"], html_body="<p>Hola <b>Ana</b></p>")
    return {
        "base": live_server.url, "account": account,
        "account_page": reverse("admin:emailsync_mailaccount_change", args=[account.pk]),
        "message_admin": reverse("admin:emailsync_message_change", args=[message.pk]),
        "message_page": reverse("emailsync:message_detail", args=[message.pk]),
    }


def sign_in(page, url, username, password):
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state()


def csp_errors(page):
    return [line for line in page.console_errors if "Content Security Policy" in line]


def test_browser_admin_pages_run_under_csp(site):
    with chromium_page() as page:
        sign_in(page, site["base"] + reverse("admin:login"), "root", "secret-root")
        for path in [
            reverse("admin:index"), reverse("admin:emailsync_mailaccount_changelist"), site["account_page"],
            site["message_admin"], reverse("health"),
        ]:
            response = page.goto(site["base"] + path)
            assert response.headers["x-frame-options"] == "DENY"
            assert "default-src 'self'" in response.headers["content-security-policy"]

        assert csp_errors(page) == []


def test_browser_pause_button_pauses_account(site):
    with chromium_page() as page:
        sign_in(page, site["base"] + reverse("admin:login"), "root", "secret-root")
        page.goto(site["base"] + site["account_page"])

        page.get_by_role("button", name="Pause sync").click()
        page.wait_for_load_state()

        assert page.get_by_role("button", name="Resume sync").is_visible()
        assert csp_errors(page) == []
    assert MailAccount.objects.get(pk=site["account"].pk).status == MailAccount.Status.PAUSED


def test_browser_message_frame_renders_despite_frame_denial(site):
    with chromium_page() as page:
        sign_in(page, site["base"] + reverse("login"), "owner", "secret-owner")
        response = page.goto(site["base"] + site["message_page"])

        frame_text = page.frame_locator("iframe.message-html-frame").locator("p").inner_text()

        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert frame_text == "Hola Ana"
