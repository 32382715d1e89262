"""Building the bytes of an outgoing message with the standard email package."""

import email
from email import policy

import pytest

from emailsync.outgoing import (
    MAX_REFERENCES, Draft, OutgoingAttachment, build_email, needs_smtputf8, new_message_id, text_to_html,
)

MESSAGE_ID = "<abc.123@acme.example>"


def draft(**fields):
    values = dict(
        sender=("Ana García", "ana@example.test"), to=[("Lucía Moreno", "lucia@acme.example")],
        subject="Presupuesto", body="Hola Lucía.",
    )
    values.update(fields)
    return Draft(**values)


def parse(data):
    return email.message_from_bytes(data, policy=policy.default)


def test_build_uses_crlf_line_ends():
    data = build_email(draft(body="uno\ndos\r\ntres\rcuatro"), MESSAGE_ID)

    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")


def test_build_has_text_and_html_alternative():
    message = parse(build_email(draft(), MESSAGE_ID))

    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().splitlines() == ["Hola Lucía."]
    assert "<p>Hola Lucía.</p>" in message.get_body(("html",)).get_content()


def test_build_empty_body_has_no_html_part():
    message = parse(build_email(draft(body="  \n"), MESSAGE_ID))

    assert message.get_content_type() == "text/plain"


def test_build_keeps_bcc_out_of_headers():
    data = build_email(draft(bcc=[("Oculto", "oculto@acme.example")]), MESSAGE_ID)

    assert b"oculto" not in data.lower()
    assert parse(data)["Bcc"] is None


def test_build_sets_reply_headers():
    message = parse(build_email(draft(in_reply_to="b@acme.example", references=["a@acme.example", "b@acme.example"]), MESSAGE_ID))

    assert message["In-Reply-To"] == "<b@acme.example>"
    assert message["References"] == "<a@acme.example> <b@acme.example>"


def test_build_trims_long_references():
    references = [f"r{index}@acme.example" for index in range(50)]

    message = parse(build_email(draft(in_reply_to="r49@acme.example", references=references), MESSAGE_ID))

    ids = message["References"].split()
    assert len(ids) == MAX_REFERENCES
    assert ids[0] == "<r0@acme.example>"
    assert ids[-1] == "<r49@acme.example>"


def test_build_writes_idn_domain_as_punycode():
    message = parse(build_email(draft(to=[("", "lucia@españa.example")]), MESSAGE_ID))

    assert message["To"].addresses[0].domain == "xn--espaa-rta.example"


def test_build_attachment_name_uses_rfc2231():
    attachment = OutgoingAttachment("oferta año 見積.pdf", "application/pdf", b"%PDF")

    data = build_email(draft(attachments=[attachment]), MESSAGE_ID)

    assert b"filename*=utf-8''" in data
    [part] = parse(data).iter_attachments()
    assert part.get_filename() == "oferta año 見積.pdf"
    assert part.get_content_type() == "application/pdf"


def test_build_long_subject_folds_within_limits():
    subject = "Presupuesto detallado con acentos áéíóú " * 10

    data = build_email(draft(subject=subject.strip()), MESSAGE_ID)

    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in header_block.split(b"\r\n")) <= 78
    assert parse(data)["Subject"] == subject.strip()


def test_build_with_smtputf8_writes_utf8_headers():
    data = build_email(draft(to=[("José", "josé@acme.example")]), MESSAGE_ID, smtputf8=True)

    assert "To: José <josé@acme.example>".encode() in data


@pytest.mark.parametrize(("address", "expected"), [
    ("ana@acme.example", False), ("ana@españa.example", False), ("josé@acme.example", True),
])
def test_needs_smtputf8(address, expected):
    assert needs_smtputf8(address) is expected


def test_new_message_id_uses_sender_domain_and_token():
    message_id = new_message_id("ana@Españа.example".replace("а", "a"), token="0123abcd")

    assert message_id.endswith(".0123abcd@xn--espaa-rta.example>")


def test_html_escapes_markup():
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text_to_html("<script>alert(1)</script>")


def test_html_links_only_web_addresses():
    result = text_to_html("Ver https://acme.example/a?b=1&c=2 o javascript:alert(1)")

    assert '<a href="https://acme.example/a?b=1&amp;c=2">' in result
    assert "javascript:alert(1)" in result
    assert 'href="javascript' not in result


def test_html_paragraphs_and_line_breaks():
    result = text_to_html("Hola,\nLucía\n\n\nAdiós")

    assert "<p>Hola,<br>\nLucía</p>\n<p>Adiós</p>" in result
