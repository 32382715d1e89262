"""What arrives at the SMTP server decodes with a standard parser, text intact."""

import email
import uuid
from email import policy

import pytest

from emailsync.outgoing import Draft
from emailsync.sending import send_draft

from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, compose_url, contact, owner_client, parse, received_with_subject,
)

pytestmark = pytest.mark.django_db

SUBJECTS = [
    "Presupuesto: añadir línea de facturación",
    "見積もりの確認をお願いします",
    "Oferta 🚀 lista 😀 para revisión",
]
LONG_LINE = ("Línea larga con acentos áéíóú y ñ " * 60)[:2000]


def unique(subject):
    """Return the subject with a suffix of this test: the SMTP server serves the whole session."""
    return f"{subject} #{uuid.uuid4().hex[:6]}"


@pytest.fixture
def named_sender(account):
    account.from_addresses.filter(is_default=True).update(display_name="Ana García 山田 😀")
    return account


@pytest.mark.parametrize("subject", SUBJECTS, ids=["spanish", "japanese", "emoji"])
def test_non_ascii_subject_decodes_intact(owner_client, named_sender, contact, smtp_server, subject):
    subject = unique(subject)
    owner_client.post(compose_url(contact), compose_data(named_sender, subject=subject))

    [received] = received_with_subject(smtp_server, subject)
    assert parse(received.data)["Subject"] == subject


@pytest.mark.parametrize("name", ["José Núñez", "山田 太郎", "Equipo 😀 Ventas"])
def test_non_ascii_display_names_decode_intact(owner_client, named_sender, contact, smtp_server, name):
    data = compose_data(named_sender, to=f"{name} <lucia@acme.example>")
    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    message = parse(received.data)
    assert message["To"].addresses[0].display_name == name
    assert message["From"].addresses[0].display_name == "Ana García 山田 😀"


def test_headers_are_ascii_without_smtputf8(owner_client, named_sender, contact, smtp_server):
    data = compose_data(named_sender, subject=unique(SUBJECTS[1]), to="José Núñez <lucia@acme.example>")
    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    header_block = received.data.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii()


def test_long_line_arrives_wrapped(owner_client, account, contact, smtp_server):
    data = compose_data(account, body=f"Hola,\n\n{LONG_LINE}\n\nAna")
    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    plain = parse(received.data).get_body(("plain",))
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
    assert max(len(line) for line in plain.get_payload().splitlines()) <= 76
    assert LONG_LINE in plain.get_content()


def test_html_alternative_arrives_escaped(owner_client, account, contact, smtp_server):
    data = compose_data(account, body="Mira <b>esto</b> en https://acme.example/oferta?a=1&b=2")
    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    html = parse(received.data).get_body(("html",)).get_content()
    assert "&lt;b&gt;esto&lt;/b&gt;" in html
    assert '<a href="https://acme.example/oferta?a=1&amp;b=2">' in html


def test_message_id_on_sender_domain(owner_client, account, contact, smtp_server):
    data = compose_data(account)
    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    message = parse(received.data)
    assert message["Message-ID"].endswith("@example.test>")
    assert message["Date"].datetime is not None


def test_smtputf8_address_sent_when_offered(owner, account, smtp_server):
    """aiosmtpd's Controller offers SMTPUTF8, so a non-ASCII local part can go out."""
    subject = unique("Hola josé")
    draft = Draft(sender=("", account.email_address), to=[("José", "josé@acme.example")], subject=subject, body="x")

    send_draft(owner, draft)

    [received] = [item for item in smtp_server.messages if subject.encode() in item.data]
    assert received.rcpt_tos == ["josé@acme.example"]
    # RFC 6532 headers are UTF-8 text.
    message = email.message_from_string(received.data.decode("utf-8"), policy=policy.default)
    assert message["To"].addresses[0].username == "josé"


def test_from_without_display_name_uses_full_name(owner_client, owner, account, contact, smtp_server):
    owner.first_name, owner.last_name = "Ana", "García"
    owner.save()
    data = compose_data(account)

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    assert parse(received.data)["From"].addresses[0].display_name == "Ana García"
