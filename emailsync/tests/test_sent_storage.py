"""Storing a message sent from the CRM next to the sync's copies of it."""

import pytest

from emailsync.models import Message, MessageLocation, Participant, RawMessage
from emailsync.storage import store_sent_message
from emailsync.sync import sync_account
from tests.support.mail import make_raw

from .sending_support import account  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def sent_raw(account, message_id="<crm-1@example.test>"):
    return make_raw(sender=account.email_address, to="lucia@acme.example", message_id=message_id)


def test_store_sent_message_is_crm_outgoing(account):
    message = store_sent_message(account, sent_raw(account), bcc=[("Oculto", "Oculto@ACME.example")])

    assert message.origin == Message.Origin.CRM
    assert message.direction == Message.Direction.SENT
    assert bytes(RawMessage.objects.get(message=message).data) == sent_raw(account, "<crm-1@example.test>")
    roles = set(Participant.objects.filter(message=message).values_list("role", "address"))
    assert roles == {
        ("from", account.email_normalized), ("to", "lucia@acme.example"), ("bcc", "oculto@acme.example"),
    }


def test_store_sent_adopts_synced_copy_with_same_bytes(account, dovecot, mailbox_user):
    raw = sent_raw(account)
    dovecot.append(mailbox_user[0], "Sent", [raw])
    sync_account(account.pk)
    synced = Message.objects.get(account=account)

    message = store_sent_message(account, raw)

    assert message.pk == synced.pk
    assert Message.objects.get(account=account).origin == Message.Origin.CRM


def test_store_sent_replaces_copy_by_message_id(account, dovecot, mailbox_user):
    raw = sent_raw(account)
    dovecot.append(mailbox_user[0], "Sent", [b"X-Filed-By: server\r\n" + raw])
    sync_account(account.pk)

    message = store_sent_message(account, raw)

    assert list(Message.objects.filter(account=account)) == [message]
    assert MessageLocation.objects.get(folder__name="Sent").message_id == message.pk


def test_sync_after_adoption_adds_no_message(account, dovecot, mailbox_user):
    raw = sent_raw(account)
    dovecot.append(mailbox_user[0], "Sent", [b"X-Filed-By: server\r\n" + raw])
    sync_account(account.pk)
    store_sent_message(account, raw)

    report = sync_account(account.pk)

    assert report.created == 0
    assert Message.objects.filter(account=account).count() == 1
