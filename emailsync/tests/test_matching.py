"""Records show exactly the synced messages that involve their addresses.

The expected sets come from Python's email package with the modern policy,
independently of the CRM's own parser.
"""

import email
from email import policy

import pytest

from crm.addresses import normalize_address
from crm.models import Contact, ContactEmail, Lead, LeadEmail
from emailsync.models import Message
from emailsync.related import messages_for_record
from emailsync.sync import sync_account
from tests.support.corpus import read_corpus

pytestmark = pytest.mark.django_db


def expected_involvement(messages):
    """Return {normalised address: {Message-ID}} for From, To and Cc."""
    involved = {}
    for _name, data in messages:
        parsed = email.message_from_bytes(data, policy=policy.compat32)
        message_id = (parsed.get("message-id") or "").strip().strip("<>")
        values = [parsed.get(header, "") for header in ("from", "to", "cc")]
        for _display, address in email.utils.getaddresses([str(value) for value in values if value]):
            if "@" in address:
                involved.setdefault(normalize_address(address), set()).add(message_id)
    return involved


@pytest.fixture
def enron_account(owner, mailbox_user, connect_account, dovecot):
    login, password = mailbox_user
    messages = read_corpus("enron__")
    dovecot.append(login, "INBOX", [data for _name, data in messages])
    account = connect_account(owner, login, password, email="crm.user@example.test")
    sync_account(account.pk)
    return account, expected_involvement(messages)


def listed_ids(record, viewer):
    return set(messages_for_record(record, viewer).values_list("message_id", flat=True))


def busiest(involvement, count):
    """Return the `count` addresses involved in the most messages."""
    return sorted(involvement, key=lambda address: (-len(involvement[address]), address))[:count]


def test_contact_primary_address_mixed_case(enron_account, owner):
    account, involvement = enron_account
    address = busiest(involvement, 1)[0]
    contact = Contact.objects.create(last_name="Primary", email=address.upper(), owner=owner)

    assert listed_ids(contact, owner) == involvement[address]


def test_lead_primary_and_secondary_addresses(enron_account, owner):
    account, involvement = enron_account
    first, second = busiest(involvement, 3)[1:3]
    lead = Lead.objects.create(last_name="Both", email=first, owner=owner)
    LeadEmail.objects.create(record=lead, address=f"  {second.title()} ")

    assert listed_ids(lead, owner) == involvement[first] | involvement[second]


def test_secondary_address_added_later_shows_earlier_mail(enron_account, owner):
    account, involvement = enron_account
    first, later = busiest(involvement, 5)[3:5]
    contact = Contact.objects.create(last_name="Later", email=first, owner=owner)
    before = listed_ids(contact, owner)

    ContactEmail.objects.create(record=contact, address=later)

    assert before == involvement[first]
    assert listed_ids(contact, owner) == involvement[first] | involvement[later]


def test_record_without_matches_lists_nothing(enron_account, owner):
    contact = Contact.objects.create(last_name="Nobody", email="nobody@nowhere.example", owner=owner)

    assert listed_ids(contact, owner) == set()


def test_every_enron_message_is_stored(enron_account):
    account, _involvement = enron_account

    assert Message.objects.filter(account=account).count() == len(read_corpus("enron__"))
