"""Parsing of small, hostile inputs taken from public bug reports."""

import pytest

from emailsync.models import Message
from emailsync.parsing import clean_text, normalize_message_id, parse_body, parse_headers
from emailsync.sync import sync_account
from tests.support.mail import make_raw


def test_message_id_brackets_normalise_alike():
    with_brackets = parse_headers(b"Message-ID: <abc.123@example.com>\r\n\r\nx")
    without = parse_headers(b"Message-ID: abc.123@example.com\r\n\r\nx")

    assert with_brackets.message_id == "abc.123@example.com"
    assert without.message_id == "abc.123@example.com"


def test_message_id_duplicate_header_takes_first():
    raw = b"Message-ID: <one@example.com>\r\nMessage-ID: one@example.com\r\n\r\nbody"

    headers = parse_headers(raw)

    assert headers.message_id == "one@example.com"
    assert "duplicate-message-id" in headers.problems


def test_message_id_folded_normalises():
    assert normalize_message_id("<abc@\r\n example.com>") == "abc@example.com"


def test_subject_emoji_split_across_encoded_words():
    # U+1F600 is F0 9F 98 80 in UTF-8; the first word carries three bytes,
    # the second the last one.
    raw = b"Subject: =?UTF-8?B?8J+Y?= =?UTF-8?B?gA==?= ok\r\n\r\nbody"

    assert parse_headers(raw).subject == "\U0001F600 ok"


def test_subject_character_split_across_words_q_encoding():
    raw = b"Subject: =?utf-8?q?Se=C3?= =?utf-8?q?=B1or?=\r\n\r\nbody"

    assert parse_headers(raw).subject == "Señor"


def test_from_address_as_display_name_matches():
    headers = parse_headers(b"From: x@y.com <x@y.com>\r\nTo: a@b.com\r\n\r\nbody")

    assert [item.address for item in headers.sender] == ["x@y.com"]


def test_latin1_header_bytes_decode():
    raw = "Subject: Reunión mañana\r\nFrom: José <jose@example.com>\r\n\r\nbody".encode("latin-1")

    headers = parse_headers(raw)

    assert headers.subject == "Reunión mañana"
    assert headers.sender[0].display_name == "José"
    assert headers.sender[0].address == "jose@example.com"


def test_address_domain_idna_and_case():
    headers = parse_headers("To: Ana <Ana@Bücher.Example>\r\n\r\nx".encode("utf-8"))

    assert headers.to[0].address == "ana@xn--bcher-kva.example"


def test_body_nul_and_lone_surrogate_are_cleaned():
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nbefore\x00after \xed\xa0\x80 end"

    body = parse_body(raw)

    assert "\x00" not in body.text
    assert body.text.startswith("beforeafter")
    assert clean_text("a\ud800b") == "a\ufffdb"


def test_headers_without_separator_are_still_read():
    headers = parse_headers(b"Subject: only headers\r\nFrom: a@b.com")

    assert headers.subject == "only headers"


def test_rfc2231_attachment_name():
    raw = (
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--XX\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''Presupuesto%20a%C3%B1o.pdf\r\n\r\n"
        b"JVBERi0=\r\n--XX--\r\n"
    )

    body = parse_body(raw)

    assert [item.filename for item in body.attachments] == ["Presupuesto año.pdf"]
    assert body.text.strip() == "hi"


@pytest.mark.django_db
def test_sync_stores_nul_and_surrogate_message(owner, mailbox_user, connect_account, dovecot):
    login, password = mailbox_user
    account = connect_account(owner, login, password)
    raw = make_raw(subject="binary junk", body="start\x00middle") + b"\xed\xa0\x80 tail\r\n"
    dovecot.append(login, "INBOX", [raw])

    report = sync_account(account.pk)

    message = Message.objects.get(account=account)
    from emailsync.parsing import ensure_body_parsed

    ensure_body_parsed(message)
    message.refresh_from_db()
    assert report.failed == 0
    assert "middle" in message.text_body
    assert "\x00" not in message.text_body
