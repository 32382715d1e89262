"""Links in displayed messages go through a signed redirect that records the click."""

import datetime
import html
import json
import re

import pytest
import time_machine
from django.core import signing
from django.urls import reverse

from emailsync.html import rewrite_links, sanitize_email_html
from emailsync.links import sign_link
from emailsync.models import Message, SharingLevel, UserActivity
from emailsync.sync import sync_account

from .sending_support import account, give_record_of_client, owner_client, share_publicly  # noqa: F401

pytestmark = pytest.mark.django_db

OPENED_AT = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.timezone.utc)
CLICKED_AT = datetime.datetime(2026, 11, 20, 9, 5, tzinfo=datetime.timezone.utc)

LINKS_HTML = (
    '<p><a href="https://acme.example/oferta?a=1&amp;b=2">Oferta</a> '
    '<a href="javascript:alert(1)">Pulse</a> '
    '<a href="mailto:lucia@acme.example">Escribir</a></p>'
)


def rewrite(markup):
    return rewrite_links(markup, lambda url: "https://crm.example/r?to=" + url)


# --- rewrite_links -------------------------------------------------------------


def test_rewrite_points_https_link_at_redirect():
    result = rewrite('<a href="https://acme.example/x">X</a>')

    assert result == '<a href="https://crm.example/r?to=https://acme.example/x" target="_blank" rel="noopener noreferrer">X</a>'


def test_rewrite_points_http_link_at_redirect():
    assert 'href="https://crm.example/r?to=http://acme.example/x"' in rewrite('<a href="http://acme.example/x">X</a>')


@pytest.mark.parametrize("target", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "mailto:lucia@acme.example",
    "data:text/html,hola", "/leads/1/delete/", "ftp://acme.example/file", "vbscript:msgbox(1)",
])
def test_rewrite_unlinks_other_targets(target):
    result = rewrite(f'<a href="{target}">Pulse</a>')

    assert "href" not in result
    assert "Pulse" in result


def test_rewrite_keeps_rest_of_sanitised_html():
    sanitised = sanitize_email_html('<p style="color: red">Hola <b>Ana</b></p><table><tr><td>1</td></tr></table>').html

    assert rewrite(sanitised) == sanitised


def test_rewrite_after_sanitiser_drops_javascript_link():
    sanitised = sanitize_email_html(LINKS_HTML).html

    result = rewrite(sanitised)

    assert "javascript" not in result.lower()
    assert result.count("href=") == 1


# --- The redirect view ----------------------------------------------------------


@pytest.fixture
def incoming(account, dovecot, mailbox_user):
    """An HTML message synced from Dovecot's INBOX."""
    raw = (
        "From: Lucía <lucia@acme.example>\r\n"
        f"To: {account.email_address}\r\n"
        "Subject: Oferta\r\n"
        "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
        "Message-ID: <oferta@acme.example>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        f"{LINKS_HTML}\r\n"
    ).encode("utf-8")
    dovecot.append(mailbox_user[0], "INBOX", [raw])
    sync_account(account.pk)
    return Message.objects.get(account=account)


def message_url(message):
    return reverse("emailsync:message_detail", args=[message.pk])


def frame_links(response):
    """Return the href values of the message frame's links."""
    frame = html.unescape(response.context["html_frame"])
    return [html.unescape(value) for value in re.findall(r'href="([^"]*)"', frame)]


def test_opening_incoming_message_moves_interaction(owner_client, owner, incoming):
    with time_machine.travel(OPENED_AT, tick=False):
        owner_client.get(message_url(incoming))

    assert UserActivity.objects.get(user=owner).last_interaction_at == OPENED_AT


def test_message_page_links_through_redirect(owner_client, incoming):
    links = frame_links(owner_client.get(message_url(incoming)))

    prefix = "http://testserver" + reverse("emailsync:follow_link", args=[incoming.pk]) + "?to="
    assert len(links) == 1
    assert links[0].startswith(prefix)


def test_message_page_does_not_link_javascript(owner_client, incoming):
    frame = html.unescape(owner_client.get(message_url(incoming)).context["html_frame"])

    assert "javascript" not in frame.lower()
    assert "Pulse" in frame


def test_following_link_redirects_and_moves_interaction(owner_client, owner, incoming):
    [link] = frame_links(owner_client.get(message_url(incoming)))

    with time_machine.travel(CLICKED_AT, tick=False):
        response = owner_client.get(link)

    assert response.status_code == 302
    assert response["Location"] == "https://acme.example/oferta?a=1&b=2"
    assert response["Referrer-Policy"] == "no-referrer"
    assert UserActivity.objects.get(user=owner).last_interaction_at == CLICKED_AT


def follow_url(message, token):
    return reverse("emailsync:follow_link", args=[message.pk]) + "?to=" + token


def test_follow_with_tampered_signature_is_404(owner_client, incoming):
    token = sign_link(incoming.pk, "https://acme.example/")

    assert owner_client.get(follow_url(incoming, token[:-2] + "xx")).status_code == 404


def test_follow_with_forged_target_is_404(owner_client, incoming):
    _payload, timestamp, signature = sign_link(incoming.pk, "https://acme.example/").split(":")
    evil = signing.b64_encode(json.dumps({"message": incoming.pk, "url": "https://evil.example/"}).encode()).decode()
    forged = f"{evil}:{timestamp}:{signature}"

    assert owner_client.get(follow_url(incoming, forged)).status_code == 404


def test_follow_signed_for_other_message_is_404(owner_client, account, incoming):
    token = sign_link(incoming.pk + 1000, "https://evil.example/")

    assert owner_client.get(follow_url(incoming, token)).status_code == 404


def test_follow_without_target_is_404(owner_client, incoming):
    assert owner_client.get(reverse("emailsync:follow_link", args=[incoming.pk])).status_code == 404


def test_follow_signed_javascript_target_is_404(owner_client, incoming):
    token = sign_link(incoming.pk, "javascript:alert(1)")

    assert owner_client.get(follow_url(incoming, token)).status_code == 404


def test_follow_by_stranger_is_404(client, incoming, teammate):
    client.force_login(teammate)

    response = client.get(follow_url(incoming, sign_link(incoming.pk, "https://acme.example/")))

    assert response.status_code == 404
    assert not UserActivity.objects.filter(user=teammate).exists()


def test_follow_on_metadata_share_is_404(client, account, incoming, teammate):
    share_publicly(account, SharingLevel.METADATA)
    give_record_of_client(teammate)
    client.force_login(teammate)

    message_page = client.get(message_url(incoming))
    response = client.get(follow_url(incoming, sign_link(incoming.pk, "https://acme.example/")))

    assert message_page.status_code == 200
    assert response.status_code == 404


def test_follow_on_full_share_redirects(client, account, incoming, teammate):
    share_publicly(account)
    give_record_of_client(teammate)
    client.force_login(teammate)

    response = client.get(follow_url(incoming, sign_link(incoming.pk, "https://acme.example/")))

    assert response.status_code == 302
    assert UserActivity.objects.get(user=teammate).last_interaction_at is not None


def test_follow_requires_login(client, incoming):
    response = client.get(follow_url(incoming, sign_link(incoming.pk, "https://acme.example/")))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_follow_on_sent_message_is_no_interaction(owner_client, owner, incoming):
    Message.objects.filter(pk=incoming.pk).update(direction=Message.Direction.SENT)
    UserActivity.objects.filter(user=owner).delete()

    response = owner_client.get(follow_url(incoming, sign_link(incoming.pk, "https://acme.example/")))

    assert response.status_code == 302
    assert not UserActivity.objects.filter(user=owner).exists()
