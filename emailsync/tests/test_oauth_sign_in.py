"""Connecting with "Sign in with Google / Microsoft", against the test authorization server."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from emailsync import crypto
from emailsync.models import MailAccount
from tests.support.oauth_client import authorize, follow_callback, sign_in, start_sign_in

from .conftest import add_oauth_user, point_presets_at

pytestmark = pytest.mark.django_db


def start_url(key="gmail"):
    return reverse("emailsync:connect_oauth", args=[key])


def page_text(response):
    return response.content.decode()


# --- The button ---------------------------------------------------------------------


def test_address_page_without_client_has_no_button(owner_client):
    response = owner_client.get(reverse("emailsync:connect_provider", args=["gmail"]))

    assert response.status_code == 200
    assert "data-oauth" not in page_text(response)


def test_start_without_client_is_404(owner_client):
    assert owner_client.post(start_url()).status_code == 404


@pytest.mark.parametrize(("key", "name"), [("gmail", "Google"), ("outlook", "Microsoft"), ("microsoft365", "Microsoft")])
def test_address_page_with_client_offers_sign_in_first(owner_client, oauth_settings, key, name):
    text = page_text(owner_client.get(reverse("emailsync:connect_provider", args=[key])))

    assert f"Sign in with {name}" in text
    assert text.index("data-oauth") < text.index('name="email_address"')
    assert "Or connect with a password" in text


def test_address_page_of_other_preset_has_no_button(owner_client, oauth_settings):
    text = page_text(owner_client.get(reverse("emailsync:connect_provider", args=["yahoo"])))

    assert "data-oauth" not in text


def test_only_microsoft_configured_shows_only_microsoft(owner_client, oauth_settings):
    oauth_settings.GOOGLE_OAUTH_CLIENT_SECRET = ""

    gmail = page_text(owner_client.get(reverse("emailsync:connect_provider", args=["gmail"])))
    outlook = page_text(owner_client.get(reverse("emailsync:connect_provider", args=["outlook"])))

    assert "data-oauth" not in gmail
    assert 'data-oauth="microsoft"' in outlook


def test_start_needs_post(owner_client, oauth_settings):
    assert owner_client.get(start_url()).status_code == 405


def test_start_forbidden_without_permission(client, outsider, oauth_settings):
    client.force_login(outsider)

    assert client.post(start_url()).status_code == 403


def test_start_sends_pkce_state_and_scopes(owner_client, oauth_settings):
    query = parse_qs(urlsplit(start_sign_in(owner_client, start_url())).query)

    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32
    assert query["scope"] == ["https://mail.google.com/ openid email"]
    assert query["access_type"] == ["offline"]
    assert query["redirect_uri"] == ["http://testserver/settings/email/oauth/callback/"]


def test_start_microsoft_asks_imap_smtp_and_offline_access(owner_client, oauth_settings):
    query = parse_qs(urlsplit(start_sign_in(owner_client, start_url("microsoft365"))).query)

    assert query["scope"] == [
        "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send "
        "openid email offline_access"
    ]


# --- A successful sign-in -------------------------------------------------------------


def test_sign_in_connects_mailbox(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)

    response = sign_in(owner_client, oauth_server, start_url(), address)

    assert response.redirect_chain[-1][0] == reverse("emailsync:from_addresses")
    account = MailAccount.objects.get(owner=owner)
    assert account.auth_method == MailAccount.AuthMethod.OAUTH2
    assert (account.email_address, account.incoming_login, account.provider) == (address, address, "gmail")
    assert account.incoming_password_encrypted == ""
    assert oauth_server.active_grants(address) != []


def test_sign_in_stores_tokens_encrypted(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)

    sign_in(owner_client, oauth_server, start_url(), address)

    account = MailAccount.objects.get(owner=owner)
    refresh_token = crypto.decrypt(account.oauth_refresh_token_encrypted)
    access_token = crypto.decrypt(account.oauth_access_token_encrypted)
    assert refresh_token.startswith("refresh-")
    assert access_token.startswith("access-")
    assert refresh_token not in account.oauth_refresh_token_encrypted
    assert account.oauth_access_token_expires_at is not None


def test_sign_in_reads_folders_for_wizard(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    oauth_dovecot.append(address, "Clientes", [b"Subject: x\r\n\r\nbody\r\n"])

    sign_in(owner_client, oauth_server, start_url(), address)

    names = set(MailAccount.objects.get(owner=owner).folders.values_list("name", flat=True))
    assert "Clientes" in names


def test_sign_in_microsoft_reads_address_from_id_token(owner_client, owner, oauth_settings, oauth_server,
                                                       oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)

    sign_in(owner_client, oauth_server, start_url("microsoft365"), address)

    account = MailAccount.objects.get(owner=owner)
    assert (account.email_address, account.provider) == (address, "microsoft365")


def test_sign_in_google_falls_back_to_userinfo(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    oauth_server.id_token_has_email = False
    address = add_oauth_user(oauth_dovecot)

    sign_in(owner_client, oauth_server, start_url(), address)

    assert MailAccount.objects.get(owner=owner).email_address == address


def test_sign_in_keeps_the_session_free_of_tokens(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    from django.contrib.sessions.models import Session

    address = add_oauth_user(oauth_dovecot)
    sign_in(owner_client, oauth_server, start_url(), address)

    stored = " ".join(str(session.get_decoded()) for session in Session.objects.all())
    for secret in oauth_server.state.issued:
        assert secret not in stored


# --- Failed sign-ins: a message, and nothing saved ------------------------------------------


def test_denied_consent_shows_message(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    exchanges = oauth_server.state.code_exchanges

    response = sign_in(owner_client, oauth_server, start_url(), address, decision="deny")

    assert response.redirect_chain[-1][0] == reverse("emailsync:connect_provider", args=["gmail"])
    assert "You did not allow the CRM to use your mailbox at Google" in page_text(response)
    assert MailAccount.objects.count() == 0
    assert oauth_server.state.code_exchanges == exchanges


def test_forged_state_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    forged = callback.replace("state=", "state=forged")
    exchanges = oauth_server.state.code_exchanges

    response = follow_callback(owner_client, forged)

    assert "This sign-in is not valid" in page_text(response)
    assert MailAccount.objects.count() == 0
    assert oauth_server.state.code_exchanges == exchanges


def test_missing_state_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    parts = urlsplit(callback)
    code = parse_qs(parts.query)["code"][0]

    response = owner_client.get(f"{parts.path}?code={code}", follow=True)

    assert "This sign-in is not valid" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_state_of_another_session_rejected(owner_client, teammate, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(teammate)

    response = follow_callback(other, callback)

    assert "This sign-in is not valid" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_replayed_callback_rejected(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    follow_callback(owner_client, callback)
    account = MailAccount.objects.get(owner=owner)
    exchanges = oauth_server.state.code_exchanges

    response = follow_callback(owner_client, callback)

    assert "This sign-in is not valid" in page_text(response)
    assert oauth_server.state.code_exchanges == exchanges
    assert MailAccount.objects.get(owner=owner).oauth_refresh_token_encrypted == account.oauth_refresh_token_encrypted


def test_replayed_code_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    import requests

    from .conftest import GOOGLE_CLIENT

    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    # Someone who intercepted the code tries it first; without the PKCE
    # verifier they get nothing, and the code is spent.
    stolen = requests.post(f"{oauth_server.url}/token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "client_id": GOOGLE_CLIENT[0],
        "client_secret": GOOGLE_CLIENT[1], "redirect_uri": "http://testserver/settings/email/oauth/callback/",
        "code_verifier": "x" * 64,
    })

    response = follow_callback(owner_client, callback)

    assert stolen.status_code == 400
    assert "its code had expired or was already used" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_expired_code_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    oauth_server.code_seconds = -1
    address = add_oauth_user(oauth_dovecot)

    response = sign_in(owner_client, oauth_server, start_url(), address)

    assert "its code had expired or was already used" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_expired_sign_in_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    address = add_oauth_user(oauth_dovecot)
    callback = authorize(oauth_server, start_sign_in(owner_client, start_url()), address)
    oauth_settings.EMAILSYNC_OAUTH_SIGN_IN_MINUTES = 0

    response = follow_callback(owner_client, callback)

    assert "The sign-in took too long and has expired" in page_text(response)
    assert MailAccount.objects.count() == 0


@pytest.mark.parametrize(("setup", "message"), [
    (lambda server: setattr(server, "failing_token_requests", 1), "could not be reached"),
    (lambda server: server.withheld_scopes.add("https://mail.google.com/"), "You did not allow access to your email"),
    (lambda server: setattr(server, "issue_refresh_tokens", False), "granted only short-lived access"),
])
def test_token_endpoint_problem_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot, setup, message):
    setup(oauth_server)
    address = add_oauth_user(oauth_dovecot)

    response = sign_in(owner_client, oauth_server, start_url(), address)

    assert message in page_text(response)
    assert MailAccount.objects.count() == 0


def test_wrong_client_secret_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    oauth_settings.GOOGLE_OAUTH_CLIENT_SECRET = "not-the-secret"
    address = add_oauth_user(oauth_dovecot)

    response = sign_in(owner_client, oauth_server, start_url(), address)

    assert "Google reported an error during the sign-in (invalid_client)" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_unreachable_token_endpoint_rejected(owner_client, oauth_settings, oauth_server, oauth_dovecot):
    from tests.support.dovecot import free_port

    address = add_oauth_user(oauth_dovecot)
    authorization_url = start_sign_in(owner_client, start_url())
    oauth_settings.GOOGLE_OAUTH_TOKEN_URL = f"http://127.0.0.1:{free_port()}/token"

    response = follow_callback(owner_client, authorize(oauth_server, authorization_url, address))

    assert "The sign-in service of Google could not be reached" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_failed_server_check_shows_step(owner_client, settings, oauth_settings, oauth_server, dovecot,
                                        oauth_smtp_server, oauth_dovecot):
    # The session's Dovecot offers no XOAUTH2: the token is good, the login is not.
    point_presets_at(settings, dovecot, oauth_smtp_server, keys=("gmail",))
    address = add_oauth_user(oauth_dovecot)

    response = sign_in(owner_client, oauth_server, start_url(), address)

    assert "You signed in with Google, but the check “Sign in to the incoming server” failed" in page_text(response)
    assert MailAccount.objects.count() == 0


def test_user_with_mailbox_cannot_connect_another(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot):
    first = add_oauth_user(oauth_dovecot)
    sign_in(owner_client, oauth_server, start_url(), first)

    response = owner_client.post(start_url())

    assert response.status_code == 302
    assert response["Location"] == reverse("emailsync:mailbox")
    assert MailAccount.objects.filter(owner=owner).count() == 1


# --- Configuration ------------------------------------------------------------------


@pytest.mark.parametrize(("client_id", "secret", "warnings"), [
    ("", "", []), ("id", "secret", []), ("id", "", ["GOOGLE_OAUTH_CLIENT_SECRET"]), ("", "secret", ["GOOGLE_OAUTH_CLIENT_ID"]),
])
def test_check_oauth_clients_warns_half_configured(settings, client_id, secret, warnings):
    from emailsync.checks import check_oauth_clients

    settings.GOOGLE_OAUTH_CLIENT_ID, settings.GOOGLE_OAUTH_CLIENT_SECRET = client_id, secret

    found = check_oauth_clients(None)

    assert [problem.msg.split(" ")[0] for problem in found] == warnings
    assert all(problem.id == "emailsync.W010" for problem in found)
