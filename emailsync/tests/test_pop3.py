"""POP3 accounts sync the inbox by UIDL and leave mail on the server."""

import pytest

from emailsync.models import MailAccount, Message
from emailsync.sync import sync_account
from tests.support.corpus import read_corpus
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def pop3_account(owner, mailbox_user, connect_account, dovecot):
    login, password = mailbox_user
    account = connect_account(owner, login, password)
    MailAccount.objects.filter(pk=account.pk).update(
        incoming_protocol="pop3", incoming_port=dovecot.pop3_port, incoming_security="starttls",
    )
    return account


def test_pop3_sync_imports_inbox_once(pop3_account, dovecot, mailbox_user):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject=f"p{i}") for i in range(3)])

    first = sync_account(pop3_account.pk)
    second = sync_account(pop3_account.pk)

    assert first.error is None
    assert first.created == 3
    assert second.created == 0
    assert Message.objects.filter(account=pop3_account).count() == 3


def test_pop3_sync_leaves_mail_on_server(pop3_account, dovecot, mailbox_user):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw()])

    sync_account(pop3_account.pk)

    assert len(dovecot.server_messages(mailbox_user[0], "INBOX")) == 1


def test_pop3_sync_corpus_completely(pop3_account, dovecot, mailbox_user):
    corpus = read_corpus()
    dovecot.append(mailbox_user[0], "INBOX", [data for _name, data in corpus])
    on_server = dovecot.server_messages(mailbox_user[0], "INBOX")

    first = sync_account(pop3_account.pk)
    second = sync_account(pop3_account.pk)

    assert first.error is None
    assert first.failed == 0
    assert Message.objects.filter(account=pop3_account).count() == len(set(on_server.values()))
    assert second.created == 0
