"""`manage.py mail_status` after a real sync."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from emailsync import errors
from emailsync.models import Folder, MailAccount, SyncFailure
from emailsync.sync import sync_account
from tests.support.commands import run_command
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced_account(owner, mailbox_user, connect_account, dovecot):
    """An account synced once: two messages in INBOX, one in Sent."""
    login, password = mailbox_user
    dovecot.append(login, "INBOX", [make_raw(subject="Offer 1"), make_raw(subject="Offer 2")])
    dovecot.append(login, "Sent", [make_raw(subject="Offer 3")])
    account = connect_account(owner, login, password)
    sync_account(account.pk)
    return account


def status_of(account):
    result = run_command("mail_status", "--json")
    assert result.error is None
    return next(item for item in json.loads(result.stdout) if item["account"] == account.pk)


def folder_named(status, name):
    return next(folder for folder in status["folders"] if folder["name"] == name)


def test_mail_status_json_account_fields(synced_account, owner):
    status = status_of(synced_account)

    assert status["user"] == owner.username
    assert status["email"] == synced_account.email_address
    assert status["status"] == "active"
    assert status["pause_reason"] is None
    assert status["messages"] == 3
    assert status["failed"] == 0
    assert status["last_error"] is None
    assert status["last_synced_at"] is not None


def test_mail_status_json_folder_fields(synced_account):
    inbox = folder_named(status_of(synced_account), "INBOX")

    assert inbox["role"] == "inbox"
    assert inbox["messages"] == 2
    assert inbox["backlog"] == 0
    assert isinstance(inbox["uidvalidity"], int)
    assert inbox["last_synced_at"] is not None
    assert inbox["last_error"] is None
    assert folder_named(status_of(synced_account), "Sent")["messages"] == 1


def test_mail_status_lists_inbox_first(synced_account):
    folders = status_of(synced_account)["folders"]

    assert [folder["name"] for folder in folders[:2]] == ["INBOX", "Sent"]


def test_mail_status_counts_unresolved_failures(synced_account):
    inbox = Folder.objects.get(account=synced_account, name="INBOX")
    SyncFailure.objects.create(account=synced_account, folder=inbox, uidvalidity=1, uid=90, reason_code="x")
    resolved = SyncFailure.objects.create(account=synced_account, folder=inbox, uidvalidity=1, uid=91, reason_code="x")
    SyncFailure.objects.filter(pk=resolved.pk).update(resolved_at=resolved.first_failed_at)

    assert status_of(synced_account)["failed"] == 1


def test_mail_status_reports_last_error_and_pause(synced_account):
    MailAccount.objects.filter(pk=synced_account.pk).update(
        status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED,
        last_error_code=errors.AUTH_FAILED, last_error_detail="NO [AUTHENTICATIONFAILED]",
    )

    status = status_of(synced_account)

    assert status["status"] == "paused"
    assert status["pause_reason"]["code"] == errors.AUTH_FAILED
    assert status["last_error"]["code"] == errors.AUTH_FAILED
    assert status["last_error"]["message"] == str(errors.message_for(errors.AUTH_FAILED))


def test_mail_status_progress_counts_last_run(synced_account, dovecot, mailbox_user):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="Offer 4")])
    sync_account(synced_account.pk)

    progress = status_of(synced_account)["progress"]

    assert progress == {"done": 1, "total": 1}


def test_mail_status_query_count_is_constant(synced_account, teammate, mailbox_user, connect_account):
    second = connect_account(teammate, *mailbox_user)
    sync_account(second.pk)

    with CaptureQueriesContext(connection) as queries:
        run_command("mail_status", "--json")

    assert len(queries) == 2


def test_mail_status_table(synced_account):
    result = run_command("mail_status")

    assert result.stdout.splitlines()[0].split() == [
        "ID", "USER", "EMAIL", "STATUS", "MESSAGES", "FAILED", "LAST", "SYNC",
    ]
    assert synced_account.email_address in result.stdout
    assert "INBOX (inbox, synced): 2 stored" in result.stdout


def test_mail_status_without_accounts(db):
    result = run_command("mail_status", "--json")

    assert json.loads(result.stdout) == []
