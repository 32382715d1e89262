"""Messages of one owner that share a Message-ID: separate rows under "All", copies across owners grouped."""

import importlib

import pytest
from django.db import connection

from crm.models import Lead
from crm.tests.helpers import make_account
from emailsync.models import Message, Participant, owner_duplicate_key
from emailsync.related import build_email_list
from emailsync.storage import FetchedMessage, store_batch
from tests.support.corpus import corpus_dir, corpus_files

from .stored import folder_of, raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

# Two different corpus messages (other subject and body) that both carry
# Message-ID <392367BC.3D075C95@example.com>, from dwsauder@example.com.
NETSCAPE = "phpmmp__m0014.eml"
MULTIPLE_FROM = "phpmmp__m0016.eml"
SHARED_ID = "392367BC.3D075C95@example.com"


def corpus_message(name):
    corpus_files()  # skips the test when the corpus is missing
    return (corpus_dir() / name).read_bytes()


@pytest.fixture
def lead(owner):
    record = Lead.objects.create(owner=owner, last_name="Sauder", email="dwsauder@example.com")
    record.secondary_emails.create(address="doug@example.com")
    return record


def counts(email_list):
    return {choice.value: choice.count for choice in email_list.choices}


def listed_subjects(email_list):
    return sorted(row.message.subject for row in email_list.page.object_list)


def test_all_keeps_same_owner_duplicates_apart(owner, lead):
    account = make_account(owner)
    store_raw(account, corpus_message(NETSCAPE))
    store_raw(account, corpus_message(MULTIPLE_FROM))

    email_list = build_email_list(lead, owner)

    assert email_list.selected == "all"
    assert listed_subjects(email_list) == ["Test message from Netscape Communicator 4.7",
                                           "Test message with multiple From headers"]
    assert counts(email_list) == {"all": 2, str(owner.pk): 2}


def test_all_single_mailbox_counts_match(owner, lead):
    account = make_account(owner)
    for name in (NETSCAPE, MULTIPLE_FROM, "zbateson__m1015.eml"):
        store_raw(account, corpus_message(name))

    all_list = build_email_list(lead, owner)
    owner_list = build_email_list(lead, owner, selected=str(owner.pk))

    assert counts(all_list)["all"] == counts(all_list)[str(owner.pk)]
    assert all_list.total == len(all_list.page.object_list)
    assert owner_list.total == all_list.total


def test_all_groups_copy_with_first_duplicate(owner, teammate, lead):
    """The teammate's copy is grouped with the owner's first message of that Message-ID, never the second."""
    owner_box = make_account(owner, sharing_mode="public")
    teammate_box = make_account(teammate, sharing_mode="public")
    first = store_raw(owner_box, corpus_message(NETSCAPE))
    second = store_raw(owner_box, corpus_message(MULTIPLE_FROM))
    store_raw(teammate_box, corpus_message("zbateson__m1015.eml"))

    email_list = build_email_list(lead, owner)

    owners_by_message = {row.message.pk: {user.pk for user in row.owners} for row in email_list.page.object_list}
    assert owners_by_message == {first.pk: {owner.pk, teammate.pk}, second.pk: {owner.pk}}
    assert counts(email_list)["all"] == 2


def test_storage_separates_duplicate_keys(owner):
    account = make_account(owner)
    first_raw = raw_with_attachment("Uno", "lucia@acme.example", account.email_address, "Uno",
                                    message_id=f"<{SHARED_ID}>")
    second_raw = raw_with_attachment("Dos", "lucia@acme.example", account.email_address, "Dos",
                                     message_id=f"<{SHARED_ID}>")
    first = store_raw(account, first_raw)
    second = store_raw(account, second_raw)

    first_keys = set(Participant.objects.filter(message=first).values_list("message_key", flat=True))
    second_keys = set(Participant.objects.filter(message=second).values_list("message_key", flat=True))
    assert first_keys == {SHARED_ID}
    assert second_keys == {f"{SHARED_ID} {second.pk}"}


def test_one_batch_separates_duplicate_keys(owner):
    account = make_account(owner)
    batch = [FetchedMessage(uid=uid, raw=corpus_message(name)) for uid, name in ((1, NETSCAPE), (2, MULTIPLE_FROM))]

    store_batch(account, folder_of(account), 1, batch, account.own_addresses())

    first, second = Message.objects.filter(account=account).order_by("pk")
    assert set(Participant.objects.filter(message=first).values_list("message_key", flat=True)) == {SHARED_ID}
    assert set(Participant.objects.filter(message=second).values_list("message_key", flat=True)) == {
        owner_duplicate_key(SHARED_ID, second.pk),
    }


def test_owner_duplicate_key_fits_field():
    key = owner_duplicate_key("x" * 998, 123456)

    assert len(key) == 998
    assert key.endswith("x 123456")


def run_sql(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)


def test_migration_separates_stored_duplicates(owner):
    migration = importlib.import_module("emailsync.migrations.0010_owner_duplicate_message_keys")
    account = make_account(owner)
    first = store_raw(account, corpus_message(NETSCAPE))
    second = store_raw(account, corpus_message(MULTIPLE_FROM))
    # Rows stored before the migration carry the plain Message-ID.
    Participant.objects.filter(message=second).update(message_key=SHARED_ID)

    run_sql(migration.SEPARATE_OWNER_DUPLICATES)

    assert set(Participant.objects.filter(message=first).values_list("message_key", flat=True)) == {SHARED_ID}
    assert set(Participant.objects.filter(message=second).values_list("message_key", flat=True)) == {
        owner_duplicate_key(SHARED_ID, second.pk),
    }

    run_sql(migration.RESTORE_MESSAGE_KEYS)

    assert set(Participant.objects.filter(message=second).values_list("message_key", flat=True)) == {SHARED_ID}
