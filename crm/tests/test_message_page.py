import html

import pytest
from django.urls import reverse

from emailsync.models import Message, RawMessage, SharingLevel, SharingMode, UserActivity

from crm.kinds import CONTACTS

from .conftest import make_record
from .helpers import make_account, make_message

pytestmark = pytest.mark.django_db

TRACKED_HTML = (
    '<p>Hola <b>Ana</b></p><img src="https://tracker.example/open.gif" alt="logo">'
    '<script>alert("pwned")</script>'
)

RAW_MULTIPART = (
    b"From: Lucia <lucia@acme.example>\r\n"
    b"To: ana@crm.example\r\n"
    b"Subject: Presupuesto\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Texto del presupuesto.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p><b>Presupuesto</b></p>\r\n"
    b"--b1--\r\n"
)


def message_url(message, **query):
    url = reverse("emailsync:message_detail", args=[message.pk])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


def frame_document(response):
    """Return the HTML document of the message iframe, unescaped from srcdoc."""
    return html.unescape(response.context["html_frame"])


@pytest.fixture
def own_message(owner):
    return make_message(
        make_account(owner), "lucia@acme.example", ["ana@crm.example"], cc=["jefa@acme.example"],
        subject="Presupuesto 2027", text_body="Texto plano del presupuesto.", html_body=TRACKED_HTML,
    )


def test_message_page_requires_login(client, own_message):
    response = client.get(message_url(own_message))

    assert response.status_code == 302


def test_message_page_shows_headers(owner_client, own_message):
    content = owner_client.get(message_url(own_message)).content.decode()

    assert "Presupuesto 2027" in content
    assert "lucia@acme.example" in content
    assert "ana@crm.example" in content
    assert "jefa@acme.example" in content


def test_message_page_shows_text_body(owner_client, own_message):
    content = owner_client.get(message_url(own_message)).content.decode()

    assert "Texto plano del presupuesto." in content


def test_message_page_private_mailbox_404(client, outsider, own_message):
    client.force_login(outsider)

    response = client.get(message_url(own_message))

    assert response.status_code == 404


def test_message_page_public_mailbox_opens(client, teammate, outsider):
    account = make_account(teammate, sharing_mode=SharingMode.PUBLIC)
    message = make_message(account, "lucia@acme.example", ["bruno@crm.example"])
    make_record(CONTACTS, outsider, email="lucia@acme.example")
    client.force_login(outsider)

    response = client.get(message_url(message))

    assert response.status_code == 200


def test_message_page_metadata_sharing_hides_body(client, teammate, owner):
    account = make_account(teammate, sharing_mode=SharingMode.PUBLIC, sharing_level=SharingLevel.METADATA)
    message = make_message(
        account, "lucia@acme.example", ["bruno@crm.example"], subject="Oferta",
        text_body="Precio confidencial", attachments=[{"filename": "precio.pdf", "content_type": "application/pdf", "size": 10}],
    )
    make_record(CONTACTS, owner, email="lucia@acme.example")
    client.force_login(owner)

    content = client.get(message_url(message)).content.decode()

    assert "Oferta" in content
    assert "Precio confidencial" not in content
    assert "precio.pdf" not in content


def test_message_page_sends_strict_csp(owner_client, own_message):
    policy = owner_client.get(message_url(own_message))["Content-Security-Policy"]

    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "img-src 'self' data:;" in policy


def test_message_page_escapes_html_into_srcdoc(owner_client, own_message):
    content = owner_client.get(message_url(own_message)).content.decode()

    assert 'srcdoc="&lt;!doctype html&gt;' in content
    assert "<p>Hola <b>Ana</b></p>" not in content


def test_message_page_frame_is_sandboxed_without_scripts(owner_client, own_message):
    content = owner_client.get(message_url(own_message)).content.decode()

    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in content
    assert "allow-scripts" not in content


def test_message_page_frame_drops_scripts(owner_client, own_message):
    document = frame_document(owner_client.get(message_url(own_message)))

    assert "<p>Hola <b>Ana</b></p>" in document
    assert "pwned" not in document


def test_message_page_blocks_remote_images_by_default(owner_client, own_message):
    response = owner_client.get(message_url(own_message))

    assert "tracker.example" not in frame_document(response)
    assert 'href="?images=1"' in response.content.decode()


def test_message_page_shows_images_when_asked(owner_client, own_message):
    response = owner_client.get(message_url(own_message, images=1))

    assert 'src="https://tracker.example/open.gif"' in frame_document(response)
    assert "img-src 'self' data: https: http:" in response["Content-Security-Policy"]


def test_message_page_lists_attachments(owner_client, owner):
    attachments = [{"filename": "oferta.pdf", "content_type": "application/pdf", "size": 2048}]
    message = make_message(make_account(owner), "lucia@acme.example", ["ana@crm.example"], attachments=attachments)

    content = owner_client.get(message_url(message)).content.decode()

    assert "oferta.pdf" in content
    assert "application/pdf" in content


def test_message_page_describes_parse_problems(owner_client, owner):
    message = make_message(
        make_account(owner), "lucia@acme.example", ["ana@crm.example"],
        parse_problems=["mislabelled-charset", "duplicate-date", "StartBoundaryNotFoundDefect"],
    )

    response = owner_client.get(message_url(message), headers={"accept-language": "en"})

    content = response.content.decode()
    assert "Some text does not match the character set it declares" in content
    assert "The message has more than one Date header." in content
    assert "The MIME structure has a defect (StartBoundaryNotFoundDefect)." in content


def test_message_page_parses_body_on_first_view(owner_client, owner):
    message = make_message(make_account(owner), "lucia@acme.example", ["ana@crm.example"], text_body="")
    Message.objects.filter(pk=message.pk).update(is_body_parsed=False, snippet="")
    RawMessage.objects.create(message=message, data=RAW_MULTIPART)

    response = owner_client.get(message_url(message))

    message.refresh_from_db()
    assert message.is_body_parsed
    assert "Texto del presupuesto." in response.content.decode()
    assert "<b>Presupuesto</b>" in frame_document(response)


def test_message_page_records_interaction(owner_client, owner, own_message):
    owner_client.get(message_url(own_message))

    assert UserActivity.objects.get(user=owner).last_interaction_at is not None


def test_message_page_sent_message_is_no_interaction(owner_client, owner):
    message = make_message(
        make_account(owner), "ana@crm.example", ["lucia@acme.example"], direction=Message.Direction.SENT,
    )

    owner_client.get(message_url(message))

    assert not UserActivity.objects.filter(user=owner).exists()


def test_message_page_back_link_to_own_site(owner_client, own_message):
    response = owner_client.get(message_url(own_message, next="/leads/1/"))

    assert response.context["back_url"] == "/leads/1/"


def test_message_page_back_link_rejects_other_site(owner_client, own_message):
    response = owner_client.get(message_url(own_message, next="https://phish.example/"))

    assert response.context["back_url"] is None
