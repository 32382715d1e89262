"""Sends that fail: each shows its own error, keeps the draft and records nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from emailsync import errors
from emailsync.models import DraftAttachment, MailAccount, Message, UserActivity
from tests.support.proxy import Proxy
from tests.support.smtpserver import SmtpServer

from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, compose_url, contact, dropping_smtp, owner_client, parse, received_with_subject,
    rejecting_smtp,
)

pytestmark = pytest.mark.django_db


def assert_nothing_sent(owner, smtp_server, subject):
    assert received_with_subject(smtp_server, subject) == []
    assert Message.objects.count() == 0
    assert not UserActivity.objects.filter(user=owner, last_sent_at__isnull=False).exists()


def page_text(response):
    return response.content.decode()


def test_rejected_recipient_names_address(owner_client, owner, account, contact, smtp_server, rejecting_smtp):
    rejecting_smtp.add("nadie@acme.example")
    data = compose_data(account, to="lucia@acme.example, nadie@acme.example")

    response = owner_client.post(compose_url(contact), data)

    assert response.status_code == 200
    assert response.context["error_code"] == errors.RECIPIENT_REJECTED
    assert "rejected the recipient nadie@acme.example" in page_text(response)
    assert_nothing_sent(owner, smtp_server, data["subject"])


def test_rejected_recipient_keeps_draft(owner_client, account, contact, rejecting_smtp):
    rejecting_smtp.add("nadie@acme.example")
    data = compose_data(account, to="nadie@acme.example", cc="jefa@acme.example", body="Texto que no se pierde")

    response = owner_client.post(compose_url(contact), data)

    form = response.context["form"]
    assert form["to"].value() == "nadie@acme.example"
    assert form["cc"].value() == "jefa@acme.example"
    assert form["subject"].value() == data["subject"]
    assert form["body"].value() == "Texto que no se pierde"


def test_wrong_smtp_password_shows_auth_error(owner_client, owner, account, contact, smtp_server):
    smtp_server.users[account.incoming_login] = "changed-elsewhere"
    data = compose_data(account)

    response = owner_client.post(compose_url(contact), data)

    assert response.context["error_code"] == errors.AUTH_FAILED
    assert "username or password. If you changed your password" in page_text(response)
    assert response.context["needs_settings"] is True
    assert_nothing_sent(owner, smtp_server, data["subject"])


def test_server_closing_at_data_shows_cut_connection(owner_client, owner, account, contact, dropping_smtp):
    data = compose_data(account)

    response = owner_client.post(compose_url(contact), data)

    assert response.context["error_code"] == errors.CONNECTION_LOST
    assert "was cut before the server confirmed the message" in page_text(response)
    assert_nothing_sent(owner, dropping_smtp, data["subject"])


def test_connection_cut_in_session_shows_cut_connection(owner_client, owner, account, contact, smtp_server):
    proxy = Proxy(smtp_server.host, smtp_server.port).start()
    # The greeting is about 40 bytes: the cut comes in the middle of it.
    proxy.cut_after_server_bytes = 10
    MailAccount.objects.filter(pk=account.pk).update(smtp_host=proxy.host, smtp_port=proxy.port)
    data = compose_data(account)
    try:
        response = owner_client.post(compose_url(contact), data)
    finally:
        proxy.stop()

    assert response.context["error_code"] == errors.CONNECTION_LOST
    assert_nothing_sent(owner, smtp_server, data["subject"])


@pytest.fixture
def small_smtp(dovecot):
    """An SMTP server that announces SIZE 2000 (RFC 1870)."""
    server = SmtpServer(dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem", data_size_limit=2000)
    server.start()
    yield server
    server.stop()


def use_server(account, server):
    server.users[account.incoming_login] = account.get_incoming_password()
    MailAccount.objects.filter(pk=account.pk).update(smtp_host=server.host, smtp_port=server.port)


def test_over_size_limit_shows_limit(owner_client, owner, account, contact, small_smtp):
    use_server(account, small_smtp)
    data = compose_data(account, body="x" * 5000)

    response = owner_client.post(compose_url(contact), data)

    assert response.context["error_code"] == errors.MESSAGE_TOO_LARGE
    assert "larger than the outgoing server accepts (2.0\xa0KB)" in page_text(response)
    assert_nothing_sent(owner, small_smtp, data["subject"])


def test_attachments_over_setting_limit_rejected(owner_client, owner, account, contact, smtp_server, settings):
    settings.EMAILSYNC_MAX_ATTACHMENTS_BYTES = 1000
    upload = SimpleUploadedFile("grande.bin", b"x" * 1500)
    data = compose_data(account, attachments=[upload])

    response = owner_client.post(compose_url(contact), data)

    assert "add up to 1.5\xa0KB, more than the 1000\xa0bytes allowed" in page_text(response)
    assert DraftAttachment.objects.count() == 0
    assert_nothing_sent(owner, smtp_server, data["subject"])


def test_failed_send_keeps_attachment_for_next_try(owner_client, account, contact, smtp_server, rejecting_smtp):
    rejecting_smtp.add("nadie@acme.example")
    upload = SimpleUploadedFile("oferta.pdf", b"%PDF oferta", content_type="application/pdf")
    data = compose_data(account, to="nadie@acme.example", attachments=[upload])
    failed = owner_client.post(compose_url(contact), data)
    [kept] = failed.context["form"]["keep_attachments"].value()

    retry = dict(data, to="lucia@acme.example", keep_attachments=[kept])
    del retry["attachments"]
    owner_client.post(compose_url(contact), retry)

    [received] = received_with_subject(smtp_server, data["subject"])
    [attachment] = parse(received.data).iter_attachments()
    assert attachment.get_filename() == "oferta.pdf"
    assert DraftAttachment.objects.count() == 0


def test_failed_send_lists_kept_attachment(owner_client, account, contact, rejecting_smtp):
    rejecting_smtp.add("nadie@acme.example")
    upload = SimpleUploadedFile("oferta.pdf", b"%PDF oferta", content_type="application/pdf")

    response = owner_client.post(compose_url(contact), compose_data(account, to="nadie@acme.example", attachments=[upload]))

    assert "oferta.pdf" in page_text(response)
    assert DraftAttachment.objects.get().filename == "oferta.pdf"


@pytest.fixture
def ascii_only_smtp(dovecot):
    """An SMTP server that does not offer SMTPUTF8 (RFC 6531)."""
    server = SmtpServer(dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem", enable_SMTPUTF8=False)
    server.start()
    yield server
    server.stop()


def test_non_ascii_local_part_needs_smtputf8(owner, account, ascii_only_smtp):
    from emailsync.outgoing import Draft
    from emailsync.sending import send_draft

    use_server(account, ascii_only_smtp)
    draft = Draft(sender=("", account.email_address), to=[("José", "josé@acme.example")], subject="Hola", body="x")

    with pytest.raises(errors.MailError) as caught:
        send_draft(owner, draft)

    assert caught.value.code == errors.SMTPUTF8_NOT_OFFERED
    assert caught.value.params["address"] == "josé@acme.example"
    assert ascii_only_smtp.messages == []
