"""Attachment downloads and inline images, with names from the real-mail corpus."""

from urllib.parse import unquote

import pytest
from django.urls import reverse

from crm.tests.helpers import make_account
from emailsync.attachments import content_disposition, download_content_type, safe_filename
from emailsync.parsing import find_part, load_message, part_bytes
from emailsync.views.messages import inline_image_token
from tests.support.corpus import corpus_dir, corpus_files

from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

# (corpus file, part, expected name): RFC 2231 continuations and charsets,
# encoded words in Content-Disposition, KOI8-R names, raw 8-bit bytes.
CORPUS_NAMES = [
    ("djmailbox__message_with_koi8r_filename_attachments.eml", "2", "Пакет предложений HSE Career Fair 8 апреля 2016.pdf"),
    ("djmailbox__message_with_koi8r_filename_attachments.eml", "3", "Ведомости.pdf"),
    ("mime4j__russian-headers.eml", "1", "Список.doc"),
    ("imaptools__japanese_attachment_long_name.eml", "1", "かきくけこ" * 5 + ".txt"),
    ("nodemailer__nodemailer.eml", "1.3.3", "nyan cat ✔.gif"),
    ("zbateson__m3004.eml", "2", "HasenundFrösche.txt"),
    ("mime4j__mimetools-attachment-filename-encoding-UTF8.eml", "2", "attachment.äöü"),
    ("spamassassin__nice-unicode1.eml", "1", "документы для отдела кадров.pdf"),
    ("mikelmail__japanese_attachment.eml", "2", "てすと.txt"),
    ("mikelmail__attachment_nonascii_filename.eml", "2", "ciële.txt"),
    ("zbateson__m2012.eml", "4", "HasenundFrösche.txt"),
    ("djmailbox__message_with_not_decoded_attachment_header.eml", "2", "ð̞oβ̞le.png"),
    ("flanker__russian-attachment-yahoo.eml", "2", "Картинка с очень, очень длинным предлинным именем преименем таким чт\ufffd"),
]


def downloaded_name(response):
    """Decode Content-Disposition as RFC 6266 says a browser does: filename* first, else filename."""
    parameters = {}
    for item in response["Content-Disposition"].split(";")[1:]:
        key, _equals, value = item.strip().partition("=")
        parameters[key.lower()] = value
    if "filename*" in parameters:
        charset, _language, encoded = parameters["filename*"].split("'", 2)
        return unquote(encoded, encoding=charset)
    return parameters["filename"].strip('"')


@pytest.fixture
def account(owner):
    return make_account(owner)


@pytest.mark.parametrize(("name", "part", "expected"), CORPUS_NAMES, ids=[f"{n}-{p}" for n, p, _e in CORPUS_NAMES])
def test_attachment_corpus_name_downloads(client, owner, account, name, part, expected):
    corpus_files()
    raw = (corpus_dir() / name).read_bytes()
    message = store_raw(account, raw)
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_attachment", args=[message.pk, part]))

    tree, _problems = load_message(raw)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert downloaded_name(response) == expected
    assert response.content == part_bytes(find_part(tree, part), set())


def test_attachment_response_headers(client, owner, account):
    message = store_raw(account, raw_with_attachment("Hola", "lucia@acme.example", "owner@crm.example", "x"))
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_attachment", args=[message.pk, "2"]))

    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Content-Disposition"] == 'attachment; filename="oferta.pdf"'


def test_attachment_html_downloads_as_octet_stream(client, owner, account):
    raw = raw_with_attachment("Hola", "lucia@acme.example", "owner@crm.example", "x", filename="page.html",
                              data=b"<script>alert(1)</script>")
    raw = raw.replace(b"application/pdf", b"text/html")
    message = store_raw(account, raw)
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_attachment", args=[message.pk, "2"]))

    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "etc_passwd"),
    ('a"b\\c.txt', "a_b_c.txt"),
    ("informe\r\nSet-Cookie: x.pdf", "informe_Set-Cookie_ x.pdf"),
    ("", "attachment-1-2.pdf"),
    ("x" * 300 + ".pdf", "x" * 176 + ".pdf"),
])
def test_safe_filename_cases(name, expected):
    assert safe_filename(name, "1.2", "application/pdf") == expected


@pytest.mark.parametrize(("name", "expected"), [
    ("oferta.pdf", 'attachment; filename="oferta.pdf"'),
    ("Año ñ.pdf", "attachment; filename=\"Ano n.pdf\"; filename*=UTF-8''A%C3%B1o%20%C3%B1.pdf"),
    ("Ведомости.pdf", "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%D0%92%D0%B5%D0%B4%D0%BE%D0%BC%D0%BE%D1%81%D1%82%D0%B8.pdf"),
])
def test_content_disposition_cases(name, expected):
    assert content_disposition("attachment", name) == expected


@pytest.mark.parametrize(("declared", "sent"), [
    ("application/pdf", "application/pdf"),
    ("text/html", "application/octet-stream"),
    ("image/svg+xml", "application/octet-stream"),
    ("text/plain; x", "application/octet-stream"),
    ("", "application/octet-stream"),
])
def test_download_content_type_cases(declared, sent):
    assert download_content_type(declared) == sent


@pytest.fixture
def inline_message(account):
    corpus_files()
    return store_raw(account, (corpus_dir() / "nodemailer__nodemailer.eml").read_bytes())


def test_inline_image_frame_uses_part_url(client, owner, inline_message):
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_detail", args=[inline_message.pk]))

    path = reverse("emailsync:message_inline_image", args=[inline_message.pk, "1.3.2"])
    assert f"http://testserver{path}?token=" in response.context["html_frame"]


def test_inline_image_token_serves_without_session(client, owner, inline_message):
    token = inline_image_token(owner, inline_message, "1.3.2")
    url = reverse("emailsync:message_inline_image", args=[inline_message.pk, "1.3.2"])

    response = client.get(url, {"token": token})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_inline_image_token_for_other_part_404(client, owner, inline_message):
    token = inline_image_token(owner, inline_message, "1.3.2")
    url = reverse("emailsync:message_inline_image", args=[inline_message.pk, "1.3.3"])

    assert client.get(url, {"token": token}).status_code == 404


def test_inline_image_token_of_unshared_user_404(client, teammate, inline_message):
    token = inline_image_token(teammate, inline_message, "1.3.2")
    url = reverse("emailsync:message_inline_image", args=[inline_message.pk, "1.3.2"])

    assert client.get(url, {"token": token}).status_code == 404


def test_inline_image_forged_token_404(client, inline_message):
    url = reverse("emailsync:message_inline_image", args=[inline_message.pk, "1.3.2"])

    assert client.get(url, {"token": "W1sxLDIsIjEuMy4yIl1d:forged"}).status_code == 404


def test_inline_image_non_image_part_404(client, owner, inline_message):
    client.force_login(owner)
    url = reverse("emailsync:message_inline_image", args=[inline_message.pk, "2"])

    assert client.get(url).status_code == 404


def test_inline_images_not_listed_as_attachments(client, owner, inline_message):
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_detail", args=[inline_message.pk]))

    parts = [item["part"] for item in response.context["attachment_list"]]
    assert parts == ["1.2", "2"]
