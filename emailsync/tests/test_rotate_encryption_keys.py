"""`manage.py rotate_encryption_keys` moves every stored secret to the first key."""

import pytest
from cryptography.fernet import Fernet

from emailsync.models import MailAccount
from tests.support.commands import run_command

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def account(owner, settings):
    """An account whose secrets were encrypted with OLD_KEY."""
    settings.EMAILSYNC_ENCRYPTION_KEYS = [OLD_KEY]
    account = MailAccount(
        owner=owner, email_address="owner@example.test", incoming_host="127.0.0.1", incoming_port=143,
        incoming_login="owner", smtp_host="127.0.0.1", smtp_port=587, smtp_same_credentials=False,
        smtp_login="owner-smtp",
    )
    account.set_incoming_password("imap-secret-1")
    account.set_smtp_password("smtp-secret-2")
    account.save()
    return account


def test_rotate_encryption_keys_old_key_removable(account, settings):
    settings.EMAILSYNC_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    result = run_command("rotate_encryption_keys")

    settings.EMAILSYNC_ENCRYPTION_KEYS = [NEW_KEY]
    account.refresh_from_db()
    assert result.error is None
    assert account.get_incoming_password() == "imap-secret-1"
    assert account.get_smtp_password() == "smtp-secret-2"


def test_rotate_encryption_keys_prints_counts_only(account, settings):
    settings.EMAILSYNC_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    result = run_command("rotate_encryption_keys")

    assert "Re-encrypted 2 secrets in 1 accounts" in result.stdout
    assert "imap-secret-1" not in result.output
    assert "smtp-secret-2" not in result.output


def test_rotate_encryption_keys_unknown_key_changes_nothing(account, owner, teammate, settings):
    before = MailAccount.objects.get(pk=account.pk).incoming_password_encrypted
    settings.EMAILSYNC_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    foreign = MailAccount(
        owner=teammate, email_address="teammate@example.test", incoming_host="127.0.0.1", incoming_port=143,
        incoming_login="teammate", smtp_host="127.0.0.1", smtp_port=587,
    )
    foreign.set_incoming_password("foreign-secret")
    foreign.save()

    settings.EMAILSYNC_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    result = run_command("rotate_encryption_keys")

    assert "incoming_password_encrypted" in str(result.error)
    assert str(foreign.pk) in str(result.error)
    assert MailAccount.objects.get(pk=account.pk).incoming_password_encrypted == before
