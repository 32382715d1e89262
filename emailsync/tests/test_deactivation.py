"""Deactivating a mailbox against a real Dovecot: what goes, what stays,
a sync running meanwhile, and reconnecting."""

import time

import pytest

from crm.models import Contact, ContactEmail, Lead
from emailsync import errors, sync
from emailsync.deactivation import DeactivationBusy, deactivate_mailbox, preview_deactivation
from emailsync.models import (
    Folder, FromAddress, MailAccount, Message, MessageLocation, Participant, Pop3Seen, RawMessage,
    SharingExclusion, SyncFailure,
)
from emailsync.related import messages_for_record
from emailsync.sync import sync_account
from tests.support import threads
from tests.support.crm_mail import store_crm_sent
from tests.support.mail import make_raw


@pytest.fixture
def mailbox(mailbox_user):
    return mailbox_user[0]


@pytest.fixture
def account(owner, mailbox_user, connect_account):
    return connect_account(owner, *mailbox_user)


def date_header(day):
    return f"Mon, {day:02d} Nov 2026 10:00:00 +0000"


def load_mailbox(dovecot, mailbox, account):
    """Fill the mailbox with received, sent and CRM-sent mail; return the CRM messages.

    Every message has its own date, so the Emails lists have one order.
    """
    own = account.email_address
    both = make_raw(subject="in both folders", sender="ana@example.com", to=own, date=date_header(1))
    dovecot.append(mailbox, "INBOX", [
        make_raw(subject="offer", sender="ana@example.com", to=own, date=date_header(2)),
        make_raw(subject="question", sender="ana@example.com", to=own, cc="carol@example.com",
                 date=date_header(3)),
        make_raw(subject="from carol", sender="Carol <CAROL@Example.com>", to=own, date=date_header(4)),
        both,
    ])
    dovecot.append(mailbox, "Sent", [
        make_raw(subject="reply", sender=own, to="ana@example.com", date=date_header(5)),
        make_raw(subject="blind copy", sender=own, to="bob@example.com",
                 extra_headers="Bcc: carol@example.com", date=date_header(6)),
        both,
    ])

    # Sent from the CRM with "store sent messages on the server": the
    # server's copy in Sent carries one more header than the CRM's.
    stored_copy = make_raw(subject="sent from the CRM", sender=own, to="ana@example.com",
                           message_id="<crm-1@crm.example>", date=date_header(7))
    dovecot.append(mailbox, "Sent", [b"X-Stored-By: dovecot\r\n" + stored_copy])
    crm_messages = [
        store_crm_sent(account, stored_copy),
        store_crm_sent(account, make_raw(subject="CRM only", sender=own, to="carol@example.com",
                                         message_id="<crm-2@crm.example>", date=date_header(8))),
    ]
    return crm_messages


def make_records(owner):
    lead = Lead.objects.create(last_name="Ana", email="ana@example.com", owner=owner)
    contact = Contact.objects.create(last_name="Bob", email="bob@example.com", owner=owner)
    ContactEmail.objects.create(record=contact, address="carol@example.com")
    return [lead, contact]


def emails_lists(records, viewer):
    """Return each record's Emails list as comparable values, in list order."""
    return {
        (type(record).__name__, record.pk): [
            (
                message.message_id, message.subject, message.sort_date, message.direction, message.origin,
                sorted(message.participants.values_list("role", "address", "display_name")),
            )
            for message in messages_for_record(record, viewer)
        ]
        for record in records
    }


def synced_count(owner):
    return Message.objects.filter(owner=owner, origin=Message.Origin.SYNC).count()


# --- What goes and what stays --------------------------------------------


@pytest.mark.django_db
def test_deactivate_deletes_synced_messages_and_configuration(account, owner, dovecot, mailbox):
    crm_messages = load_mailbox(dovecot, mailbox, account)
    FromAddress.objects.create(account=account, address="alias@example.test")
    SharingExclusion.objects.create(account=account, value="hr.example.com")
    sync_account(account.pk)
    assert synced_count(owner) == 6

    deactivate_mailbox(account, owner)

    crm_ids = [message.pk for message in crm_messages]
    assert synced_count(owner) == 0
    assert RawMessage.objects.exclude(message_id__in=crm_ids).count() == 0
    assert Participant.objects.exclude(message_id__in=crm_ids).count() == 0
    assert MessageLocation.objects.count() == 0
    assert Folder.objects.count() == 0
    assert FromAddress.objects.count() == 0
    assert SharingExclusion.objects.count() == 0
    assert MailAccount.objects.filter(owner=owner).count() == 0


@pytest.mark.django_db
def test_deactivate_keeps_crm_sent_messages(account, owner, dovecot, mailbox):
    crm_messages = load_mailbox(dovecot, mailbox, account)
    sync_account(account.pk)
    participants_before = {
        message.pk: sorted(message.participants.values_list("role", "address")) for message in crm_messages
    }

    deactivate_mailbox(account, owner)

    kept = Message.objects.filter(owner=owner, origin=Message.Origin.CRM)
    assert sorted(kept.values_list("pk", flat=True)) == sorted(participants_before)
    assert list(kept.values_list("account", flat=True).distinct()) == [None]
    assert RawMessage.objects.filter(message__in=kept).count() == 2
    for message in kept:
        assert sorted(message.participants.values_list("role", "address")) == participants_before[message.pk]


@pytest.mark.django_db
def test_deactivate_returns_counts(account, owner, dovecot, mailbox):
    load_mailbox(dovecot, mailbox, account)
    sync_account(account.pk)
    preview = preview_deactivation(account)
    participants = Participant.objects.filter(message__origin=Message.Origin.SYNC).count()
    folders = Folder.objects.filter(account=account).count()

    result = deactivate_mailbox(account, owner)

    assert preview.messages == 6
    assert result.messages == 6
    assert result.raw_messages == 6
    assert result.participants == participants
    # Eight locations: seven synced ones, the message in both folders
    # counting twice, less one, plus the CRM message's copy in Sent.
    assert result.locations == 8
    assert result.folders == folders
    assert preview.folders == folders
    assert result.from_addresses == 1
    assert result.accounts == 1
    assert result.crm_messages_kept == 2
    assert preview.crm_messages_kept == 2


@pytest.mark.django_db
def test_deactivate_deletes_sync_failures(account, owner, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw()])
    sync_account(account.pk)
    inbox = Folder.objects.get(account=account, name="INBOX")
    SyncFailure.objects.create(account=account, folder=inbox, uidvalidity=1, uid=99, reason_code="store_failed")
    SyncFailure.objects.create(account=account, pop3_uidl="abc", reason_code="store_failed")

    result = deactivate_mailbox(account, owner)

    assert result.failures == 2
    assert SyncFailure.objects.count() == 0


@pytest.mark.django_db
def test_deactivate_leaves_server_untouched(account, owner, dovecot, mailbox):
    load_mailbox(dovecot, mailbox, account)
    sync_account(account.pk)
    before = {folder: dovecot.server_messages(mailbox, folder) for folder in ("INBOX", "Sent")}

    deactivate_mailbox(account, owner)

    assert {folder: dovecot.server_messages(mailbox, folder) for folder in ("INBOX", "Sent")} == before


@pytest.mark.django_db
def test_deactivate_pop3_deletes_uidls(owner, mailbox_user, connect_account, dovecot, mailbox):
    account = connect_account(owner, *mailbox_user)
    MailAccount.objects.filter(pk=account.pk).update(
        incoming_protocol="pop3", incoming_port=dovecot.pop3_port, incoming_security="starttls",
    )
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"p{i}") for i in range(3)])
    sync_account(account.pk)

    result = deactivate_mailbox(account, owner)

    assert result.messages == 3
    assert result.pop3_uidls == 3
    assert Pop3Seen.objects.count() == 0
    assert synced_count(owner) == 0


@pytest.mark.django_db
def test_deactivate_twice_raises_busy(account, owner):
    deactivate_mailbox(account, owner)

    with pytest.raises(DeactivationBusy):
        deactivate_mailbox(account, owner)


@pytest.mark.django_db
def test_deactivate_finishes_after_interrupted_run(account, owner, dovecot, mailbox):
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}") for i in range(3)])
    sync_account(account.pk)
    # A deactivation that died after its claim: paused, claim expired.
    MailAccount.objects.filter(pk=account.pk).update(
        status=MailAccount.Status.PAUSED, pause_reason=errors.DEACTIVATING,
        lease_owner="deactivation:dead", lease_expires_at="2000-01-01T00:00:00Z",
    )

    result = deactivate_mailbox(account, owner)

    assert result.messages == 3
    assert MailAccount.objects.count() == 0


@pytest.mark.django_db
def test_deactivate_refuses_live_claim(account, owner):
    sync.claim(account.pk, "deactivation:other")

    with pytest.raises(DeactivationBusy):
        deactivate_mailbox(account, owner)

    assert MailAccount.objects.filter(pk=account.pk).exists()


@pytest.mark.django_db
def test_sync_of_deactivated_account_is_skipped(account, owner):
    account_id = account.pk
    deactivate_mailbox(account, owner)

    report = sync_account(account_id)

    assert report.skipped_reason == "deleted"


# --- A sync running meanwhile ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deactivate_stops_sync_between_batches(account, owner, dovecot, mailbox, settings):
    settings.EMAILSYNC_BATCH_SIZE = 5
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}") for i in range(30)])
    first_batch_stored = threads.threading.Event()
    deactivated = threads.threading.Event()

    def pause_after_first_batch(done, total):
        first_batch_stored.set()
        deactivated.wait(timeout=20)

    running = threads.start(sync_account, account.pk, progress=pause_after_first_batch)
    assert first_batch_stored.wait(timeout=20)
    result = deactivate_mailbox(account, owner)
    deactivated.set()
    report = running.outcome()

    assert result.messages == 5
    assert report.skipped_reason == "deactivated"
    assert report.created == 5
    assert Message.objects.count() == 0
    assert Folder.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_deactivate_waits_for_batch_in_flight(account, owner, dovecot, mailbox, settings, monkeypatch):
    settings.EMAILSYNC_BATCH_SIZE = 5
    dovecot.append(mailbox, "INBOX", [make_raw(subject=f"m{i}") for i in range(30)])
    inside_batch = threads.threading.Event()
    release_batch = threads.threading.Event()
    store_batch = sync.store_batch

    def store_then_hold_transaction(*args, **kwargs):
        result = store_batch(*args, **kwargs)
        if not inside_batch.is_set():
            inside_batch.set()
            release_batch.wait(timeout=20)
        return result

    def deactivate_and_signal():
        try:
            return deactivate_mailbox(account, owner)
        finally:
            deactivated.set()

    def wait_for_deactivation(done, total):
        # SQLite's busy handler polls, so without this pause the sync could
        # take the write lock for its next batches before the waiting
        # deactivation does.
        deactivated.wait(timeout=20)

    deactivated = threads.threading.Event()
    monkeypatch.setattr(sync, "store_batch", store_then_hold_transaction)
    running = threads.start(sync_account, account.pk, progress=wait_for_deactivation)
    assert inside_batch.wait(timeout=20)
    deactivation = threads.start(deactivate_and_signal)
    time.sleep(0.5)
    waited_for_batch = deactivation.is_alive()
    release_batch.set()
    result = deactivation.outcome()
    report = running.outcome()

    assert waited_for_batch
    assert result.messages == 5
    assert report.skipped_reason == "deactivated"
    assert Message.objects.count() == 0
    assert RawMessage.objects.count() == 0
    assert Participant.objects.count() == 0
    assert Folder.objects.count() == 0


# --- Reconnecting ---------------------------------------------------------


@pytest.mark.django_db
def test_reconnect_restores_every_emails_list(owner, mailbox_user, connect_account, dovecot, mailbox):
    account = connect_account(owner, *mailbox_user)
    load_mailbox(dovecot, mailbox, account)
    records = make_records(owner)
    sync_account(account.pk)
    before = emails_lists(records, owner)
    deactivate_mailbox(account, owner)
    during = emails_lists(records, owner)

    again = connect_account(owner, *mailbox_user)
    report = sync_account(again.pk)

    assert report.error is None
    assert [len(items) for items in during.values()] == [1, 1]
    assert emails_lists(records, owner) == before


@pytest.mark.django_db
def test_reconnect_restores_every_message(owner, mailbox_user, connect_account, dovecot, mailbox):
    account = connect_account(owner, *mailbox_user)
    load_mailbox(dovecot, mailbox, account)
    sync_account(account.pk)
    columns = ("message_id", "subject", "origin", "direction", "content_hash", "sort_date")
    before = sorted(Message.objects.filter(owner=owner).values_list(*columns))
    deactivate_mailbox(account, owner)

    again = connect_account(owner, *mailbox_user)
    sync_account(again.pk)

    assert sorted(Message.objects.filter(owner=owner).values_list(*columns)) == before
    assert Message.objects.filter(owner=owner).exclude(account=again).count() == 0


@pytest.mark.django_db
def test_reconnect_links_crm_message_to_sent_copy(owner, mailbox_user, connect_account, dovecot, mailbox):
    account = connect_account(owner, *mailbox_user)
    load_mailbox(dovecot, mailbox, account)
    sync_account(account.pk)
    deactivate_mailbox(account, owner)

    again = connect_account(owner, *mailbox_user)
    sync_account(again.pk)

    copies = Message.objects.filter(owner=owner, message_id="crm-1@crm.example")
    assert copies.count() == 1
    assert copies.get().origin == Message.Origin.CRM
    assert list(copies.get().locations.values_list("folder__name", flat=True)) == ["Sent"]
