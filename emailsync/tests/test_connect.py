"""Connecting a mailbox: real checks, permission, encrypted secrets."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from emailsync import errors
from emailsync.models import MailAccount
from emailsync.services import VerificationFailed, connect_mailbox
from emailsync.sync import sync_account
from emailsync.verify import ServerSettings
from tests.support.dovecot import free_port
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db


def test_connect_without_permission_is_denied(outsider, mailbox_user, connect_account):
    with pytest.raises(PermissionDenied):
        connect_account(outsider, *mailbox_user)

    assert MailAccount.objects.count() == 0


def test_connect_wrong_password_fails_at_login(owner, mailbox_user, connect_account, smtp_server):
    login, password = mailbox_user

    with pytest.raises(VerificationFailed) as caught:
        connect_account(owner, login, "wrong-password")

    step = caught.value.verification.failed_step
    assert step.key == "incoming_login"
    assert step.error.code == errors.AUTH_FAILED
    assert MailAccount.objects.count() == 0


def test_connect_closed_port_is_connection_refused(owner, dovecot, smtp_server, trust_test_ca):
    incoming = ServerSettings("imap", "127.0.0.1", free_port(), "starttls", "a", "b")
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", "a", "b")

    with pytest.raises(VerificationFailed) as caught:
        connect_mailbox(owner, "a@example.test", incoming, outgoing)

    assert caught.value.verification.failed_step.error.code == errors.CONNECTION_REFUSED


def test_connect_untrusted_certificate_fails(owner, dovecot, smtp_server, mailbox_user):
    login, password = mailbox_user
    incoming = ServerSettings("imap", dovecot.host, dovecot.imaps_port, "ssl", login, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, password)

    with pytest.raises(VerificationFailed) as caught:
        connect_mailbox(owner, "a@example.test", incoming, outgoing)

    assert caught.value.verification.failed_step.error.code == errors.CERTIFICATE_FAILED


def test_connect_private_host_forbidden(owner, settings, mailbox_user, dovecot, smtp_server, trust_test_ca):
    settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = False
    login, password = mailbox_user
    incoming = ServerSettings("imap", "localhost", dovecot.imap_port, "starttls", login, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, password)

    with pytest.raises(VerificationFailed) as caught:
        connect_mailbox(owner, "a@example.test", incoming, outgoing)

    assert caught.value.verification.failed_step.error.code == errors.PRIVATE_HOST_FORBIDDEN


def test_connect_smtp_wrong_password_saves_nothing(owner, mailbox_user, dovecot, smtp_server, trust_test_ca):
    login, password = mailbox_user
    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "starttls", login, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, "not-it")

    with pytest.raises(VerificationFailed) as caught:
        connect_mailbox(owner, "a@example.test", incoming, outgoing, smtp_same_credentials=False)

    assert caught.value.verification.failed_step.key == "smtp_login"
    assert MailAccount.objects.count() == 0


def test_stored_password_is_encrypted(owner, mailbox_user, connect_account):
    login, password = mailbox_user

    account = connect_account(owner, login, password)

    with connection.cursor() as cursor:
        cursor.execute("SELECT incoming_password_encrypted FROM emailsync_mailaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert password not in stored
    assert account.get_incoming_password() == password


def test_password_never_logged(owner, teammate, mailbox_user, connect_account, dovecot, caplog):
    caplog.set_level(logging.DEBUG)
    login, password = mailbox_user
    account = connect_account(owner, login, password)
    dovecot.append(login, "INBOX", [make_raw()])

    sync_account(account.pk)
    with pytest.raises(VerificationFailed):
        connect_account(teammate, login, password + "-typo")

    assert password not in caplog.text
    assert "-typo" not in caplog.text
