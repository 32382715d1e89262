"""The owner's page that deactivates a mailbox: its content and who may use it."""

import pytest
from django.test import Client
from django.urls import reverse

from emailsync.models import MailAccount, Message, SharingExclusion
from emailsync.sync import sync_account
from tests.support.crm_mail import store_crm_sent
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner, mailbox_user, connect_account, dovecot):
    account = connect_account(owner, *mailbox_user)
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject=f"m{i}") for i in range(3)])
    store_crm_sent(account, make_raw(subject="sent from the CRM", sender=account.email_address))
    SharingExclusion.objects.create(account=account, value="hr.example.com")
    sync_account(account.pk)
    return account


@pytest.fixture
def page(account):
    return reverse("emailsync:deactivate", args=[account.pk])


def logged_in(user, **options):
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **options)
    client.force_login(user)
    return client


def test_deactivate_page_lists_what_goes_and_stays(account, owner, page):
    response = logged_in(owner).get(page)

    text = response.content.decode()
    assert response.status_code == 200
    assert f"Deactivate the mailbox {account.email_address}" in text
    assert "3 messages synced from this mailbox" in text
    assert "incoming and outgoing servers, usernames and stored passwords" in text
    assert "1 From address" in text
    assert "with 1 excluded address or domain" in text
    assert "1 email you sent from the CRM, still shown on its Leads and Contacts" in text


def test_deactivate_page_in_spanish(account, owner, page):
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(owner)

    text = client.get(page).content.decode()

    assert f"Desactivar el buzón {account.email_address}" in text
    assert "3 mensajes sincronizados de este buzón" in text
    assert "1 correo que usted envió desde el CRM" in text


def test_deactivate_page_get_changes_nothing(account, owner, page):
    logged_in(owner).get(page)

    assert MailAccount.objects.get(pk=account.pk).status == MailAccount.Status.ACTIVE
    assert Message.objects.filter(account=account).count() == 4


def test_deactivate_page_post_deactivates(account, owner, page):
    response = logged_in(owner).post(page, follow=True)

    assert response.redirect_chain[-1][0] == reverse("emailsync:settings")
    assert "3 synced messages were deleted" in response.content.decode()
    assert MailAccount.objects.filter(pk=account.pk).count() == 0
    assert list(Message.objects.values_list("origin", flat=True)) == [Message.Origin.CRM]


def test_deactivate_page_without_permission_redirects_home(account, owner, page):
    owner.user_permissions.clear()

    response = logged_in(owner).post(page)

    assert response.status_code == 302
    assert response["Location"] == reverse("crm:home")
    assert MailAccount.objects.filter(pk=account.pk).count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_deactivate_page_other_user_gets_404(account, teammate, page, method):
    response = getattr(logged_in(teammate), method)(page)

    assert response.status_code == 404
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_deactivate_page_anonymous_redirects_to_login(account, page):
    response = Client().post(page)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_deactivate_page_requires_csrf_token(account, owner, page):
    response = logged_in(owner, enforce_csrf_checks=True).post(page)

    assert response.status_code == 403
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_deactivate_page_rejects_other_methods(account, owner, page):
    response = logged_in(owner).put(page)

    assert response.status_code == 405
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_deactivate_page_busy_shows_warning(account, owner, page):
    MailAccount.objects.filter(pk=account.pk).update(
        lease_owner="deactivation:other", lease_expires_at="2100-01-01T00:00:00Z",
    )

    response = logged_in(owner).post(page, follow=True)

    assert "already being deactivated" in response.content.decode()
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_mailbox_page_links_to_deactivation(account, owner, page):
    # A user with a mailbox is sent from Email configuration to its page.
    response = logged_in(owner).get(reverse("emailsync:settings"), follow=True)

    assert f'href="{page}"' in response.content.decode()
