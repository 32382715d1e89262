"""`manage.py sync_mail` against the test Dovecot."""

import pytest

from emailsync import errors
from emailsync.models import MailAccount, Message
from tests.support.commands import run_command
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner, mailbox_user, connect_account, dovecot):
    """A connected account with three messages in INBOX."""
    login, password = mailbox_user
    dovecot.append(login, "INBOX", [make_raw(subject=f"Offer {number}") for number in range(3)])
    return connect_account(owner, login, password)


def test_sync_mail_stores_messages(account):
    result = run_command("sync_mail", "--account", str(account.pk))

    assert result.error is None
    assert Message.objects.filter(account=account).count() == 3
    assert f"account {account.pk} ({account.email_address}): created 3, linked 0, failed 0" in result.stdout


def test_sync_mail_prints_plain_progress(account):
    result = run_command("sync_mail", "--account", str(account.pk))

    assert f"account {account.pk} ({account.email_address}): 3/3 messages" in result.stdout
    assert "\r" not in result.stdout


def test_sync_mail_quiet_prints_nothing(account):
    result = run_command("sync_mail", "--account", str(account.pk), verbosity=0)

    assert result.error is None
    assert result.stdout == ""


def test_sync_mail_second_run_creates_nothing(account):
    run_command("sync_mail", "--account", str(account.pk))

    result = run_command("sync_mail", "--account", str(account.pk), "--full")

    assert result.error is None
    assert "created 0" in result.stdout
    assert Message.objects.filter(account=account).count() == 3


def test_sync_mail_by_user(account, owner):
    result = run_command("sync_mail", "--user", owner.username)

    assert result.error is None
    assert Message.objects.filter(account=account).count() == 3


def test_sync_mail_all_skips_paused(account, teammate, mailbox_user, connect_account):
    paused = connect_account(teammate, *mailbox_user)
    MailAccount.objects.filter(pk=paused.pk).update(status=MailAccount.Status.PAUSED)

    result = run_command("sync_mail", "--all")

    assert result.error is None
    assert "Skipping 1 paused accounts" in result.stdout
    assert f"account {paused.pk} " not in result.stdout
    assert Message.objects.filter(account=account).count() == 3


def test_sync_mail_login_failure_exits_nonzero(account, dovecot, mailbox_user):
    login, _password = mailbox_user
    dovecot.change_password(login, "changed-password")

    result = run_command("sync_mail", "--account", str(account.pk))

    assert result.error is not None
    assert str(errors.message_for(errors.AUTH_FAILED)) in result.stderr
    assert "changed-password" not in result.output


def test_sync_mail_paused_account_exits_nonzero(account):
    MailAccount.objects.filter(pk=account.pk).update(
        status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED,
    )

    result = run_command("sync_mail", "--account", str(account.pk))

    assert result.error is not None
    assert str(errors.message_for(errors.AUTH_FAILED)) in result.stderr
    assert Message.objects.count() == 0


def test_sync_mail_unknown_account(db):
    result = run_command("sync_mail", "--account", "999")

    assert "999" in str(result.error)


def test_sync_mail_user_without_mailbox(outsider):
    result = run_command("sync_mail", "--user", outsider.username)

    assert outsider.username in str(result.error)
