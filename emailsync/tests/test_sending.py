"""Sending from a record page through a real SMTP server, with a copy in Dovecot."""

import datetime
import logging

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from emailsync.models import Message, MessageLocation, Participant, RawMessage, UserActivity
from emailsync.sync import sync_account

from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, compose_url, contact, give_record_of_client, lead, owner_client, parse,
    received_with_subject, share_publicly,
)

pytestmark = pytest.mark.django_db

SENT_AT = datetime.datetime(2026, 11, 20, 10, 30, tzinfo=datetime.timezone.utc)


def send(client, record, account, **fields):
    data = compose_data(account, **fields)
    response = client.post(compose_url(record), data)
    return response, data


def test_send_from_contact_reaches_server(owner_client, account, contact, smtp_server):
    response, data = send(owner_client, contact, account, cc="jefa@acme.example")

    assert response.status_code == 302
    assert response["Location"] == contact.get_absolute_url()
    [received] = received_with_subject(smtp_server, data["subject"])
    assert received.mail_from == account.email_address
    assert sorted(received.rcpt_tos) == ["jefa@acme.example", "lucia@acme.example"]


def test_send_stores_exact_bytes_as_crm_message(owner_client, account, contact, smtp_server):
    _response, data = send(owner_client, contact, account)

    [received] = received_with_subject(smtp_server, data["subject"])
    message = Message.objects.get(account=account)
    assert message.origin == Message.Origin.CRM
    assert message.direction == Message.Direction.SENT
    assert bytes(RawMessage.objects.get(message=message).data) == received.data
    assert message.subject == data["subject"]


def test_send_lists_message_on_contact_and_cc_lead(owner_client, account, contact, lead):
    _response, data = send(owner_client, contact, account, cc="Jefa <jefa@acme.example>")

    message = Message.objects.get(account=account)
    for record in (contact, lead):
        page = owner_client.get(record.get_absolute_url())
        assert [row.message for row in page.context["email_page"].object_list] == [message], record
        assert data["subject"] in page.content.decode()


def test_send_records_bcc_participant_not_header(owner_client, account, contact, smtp_server):
    _response, data = send(owner_client, contact, account, bcc="Jefe Oculto <oculto@acme.example>")

    [received] = received_with_subject(smtp_server, data["subject"])
    assert "oculto@acme.example" in received.rcpt_tos
    assert b"oculto@acme.example" not in received.data
    assert Participant.objects.filter(role=Participant.Role.BCC, address="oculto@acme.example").count() == 1


def test_send_moves_last_sent_time(owner_client, owner, account, contact):
    UserActivity.objects.create(user=owner, last_sent_at=SENT_AT - datetime.timedelta(days=100))

    with time_machine.travel(SENT_AT, tick=False):
        send(owner_client, contact, account)

    assert UserActivity.objects.get(user=owner).last_sent_at == SENT_AT


def test_send_logs_ids_without_addresses(owner_client, account, contact, caplog):
    caplog.set_level(logging.INFO, logger="emailsync.sending")

    _response, data = send(owner_client, contact, account)

    message = Message.objects.get(account=account)
    lines = [record.getMessage() for record in caplog.records if record.name == "emailsync.sending"]
    assert len(lines) == 1
    assert f"account={account.pk} message={message.pk}" in lines[0]
    assert "acme.example" not in lines[0]
    assert data["subject"] not in lines[0]


def test_send_twice_same_draft_sends_once(owner_client, account, contact, smtp_server):
    data = compose_data(account)
    owner_client.post(compose_url(contact), data)

    response = owner_client.post(compose_url(contact), data, follow=True)

    assert len(received_with_subject(smtp_server, data["subject"])) == 1
    assert Message.objects.filter(account=account).count() == 1
    assert "had already been sent" in response.content.decode()


def test_send_attachment_arrives_with_name(owner_client, account, contact, smtp_server):
    upload = SimpleUploadedFile("presupuesto año 2027.pdf", b"%PDF-1.4 fake", content_type="application/pdf")
    data = compose_data(account, attachments=[upload])

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    [attachment] = parse(received.data).iter_attachments()
    assert attachment.get_filename() == "presupuesto año 2027.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"
    assert Message.objects.get(account=account).has_attachments


# --- Store sent messages on the server -------------------------------------


@pytest.fixture
def storing_account(owner, mailbox_user, connect_account):
    return connect_account(owner, *mailbox_user, store_sent_on_server=True)


def test_store_sent_appends_same_bytes_to_sent(owner_client, storing_account, contact, dovecot, mailbox_user):
    send(owner_client, contact, storing_account)

    raw = bytes(RawMessage.objects.get(message__account=storing_account).data)
    assert list(dovecot.server_messages(mailbox_user[0], "Sent").values()) == [raw]


def test_store_sent_copy_is_seen(owner_client, storing_account, contact, dovecot, mailbox_user):
    send(owner_client, contact, storing_account)

    with dovecot.client(mailbox_user[0]) as client:
        client.select_folder("Sent", readonly=True)
        flags = client.get_flags(client.search(["ALL"]))
    assert [b"\\Seen" in item for item in flags.values()] == [True]


def test_store_sent_then_sync_keeps_one_message(owner_client, storing_account, contact):
    send(owner_client, contact, storing_account)

    report = sync_account(storing_account.pk)

    assert report.error is None
    message = Message.objects.get(account=storing_account)
    assert message.origin == Message.Origin.CRM
    assert MessageLocation.objects.filter(message=message, folder__name="Sent").count() == 1


def test_server_copy_linked_by_message_id(owner_client, account, contact, dovecot, mailbox_user):
    send(owner_client, contact, account)
    sent = bytes(RawMessage.objects.get(message__account=account).data)
    # Some servers file their own copy in Sent, with a header of their own.
    dovecot.append(mailbox_user[0], "Sent", [b"X-Filed-By: test-server\r\n" + sent])

    sync_account(account.pk)

    message = Message.objects.get(account=account)
    assert message.origin == Message.Origin.CRM
    assert MessageLocation.objects.filter(message=message, folder__name="Sent").count() == 1


def test_store_sent_failure_keeps_message_sent(owner_client, storing_account, contact, smtp_server):
    # Port 1 on loopback refuses connections: the IMAP append fails.
    type(storing_account).objects.filter(pk=storing_account.pk).update(incoming_port=1)
    data = compose_data(storing_account)

    response = owner_client.post(compose_url(contact), data, follow=True)

    message = Message.objects.get(account=storing_account)
    assert message.server_copy_error == "connection_refused"
    assert len(received_with_subject(smtp_server, data["subject"])) == 1
    assert "its copy could not be saved" in response.content.decode()


def test_retry_server_copy_saves_it(owner_client, storing_account, contact, dovecot, mailbox_user):
    port = storing_account.incoming_port
    type(storing_account).objects.filter(pk=storing_account.pk).update(incoming_port=1)
    send(owner_client, contact, storing_account)
    type(storing_account).objects.filter(pk=storing_account.pk).update(incoming_port=port)
    message = Message.objects.get(account=storing_account)

    response = owner_client.post(reverse("emailsync:retry_server_copy", args=[message.pk]))

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.server_copy_error == ""
    assert list(dovecot.server_messages(mailbox_user[0], "Sent").values()) == [bytes(message.raw.data)]


def test_message_page_offers_copy_retry(owner_client, storing_account, contact):
    type(storing_account).objects.filter(pk=storing_account.pk).update(incoming_port=1)
    send(owner_client, contact, storing_account)
    message = Message.objects.get(account=storing_account)

    page = owner_client.get(reverse("emailsync:message_detail", args=[message.pk]))

    assert reverse("emailsync:retry_server_copy", args=[message.pk]) in page.content.decode()


def test_message_page_shows_bcc_to_owner_only(owner_client, client, account, contact, teammate):
    send(owner_client, contact, account, bcc="Jefe Oculto <oculto@acme.example>")
    share_publicly(account)
    give_record_of_client(teammate)
    url = reverse("emailsync:message_detail", args=[Message.objects.get(account=account).pk])

    owner_page = owner_client.get(url)
    client.force_login(teammate)
    teammate_page = client.get(url)

    assert owner_page.context["bcc_display"] == "Jefe Oculto <oculto@acme.example>"
    assert teammate_page.status_code == 200
    assert "oculto@acme.example" not in teammate_page.content.decode()


def test_resubmitted_form_with_attachment_sends_once(owner_client, account, contact, smtp_server):
    data = compose_data(account, attachments=[SimpleUploadedFile("a.txt", b"hola")])
    owner_client.post(compose_url(contact), data)
    data["attachments"] = [SimpleUploadedFile("a.txt", b"hola")]

    response = owner_client.post(compose_url(contact), data)

    assert response.status_code == 302
    assert len(received_with_subject(smtp_server, data["subject"])) == 1


def test_oauth_mailbox_sends_and_stores_copy(owner_client, owner, oauth_server, oauth_dovecot, oauth_smtp_server,
                                             oauth_settings, contact):
    from .conftest import add_oauth_user, connect_oauth_account

    oauth_account = connect_oauth_account(owner, oauth_server, add_oauth_user(oauth_dovecot), store_sent_on_server=True)
    data = compose_data(oauth_account)

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(oauth_smtp_server, data["subject"])
    assert oauth_smtp_server.recorder.oauth_logins[-1] == oauth_account.email_address
    sent_copy = list(oauth_dovecot.server_messages(oauth_account.email_address, "Sent").values())
    assert sent_copy == [received.data]
