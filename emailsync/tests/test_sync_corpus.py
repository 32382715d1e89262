"""The whole real-mail corpus syncs from a real Dovecot without loss."""

import hashlib

import pytest

from emailsync.models import Message, MessageLocation, RawMessage, SyncFailure
from emailsync.sync import sync_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus_account(owner, corpus_mailbox, connect_account):
    login, password = corpus_mailbox
    return connect_account(owner, login, password)


def server_state(dovecot, login):
    """Return {(folder, uid): bytes} for INBOX and Sent, as the server returns them."""
    state = {}
    for folder in ("INBOX", "Sent"):
        for uid, data in dovecot.server_messages(login, folder).items():
            state[(folder, uid)] = data
    return state


def test_corpus_sync_stores_every_distinct_message(corpus_account, dovecot, corpus_mailbox):
    report = sync_account(corpus_account.pk)
    server = server_state(dovecot, corpus_mailbox[0])

    distinct = {hashlib.sha256(data).hexdigest() for data in server.values()}
    assert report.error is None
    assert report.failed == 0
    assert SyncFailure.objects.filter(account=corpus_account).count() == 0
    assert Message.objects.filter(account=corpus_account).count() == len(distinct)
    assert MessageLocation.objects.filter(message__account=corpus_account).count() == len(server)


def test_corpus_sync_keeps_raw_bytes_exactly(corpus_account, dovecot, corpus_mailbox):
    sync_account(corpus_account.pk)
    server = server_state(dovecot, corpus_mailbox[0])

    mismatched = []
    locations = MessageLocation.objects.filter(message__account=corpus_account).select_related("folder")
    raw_by_message = dict(RawMessage.objects.filter(message__account=corpus_account).values_list("message_id", "data"))
    for location in locations:
        if bytes(raw_by_message[location.message_id]) != server[(location.folder.name, location.uid)]:
            mismatched.append((location.folder.name, location.uid))
    assert mismatched == []
