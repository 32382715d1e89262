"""IDLE brings new INBOX mail into the CRM within seconds."""

import time

import pytest

from emailsync.idle import Supervisor, Watcher
from emailsync.models import MailAccount, Message
from emailsync.sync import sync_account
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def account(owner, mailbox_user, connect_account, settings):
    settings.EMAILSYNC_IDLE_CHECK_SECONDS = 1
    account = connect_account(owner, *mailbox_user)
    sync_account(account.pk)
    return account


def test_idle_new_message_arrives_without_manual_sync(account, dovecot, mailbox_user):
    watcher = Watcher(account.pk, sync_account)
    watcher.start()
    try:
        time.sleep(1)  # let the watcher reach IDLE
        dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="pushed")])

        arrived = wait_for(lambda: Message.objects.filter(account=account, subject="pushed").exists(), 10)
    finally:
        watcher.stop()
        watcher.join(timeout=10)

    assert arrived


def test_idle_renews_before_server_timeout(account, dovecot, mailbox_user, settings):
    settings.EMAILSYNC_IDLE_RENEW_SECONDS = 1
    watcher = Watcher(account.pk, sync_account)
    watcher.start()
    try:
        time.sleep(2.5)  # at least two IDLE renewals
        dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="after renewal")])

        arrived = wait_for(lambda: Message.objects.filter(account=account, subject="after renewal").exists(), 10)
    finally:
        watcher.stop()
        watcher.join(timeout=10)

    assert arrived


def test_idle_missing_falls_back_to_polling(owner, plain_dovecot, connect_account, settings):
    from conftest import add_mailbox_user

    settings.EMAILSYNC_POLL_SECONDS = 1
    login, password = add_mailbox_user(plain_dovecot)
    account = connect_account(owner, login, password, server=plain_dovecot)
    watcher = Watcher(account.pk, sync_account)
    watcher.start()
    try:
        plain_dovecot.append(login, "INBOX", [make_raw(subject="polled")])

        arrived = wait_for(lambda: Message.objects.filter(account=account, subject="polled").exists(), 10)
    finally:
        watcher.stop()
        watcher.join(timeout=10)

    assert arrived


def test_supervisor_drops_paused_account(account):
    supervisor = Supervisor(sync_account)
    try:
        started = supervisor.refresh()
        MailAccount.objects.filter(pk=account.pk).update(status=MailAccount.Status.PAUSED)
        remaining = supervisor.refresh()
    finally:
        supervisor.stop_all()

    assert started == 1
    assert remaining == 0
