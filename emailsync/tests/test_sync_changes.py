"""Changes on the server reach the CRM, and an unchanged poll costs little."""

import pytest
from django.core import mail
from django.db import DatabaseError, connection
from django.utils import timezone

from conftest import add_mailbox_user
from emailsync import errors
from emailsync.accounts import change_password
from emailsync.models import Folder, MailAccount, Message, MessageLocation, SyncFailure
from emailsync.sync import sync_account
from tests.support.mail import make_raw
from tests.support.proxy import Proxy

pytestmark = pytest.mark.django_db


def through_proxy(account, server):
    proxy = Proxy(server.host, server.imap_port).start()
    MailAccount.objects.filter(pk=account.pk).update(
        incoming_host=proxy.host, incoming_port=proxy.port, incoming_security="plain",
    )
    return proxy


@pytest.fixture(params=["condstore", "plain"])
def server(request, dovecot, plain_dovecot):
    """Each test runs against Dovecot with and without CONDSTORE/QRESYNC."""
    return dovecot if request.param == "condstore" else plain_dovecot


@pytest.fixture
def mailbox(server):
    return add_mailbox_user(server)


@pytest.fixture
def account(owner, mailbox, server, connect_account, settings):
    # Without CONDSTORE, flags are re-read at most this often; zero makes
    # every sync re-read them, so one sync shows the change.
    settings.EMAILSYNC_FLAGS_REFRESH_MINUTES = 0
    return connect_account(owner, *mailbox, server=server)


def flags_of(account, subject):
    return MessageLocation.objects.get(message__account=account, message__subject=subject).flags


def test_flag_change_reaches_crm(account, server, mailbox):
    server.append(mailbox[0], "INBOX", [make_raw(subject="a"), make_raw(subject="b")])
    sync_account(account.pk)

    with server.client(mailbox[0]) as client:
        client.select_folder("INBOX")
        client.add_flags(client.search(["SUBJECT", "a"]), [b"\\Seen", b"\\Flagged"])
    report = sync_account(account.pk)

    assert report.error is None
    assert flags_of(account, "a") == ["\\Flagged", "\\Seen"]
    assert flags_of(account, "b") == []


def test_expunge_reaches_crm(account, server, mailbox):
    server.append(mailbox[0], "INBOX", [make_raw(subject="keep"), make_raw(subject="drop")])
    sync_account(account.pk)

    with server.client(mailbox[0]) as client:
        client.select_folder("INBOX")
        client.delete_messages(client.search(["SUBJECT", "drop"]))
        client.expunge()
    report = sync_account(account.pk)

    assert report.removed == 1
    assert list(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["keep"]


def test_expunge_keeps_message_in_other_folder(account, server, mailbox):
    raw = make_raw(subject="both")
    server.append(mailbox[0], "INBOX", [raw])
    server.append(mailbox[0], "Sent", [raw])
    sync_account(account.pk)

    with server.client(mailbox[0]) as client:
        client.select_folder("INBOX")
        client.delete_messages(client.search(["ALL"]))
        client.expunge()
    sync_account(account.pk)

    message = Message.objects.get(account=account)
    assert list(message.locations.values_list("folder__name", flat=True)) == ["Sent"]


def test_moved_message_not_downloaded_again(account, server, mailbox):
    server.append(mailbox[0], "INBOX", [make_raw(subject="moving", body="x" * 5000)])
    sync_account(account.pk)
    Folder.objects.filter(account=account, name="Archive").update(is_sync_enabled=True)
    sync_account(account.pk)
    original = Message.objects.get(account=account)
    proxy = through_proxy(account, server)

    with server.client(mailbox[0]) as client:
        client.select_folder("INBOX")
        client.move(client.search(["ALL"]), "Archive")
    report = sync_account(account.pk)
    proxy.stop()

    message = Message.objects.get(account=account)
    assert report.error is None
    assert message.pk == original.pk
    assert list(message.locations.values_list("folder__name", flat=True)) == ["Archive"]
    assert b"BODY.PEEK[]" not in bytes(proxy.client_bytes)


def test_unchanged_poll_sends_few_commands(owner, dovecot, connect_account):
    login, password = add_mailbox_user(dovecot)
    with dovecot.client(login) as client:
        for index in range(14):
            client.create_folder(f"Project {index}")
    account = connect_account(owner, login, password)
    dovecot.append(login, "INBOX", [make_raw()])
    sync_account(account.pk)
    Folder.objects.filter(account=account, role=Folder.Role.OTHER).update(is_sync_enabled=True)
    sync_account(account.pk)
    assert Folder.objects.filter(account=account).count() == 20
    proxy = through_proxy(account, dovecot)

    report = sync_account(account.pk)
    proxy.stop()

    commands = proxy.client_commands()
    after_login = commands[commands.index("LOGIN") + 1:]
    assert report.folders_unchanged == Folder.objects.filter(account=account, is_sync_enabled=True).count()
    assert len(after_login) <= 3, after_login


def test_unchanged_poll_without_list_status_pipelines(owner, plain_dovecot, connect_account, settings):
    settings.EMAILSYNC_FLAGS_REFRESH_MINUTES = 60
    login, password = add_mailbox_user(plain_dovecot)
    with plain_dovecot.client(login) as client:
        for index in range(5):
            client.create_folder(f"Project {index}")
    account = connect_account(owner, login, password, server=plain_dovecot)
    sync_account(account.pk)
    Folder.objects.filter(account=account, role=Folder.Role.OTHER).update(is_sync_enabled=True)
    sync_account(account.pk)
    proxy = through_proxy(account, plain_dovecot)

    report = sync_account(account.pk)
    proxy.stop()

    commands = proxy.client_commands()
    assert report.folders == 0
    assert "SELECT" not in commands and "EXAMINE" not in commands
    assert commands.count("LIST") == 1


def test_failed_message_is_recorded_and_retried(owner, dovecot, connect_account):
    login, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login, password)
    dovecot.append(login, "INBOX", [make_raw(subject="fine"), make_raw(subject="poison", body="POISON")])

    def reject_poison(execute, sql, params, many, context):
        rows = params if many else [params or ()]
        # psycopg wraps bytes parameters in a Binary object holding them in .obj.
        values = [getattr(value, "obj", value) for row in rows for value in row]
        if "emailsync_rawmessage" in sql and any(
            isinstance(value, (bytes, memoryview)) and b"POISON" in bytes(value) for value in values
        ):
            raise DatabaseError("simulated storage failure")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(reject_poison):
        first = sync_account(account.pk)
    failure = SyncFailure.objects.get(account=account)
    SyncFailure.objects.filter(pk=failure.pk).update(next_retry_at=timezone.now())
    second = sync_account(account.pk)

    failure.refresh_from_db()
    assert first.failed == 1
    assert failure.reason_code == "store_failed"
    assert failure.resolved_at is not None
    assert second.created == 1
    assert sorted(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["fine", "poison"]


def test_three_failed_logins_pause_and_notify(owner, dovecot, connect_account, mailoutbox, django_capture_on_commit_callbacks):
    login, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login, password)
    dovecot.change_password(login, "changed-at-provider")
    proxy = through_proxy(account, dovecot)

    reports = [sync_account(account.pk) for _ in range(4)]
    connections_while_paused = proxy.connections

    account.refresh_from_db()
    assert [report.error.code if report.error else report.skipped_reason for report in reports] == [
        errors.AUTH_FAILED, errors.AUTH_FAILED, errors.AUTH_FAILED, "paused",
    ]
    assert connections_while_paused == 3
    assert account.status == MailAccount.Status.PAUSED
    assert len(mailoutbox) == 1
    assert account.email_address in mailoutbox[0].subject

    change_password(account, "changed-at-provider")
    resumed = sync_account(account.pk)
    proxy.stop()
    assert resumed.error is None
    assert MailAccount.objects.get(pk=account.pk).status == MailAccount.Status.ACTIVE
