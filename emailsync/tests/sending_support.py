"""Fixtures and helpers shared by the sending tests.

Test modules import the fixtures they use by name. The account is
connected for real: Dovecot for IMAP, the session's aiosmtpd (STARTTLS
and AUTH) for SMTP.
"""

import email
import uuid
from email import policy

import pytest
from django.urls import reverse

from crm.models import Contact, Lead
from emailsync.drafts import new_draft_key


@pytest.fixture
def account(owner, mailbox_user, connect_account):
    return connect_account(owner, *mailbox_user)


@pytest.fixture
def owner_client(client, owner):
    """The owner's browser, asking for English pages so assertions read plainly."""
    client.force_login(owner)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def contact(owner):
    record = Contact.objects.create(
        owner=owner, first_name="Lucía", last_name="Moreno", company="Acme", email="lucia@acme.example",
    )
    record.secondary_emails.create(address="lucia.moreno@personal.example")
    return record


@pytest.fixture
def lead(owner):
    """A lead whose only address is the one the tests put in Cc."""
    return Lead.objects.create(owner=owner, first_name="Jefa", last_name="Compras", email="jefa@acme.example")


def share_publicly(account, level="full"):
    """Share the account's mailbox with everyone, at the given level."""
    type(account).objects.filter(pk=account.pk).update(sharing_mode="public", sharing_level=level)


def give_record_of_client(user):
    """Give `user` a contact of their own with the client's address.

    A shared message is visible only through a record the viewer can see
    and that the message involves.
    """
    return Contact.objects.create(owner=user, last_name="Moreno", email="lucia@acme.example")


@pytest.fixture
def rejecting_smtp(smtp_server):
    """The session's SMTP server, rejecting the recipients a test adds."""
    yield smtp_server.recorder.rejected_recipients
    smtp_server.recorder.rejected_recipients.clear()


@pytest.fixture
def dropping_smtp(smtp_server):
    """The session's SMTP server, dropping connections at DATA."""
    smtp_server.recorder.close_at_data = True
    yield smtp_server
    smtp_server.recorder.close_at_data = False


def compose_url(record):
    return reverse(f"emailsync:compose_{record._meta.model_name}", args=[record.pk])


def compose_data(account, **fields):
    """Return valid POST data of the compose form, from the account's default address."""
    data = {
        "from_address": account.from_addresses.get(is_default=True).pk,
        "to": "Lucía Moreno <lucia@acme.example>",
        "cc": "",
        "bcc": "",
        # The SMTP server lives for the whole session, so a unique subject
        # identifies this test's message.
        "subject": f"Presupuesto {uuid.uuid4().hex[:8]}",
        "body": "Hola Lucía,\n\nTe envío el presupuesto.\n\nUn saludo,\nAna",
        "draft_key": new_draft_key(),
    }
    data.update(fields)
    return data


def received_with_subject(smtp_server, subject):
    """Return the messages the SMTP server received whose decoded subject is `subject`."""
    found = []
    for item in smtp_server.messages:
        parsed = email.message_from_bytes(item.data, policy=policy.default)
        if parsed["Subject"] == subject:
            found.append(item)
    return found


def parse(data):
    return email.message_from_bytes(data, policy=policy.default)
