"""Emails to users about their mailbox: who receives them when the user has no address."""

import logging

import pytest
from django.contrib.auth.models import Permission

from emailsync import errors
from emailsync.accounts import record_error
from emailsync.errors import MailError
from emailsync.models import MailAccount
from emailsync.notifications import Delivery, send_first_sync_done
from emailsync.sync import sync_account
from tests.support.mail import mail_to, make_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_email_user(django_user_model):
    """A user allowed to connect a mailbox, with no email address, as `make run`'s admin."""
    user = django_user_model.objects.create_user(username="bea", password="secret-pass-1")
    user.user_permissions.add(Permission.objects.get(codename="integrate_email"))
    return user


@pytest.fixture
def no_email_account(no_email_user, mailbox_user, connect_account):
    return connect_account(no_email_user, *mailbox_user)


def test_first_sync_email_sent_to_mailbox(no_email_account, mailbox_user, dovecot, site_mail,
                                          django_capture_on_commit_callbacks):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="Hola")])
    received_before = len(site_mail.messages)

    with django_capture_on_commit_callbacks(execute=True):
        sync_account(no_email_account.pk)

    [confirmation] = mail_to(site_mail, no_email_account.email_address, since=received_before)
    assert confirmation["Subject"].strip() == f"Su buzón {no_email_account.email_address} está conectado"
    assert "1 mensaje" in confirmation.get_content()


def test_account_paused_email_sent_to_mailbox(no_email_account, site_mail):
    received_before = len(site_mail.messages)

    paused = record_error(no_email_account, MailError(errors.OAUTH_REVOKED, "invalid_grant"))

    assert paused
    [notice] = mail_to(site_mail, no_email_account.email_address, since=received_before)
    assert notice["Subject"].strip() == f"La sincronización de {no_email_account.email_address} está en pausa"


def test_notification_prefers_user_email(owner, account, mailoutbox):
    delivery = send_first_sync_done(account, 3)

    assert delivery is Delivery.SENT
    assert mailoutbox[0].to == [owner.email]


def test_notification_without_address_logged(no_email_account, mailoutbox, caplog):
    MailAccount.objects.filter(pk=no_email_account.pk).update(email_address="")
    account = MailAccount.objects.get(pk=no_email_account.pk)

    with caplog.at_level(logging.WARNING, logger="emailsync.notifications"):
        delivery = send_first_sync_done(account, 3)

    assert delivery is Delivery.NO_ADDRESS
    assert mailoutbox == []
    assert caplog.messages == [
        f"No address to notify: user={account.owner_id} template=emailsync/email/first_sync_done",
    ]
