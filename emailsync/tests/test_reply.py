"""Replying to a stored message: prefilled form and thread headers."""

import pytest
from django.urls import reverse

from emailsync.models import Message, SharingLevel, UserActivity
from emailsync.replies import format_address, reply_subject
from emailsync.sync import sync_account
from tests.support.mail import make_raw

from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, give_record_of_client, owner_client, parse, received_with_subject, share_publicly,
)

pytestmark = pytest.mark.django_db

ORIGINAL = dict(
    subject="Pedido 2027",
    sender="Lucía Moreno <lucia@acme.example>",
    cc="jefa@acme.example",
    body="Necesito el presupuesto.\nGracias.",
    message_id="<pedido-2027@acme.example>",
    extra_headers="References: <inicio@acme.example>",
)


@pytest.fixture
def incoming(account, dovecot, mailbox_user):
    """A message from a client to the owner, synced from Dovecot's INBOX."""
    raw = make_raw(to=account.email_address, **ORIGINAL)
    dovecot.append(mailbox_user[0], "INBOX", [raw])
    sync_account(account.pk)
    return Message.objects.get(account=account, message_id="pedido-2027@acme.example")


def reply_url(message, **query):
    url = reverse("emailsync:reply", args=[message.pk])
    return url + ("?all=1" if query.get("all") else "")


def test_reply_prefills_sender_and_subject(owner_client, incoming):
    form = owner_client.get(reply_url(incoming)).context["form"]

    assert form["to"].value() == "Lucía Moreno <lucia@acme.example>"
    assert form["subject"].value() == "Re: Pedido 2027"
    assert form["cc"].value() == ""


def test_reply_quotes_original_text(owner_client, incoming):
    body = owner_client.get(reply_url(incoming)).context["form"]["body"].value()

    assert "> Necesito el presupuesto.\n> Gracias." in body
    assert "Lucía Moreno <lucia@acme.example> wrote:" in body


def test_reply_all_adds_cc_without_own_address(owner_client, incoming):
    form = owner_client.get(reply_url(incoming, all=True)).context["form"]

    assert form["cc"].value() == "jefa@acme.example"


def test_reply_honours_reply_to(owner_client, account, dovecot, mailbox_user):
    raw = make_raw(sender="noticias@acme.example", to=account.email_address,
                   extra_headers="Reply-To: Ventas Acme <ventas@acme.example>")
    dovecot.append(mailbox_user[0], "INBOX", [raw])
    sync_account(account.pk)
    message = Message.objects.get(account=account)

    form = owner_client.get(reply_url(message)).context["form"]

    assert form["to"].value() == "Ventas Acme <ventas@acme.example>"


def test_reply_sets_thread_headers(owner_client, account, incoming, smtp_server):
    data = compose_data(account, to="lucia@acme.example")

    response = owner_client.post(reply_url(incoming), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    message = parse(received.data)
    assert message["In-Reply-To"] == "<pedido-2027@acme.example>"
    assert message["References"] == "<inicio@acme.example> <pedido-2027@acme.example>"
    sent = Message.objects.get(origin=Message.Origin.CRM)
    assert response["Location"] == reverse("emailsync:message_detail", args=[sent.pk])


def test_reply_counts_as_interaction(owner_client, owner, account, incoming):
    UserActivity.objects.filter(user=owner).delete()

    owner_client.post(reply_url(incoming), compose_data(account, to="lucia@acme.example"))

    activity = UserActivity.objects.get(user=owner)
    assert activity.last_interaction_at is not None
    assert activity.last_sent_at is not None


def test_reply_to_invisible_message_is_404(client, incoming, teammate):
    client.force_login(teammate)

    assert client.get(reply_url(incoming)).status_code == 404


def test_reply_to_metadata_share_quotes_nothing(client, account, incoming, teammate, connect_account, dovecot):
    from conftest import add_mailbox_user

    share_publicly(account, SharingLevel.METADATA)
    give_record_of_client(teammate)
    connect_account(teammate, *add_mailbox_user(dovecot))
    client.force_login(teammate)

    form = client.get(reply_url(incoming)).context["form"]

    assert form["body"].value() == ""
    assert form["to"].value() == "Lucía Moreno <lucia@acme.example>"


SUBJECTS = [
    ("Pedido", "Re: Pedido"),
    ("Re: Pedido", "Re: Pedido"),
    ("RE: Pedido", "RE: Pedido"),
    ("AW: Bestellung", "AW: Bestellung"),
    ("RV: Pedido", "Re: RV: Pedido"),
    ("", "Re:"),
    ("Pedido\u2028Bcc: x@evil.example", "Re: Pedido Bcc: x@evil.example"),
    ("Pedido\r\n de\tjunio", "Re: Pedido de junio"),
]


@pytest.mark.parametrize(("subject", "expected"), SUBJECTS)
def test_reply_subject(subject, expected):
    assert reply_subject(subject) == expected


ADDRESSES = [
    ("", "a@acme.example", "a@acme.example"),
    ("Lucía Moreno", "a@acme.example", "Lucía Moreno <a@acme.example>"),
    ("Moreno, Lucía", "a@acme.example", '"Moreno, Lucía" <a@acme.example>'),
    ('Ana "la jefa"', "a@acme.example", '"Ana \\"la jefa\\"" <a@acme.example>'),
]


@pytest.mark.parametrize(("name", "address", "expected"), ADDRESSES)
def test_format_address(name, address, expected):
    assert format_address(name, address) == expected
