"""Confirmation of From aliases by an emailed link.

The site's own mail goes through the session's SMTP server (STARTTLS and
AUTH), and the tests open the link found in the email that arrived there.
"""

import importlib
import logging
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.apps import apps
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from conftest import add_mailbox_user
from crm.models import Profile
from crm.tests.helpers import make_account
from emailsync.from_address_confirmation import TOKEN_SALT, make_token
from emailsync.models import FromAddress, Message
from tests.support.dovecot import free_port
from tests.support.mail import mail_to

from .admin_helpers import login, superuser  # noqa: F401 - fixture
from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, compose_url, contact, owner_client, parse, received_with_subject,
)
from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

FROM_URL = reverse("emailsync:from_addresses")
ALIAS = "ventas@example.test"


def add_alias(client, address=ALIAS):
    return client.post(FROM_URL, {"address": address, "display_name": "Ventas"}, follow=True)


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


def link_path(message):
    """Return the path of the confirmation link in a received email."""
    [url] = re.findall(r"https?://\S+/confirm/\S+", message.get_content())
    return urlsplit(url).path


def add_and_get_link(client, smtp_server, address=ALIAS):
    before = len(smtp_server.messages)
    add_alias(client, address)
    [message] = mail_to(smtp_server, address, since=before)
    return link_path(message)


def resend(client, alias):
    return client.post(reverse("emailsync:from_address_resend", args=[alias.pk]), follow=True)


# --- Adding an alias sends the link --------------------------------------------------


def test_adding_alias_emails_confirmation_link(owner_client, account, owner, site_mail, settings):
    Profile.objects.create(user=owner, language="en")
    before = len(site_mail.messages)

    response = add_alias(owner_client)

    [message] = mail_to(site_mail, ALIAS, since=before)
    assert message["To"] == ALIAS
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Subject"].strip() == f"Confirm {ALIAS} as a From address in the CRM"
    assert "/settings/email/mailbox/from/confirm/" in message.get_content()
    assert "The link expires in 3 days." in message.get_content()
    assert f"A confirmation link was sent to “{ALIAS}”." in " ".join(page_messages(response))
    assert account.from_addresses.get(address=ALIAS).confirmed_at is None


def test_confirmation_email_in_owner_language(owner_client, account, owner, site_mail):
    before = len(site_mail.messages)

    add_alias(owner_client)

    [message] = mail_to(site_mail, ALIAS, since=before)
    assert message["Subject"].strip() == f"Confirme {ALIAS} como dirección de remitente en el CRM"
    assert "El enlace caduca en 3 días." in message.get_content()


def test_unconfirmed_alias_listed_with_resend(owner_client, account, site_mail):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)

    response = owner_client.get(FROM_URL)

    content = response.content.decode()
    assert "Waiting for confirmation" in content
    assert reverse("emailsync:from_address_resend", args=[alias.pk]) in content
    assert reverse("emailsync:from_address_default", args=[alias.pk]) not in content


def test_own_address_confirmed_at_connect(account):
    own = account.from_addresses.get()

    assert own.is_confirmed
    assert own.is_default


def test_oauth_mailbox_own_address_confirmed(oauth_account):
    assert oauth_account.from_addresses.get().is_confirmed


# --- Opening the link ----------------------------------------------------------------


def test_link_confirms_alias_for_owner(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)

    response = owner_client.get(path, follow=True)

    assert response.redirect_chain[-1][0] == FROM_URL
    assert f"“{ALIAS}” is confirmed. You can now send email from it." in page_messages(response)
    assert account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_of_other_user_not_found(client, owner_client, account, teammate, site_mail, connect_account, dovecot):
    path = add_and_get_link(owner_client, site_mail)
    connect_account(teammate, *add_mailbox_user(dovecot))
    client.force_login(teammate)

    response = client.get(path)

    assert response.status_code == 404
    assert not account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_for_user_without_mailbox_not_found(client, owner_client, account, outsider, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    client.force_login(outsider)

    response = client.get(path)

    assert response.status_code == 404
    assert not account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_signed_out_goes_to_login(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    owner_client.logout()

    response = owner_client.get(path)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert not account.from_addresses.get(address=ALIAS).is_confirmed


def tampered_paths(path, alias):
    token = path.rstrip("/").rsplit("/", 1)[1]
    payload, timestamp, signature = token.split(":")
    replaced = "a" if signature[-1] != "a" else "b"
    other_salt = signing.dumps({"id": alias.pk, "address": alias.address_normalized}, salt="another.salt")
    return {
        "signature": path.replace(token, f"{payload}:{timestamp}:{signature[:-1]}{replaced}"),
        "payload": path.replace(token, f"{payload[:-2]}xx:{timestamp}:{signature}"),
        "truncated": path.replace(token, f"{payload}:{timestamp}"),
        "other salt": reverse("emailsync:from_address_confirm", args=[other_salt]),
    }


def test_tampered_links_show_error(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    alias = account.from_addresses.get(address=ALIAS)

    for name, tampered in tampered_paths(path, alias).items():
        response = owner_client.get(tampered)

        assert response.status_code == 400, name
        assert response.context["code"] == "invalid", name
        assert "This link is incomplete or was changed." in response.content.decode(), name
        assert "press Resend next to the address" in response.content.decode(), name
    assert not account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_for_changed_address_invalid(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    FromAddress.objects.filter(address=ALIAS).update(address="otro@example.test", address_normalized="otro@example.test")

    response = owner_client.get(path)

    assert response.status_code == 400
    assert response.context["code"] == "invalid"
    assert not account.from_addresses.get(address="otro@example.test").is_confirmed


def test_expired_link_shows_error(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        response = owner_client.get(path)

    assert response.status_code == 400
    assert response.context["code"] == "expired"
    assert f"The link to confirm “{ALIAS}” has expired." in response.content.decode()
    assert "press Resend next to the address" in response.content.decode()
    assert not account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_valid_until_lifetime_ends(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=-1)):
        response = owner_client.get(path)

    assert response.status_code == 302
    assert account.from_addresses.get(address=ALIAS).is_confirmed


def test_link_lifetime_follows_setting(owner_client, account, site_mail, settings):
    settings.EMAILSYNC_CONFIRMATION_LINK_DAYS = 1
    path = add_and_get_link(owner_client, site_mail)

    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        response = owner_client.get(path)

    assert response.context["code"] == "expired"


def test_used_link_shows_error(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    owner_client.get(path)
    confirmed_at = account.from_addresses.get(address=ALIAS).confirmed_at

    response = owner_client.get(path)

    assert response.status_code == 400
    assert response.context["code"] == "used"
    assert f"This link was already used. “{ALIAS}” is confirmed" in response.content.decode()
    assert account.from_addresses.get(address=ALIAS).confirmed_at == confirmed_at


def test_link_of_removed_alias_not_found(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    account.from_addresses.filter(address=ALIAS).delete()

    response = owner_client.get(path)

    assert response.status_code == 404


def test_confirmed_alias_becomes_default_when_none(owner, client, site_mail):
    account = make_account(owner)
    client.force_login(owner)
    path = add_and_get_link(client, site_mail)
    alias = account.from_addresses.get(address=ALIAS)
    assert not alias.is_default

    client.get(path)

    assert account.from_addresses.get(address=ALIAS).is_default


# --- Until confirmed -----------------------------------------------------------------


def test_unconfirmed_alias_not_made_default(owner_client, account, site_mail):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)

    response = owner_client.post(reverse("emailsync:from_address_default", args=[alias.pk]), follow=True)

    assert f"“{ALIAS}” is waiting for confirmation." in " ".join(page_messages(response))
    assert account.from_addresses.get(is_default=True).address == account.email_address


def test_compose_does_not_offer_unconfirmed_alias(owner_client, account, contact, site_mail):
    add_alias(owner_client)

    form = owner_client.get(compose_url(contact)).context["form"]

    assert [item.address for item in form.fields["from_address"].queryset] == [account.email_address]


def test_compose_from_unconfirmed_alias_rejected(owner_client, account, contact, site_mail, smtp_server):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)
    data = compose_data(account, from_address=alias.pk)

    response = owner_client.post(compose_url(contact), data)

    assert response.status_code == 200
    [error] = response.context["form"].errors["from_address"]
    assert error.startswith(f"“{ALIAS}” is waiting for confirmation.")
    assert received_with_subject(smtp_server, data["subject"]) == []
    assert Message.objects.count() == 0


def test_compose_after_confirming_sends_from_alias(owner_client, account, contact, site_mail, smtp_server):
    owner_client.get(add_and_get_link(owner_client, site_mail))
    alias = account.from_addresses.get(address=ALIAS)
    data = compose_data(account, from_address=alias.pk)

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    assert received.mail_from == ALIAS
    assert parse(received.data)["From"].addresses[0].addr_spec == ALIAS


def test_own_addresses_exclude_unconfirmed_alias(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    unconfirmed = account.own_addresses()

    owner_client.get(path)

    assert unconfirmed == {account.email_normalized}
    assert account.own_addresses() == {account.email_normalized, ALIAS}


def test_sync_direction_ignores_unconfirmed_alias(owner_client, account, site_mail):
    path = add_and_get_link(owner_client, site_mail)
    raw = raw_with_attachment("Oferta", f"Ventas <{ALIAS}>", "lucia@acme.example", "Precio")

    before = store_raw(account, raw)
    owner_client.get(path)
    after = store_raw(account, raw_with_attachment("Oferta 2", f"Ventas <{ALIAS}>", "lucia@acme.example", "Precio"))

    assert before.direction == Message.Direction.RECEIVED
    assert after.direction == Message.Direction.SENT


# --- Resend --------------------------------------------------------------------------


def test_resend_sends_new_link(owner_client, account, site_mail, settings):
    first_path = add_and_get_link(owner_client, site_mail)
    alias = account.from_addresses.get(address=ALIAS)
    before = len(site_mail.messages)

    with time_machine.travel(timezone.now() + timedelta(seconds=settings.EMAILSYNC_CONFIRMATION_RESEND_SECONDS + 1)):
        response = resend(owner_client, alias)
        [message] = mail_to(site_mail, ALIAS, since=before)
        owner_client.get(link_path(message))

    assert f"A confirmation link was sent to “{ALIAS}”." in " ".join(page_messages(response))
    assert link_path(message) != first_path
    assert account.from_addresses.get(address=ALIAS).is_confirmed


def test_resend_rate_limited_per_alias(owner_client, account, site_mail):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)
    before = len(site_mail.messages)

    response = resend(owner_client, alias)

    assert mail_to(site_mail, ALIAS, since=before) == []
    assert f"No confirmation email was sent to “{ALIAS}”" in " ".join(page_messages(response))
    assert "Press Resend in 1 minute" in " ".join(page_messages(response))


def test_readding_alias_rate_limited(owner_client, account, site_mail):
    add_alias(owner_client)
    account.from_addresses.filter(address=ALIAS).delete()
    before = len(site_mail.messages)

    response = add_alias(owner_client)

    assert mail_to(site_mail, ALIAS, since=before) == []
    assert f"No confirmation email was sent to “{ALIAS}”" in " ".join(page_messages(response))


def test_confirmation_emails_limited_per_user(owner_client, account, site_mail, settings):
    settings.EMAILSYNC_CONFIRMATION_EMAIL_LIMIT = 2
    before = len(site_mail.messages)

    for number in range(3):
        response = add_alias(owner_client, f"alias{number}@example.test")

    assert len(mail_to(site_mail, "alias0@example.test", since=before)) == 1
    assert len(mail_to(site_mail, "alias1@example.test", since=before)) == 1
    assert mail_to(site_mail, "alias2@example.test", since=before) == []
    assert "No confirmation email was sent to “alias2@example.test”" in " ".join(page_messages(response))
    assert account.from_addresses.filter(address="alias2@example.test").exists()


def test_resend_of_confirmed_alias_sends_nothing(owner_client, account, site_mail):
    own = account.from_addresses.get()
    before = len(site_mail.messages)

    response = resend(owner_client, own)

    assert len(site_mail.messages) == before
    assert f"“{account.email_address}” is already confirmed." in page_messages(response)


def test_resend_needs_post(owner_client, account, site_mail):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)

    response = owner_client.get(reverse("emailsync:from_address_resend", args=[alias.pk]))

    assert response.status_code == 405


def test_resend_of_other_users_alias_not_found(client, owner_client, account, teammate, site_mail,
                                                connect_account, dovecot):
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)
    connect_account(teammate, *add_mailbox_user(dovecot))
    client.force_login(teammate)

    response = client.post(reverse("emailsync:from_address_resend", args=[alias.pk]))

    assert response.status_code == 404


def test_resend_rejected_without_csrf_token(owner, account, site_mail):
    from django.test import Client

    alias = FromAddress.objects.create(account=account, address=ALIAS)
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)

    response = csrf_client.post(reverse("emailsync:from_address_resend", args=[alias.pk]))

    assert response.status_code == 403


# --- Sending fails -------------------------------------------------------------------


def test_smtp_failure_keeps_alias_unconfirmed(owner_client, account, site_mail, settings, caplog):
    caplog.set_level(logging.ERROR, logger="emailsync.notifications")
    # A port that was just free on loopback: the connection is refused.
    settings.EMAIL_PORT = free_port()

    response = add_alias(owner_client)

    alias = account.from_addresses.get(address=ALIAS)
    assert not alias.is_confirmed
    assert f"The confirmation email to “{ALIAS}” could not be sent." in " ".join(page_messages(response))
    assert "Press Resend to try again" in " ".join(page_messages(response))
    assert any(record.message.startswith("Notification not sent") for record in caplog.records)


def test_resend_works_after_smtp_failure(owner_client, account, site_mail, settings):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()
    add_alias(owner_client)
    alias = account.from_addresses.get(address=ALIAS)
    settings.EMAIL_PORT = port
    before = len(site_mail.messages)

    resend(owner_client, alias)

    assert len(mail_to(site_mail, ALIAS, since=before)) == 1


# --- Migration and admin -------------------------------------------------------------


def test_migration_confirms_only_own_addresses(owner):
    migration = importlib.import_module("emailsync.migrations.0011_from_address_confirmation")
    account = make_account(owner)
    own = FromAddress.objects.create(account=account, address=account.email_address.upper())
    alias = FromAddress.objects.create(account=account, address=ALIAS, is_default=True)

    migration.confirm_own_addresses(apps, None)

    own.refresh_from_db()
    alias.refresh_from_db()
    assert own.is_confirmed
    assert not alias.is_confirmed
    assert own.is_default
    assert not alias.is_default


def test_admin_shows_confirmation_read_only(client, superuser, account, site_mail):  # noqa: F811
    alias = FromAddress.objects.create(account=account, address=ALIAS)

    response = login(client, superuser).get(reverse("admin:emailsync_mailaccount_change", args=[account.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Confirmed at" in content
    assert 'name="from_addresses-0-confirmed_at"' not in content
    assert 'name="from_addresses-1-confirmed_at"' not in content
    assert alias.address in content


def test_token_bound_to_salt():
    token = make_token(FromAddress(pk=7, address_normalized=ALIAS))

    assert signing.loads(token, salt=TOKEN_SALT) == {"id": 7, "address": ALIAS}
    with pytest.raises(signing.BadSignature):
        signing.loads(token)
