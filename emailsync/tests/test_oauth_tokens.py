"""Access tokens over an account's life: refresh, expiry during a sync, revoked grants."""

import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from django.core import mail
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from emailsync import crypto, errors, oauth
from emailsync.accounts import open_smtp
from emailsync.errors import MailError
from emailsync.models import MailAccount
from emailsync.sync import sync_account
from tests.support.mail import make_raw
from tests.support.oauth_client import sign_in
from tests.support.proxy import Proxy
from tests.support.smtpserver import SmtpServer

from .conftest import add_oauth_user, connect_oauth_account

pytestmark = pytest.mark.django_db


def expire_soon(account, seconds=0):
    """Make the stored access token expire in `seconds` (in the past for 0 or less)."""
    account.oauth_access_token_expires_at = timezone.now() + timedelta(seconds=seconds)
    MailAccount.objects.filter(pk=account.pk).update(oauth_access_token_expires_at=account.oauth_access_token_expires_at)


def stored(account, field_name):
    account.refresh_from_db()
    return crypto.decrypt(getattr(account, field_name))


# --- get_access_token ----------------------------------------------------------------


def test_access_token_cached_while_fresh(oauth_account, oauth_server):
    refreshes = oauth_server.state.refresh_count

    token = oauth.get_access_token(oauth_account)

    assert token == stored(oauth_account, "oauth_access_token_encrypted")
    assert oauth_server.state.refresh_count == refreshes


def test_access_token_refreshed_before_expiry(oauth_account, oauth_server):
    old = stored(oauth_account, "oauth_access_token_encrypted")
    expire_soon(oauth_account, seconds=30)  # inside the 60-second margin of the tests
    refreshes = oauth_server.state.refresh_count

    token = oauth.get_access_token(oauth_account)

    assert token != old
    assert oauth_server.state.refresh_count == refreshes + 1
    assert stored(oauth_account, "oauth_access_token_encrypted") == token
    assert oauth_account.oauth_access_token_expires_at > timezone.now() + timedelta(minutes=50)


def test_refresh_keeps_refresh_token_when_not_rotated(oauth_account):
    before = stored(oauth_account, "oauth_refresh_token_encrypted")
    expire_soon(oauth_account)

    oauth.get_access_token(oauth_account)

    assert stored(oauth_account, "oauth_refresh_token_encrypted") == before


def test_refresh_stores_rotated_refresh_token(oauth_account, oauth_server):
    oauth_server.rotate_refresh_tokens = True
    rejections = oauth_server.state.refresh_rejections
    before = stored(oauth_account, "oauth_refresh_token_encrypted")
    expire_soon(oauth_account)

    oauth.get_access_token(oauth_account)
    expire_soon(oauth_account)
    oauth.get_access_token(oauth_account)

    after = stored(oauth_account, "oauth_refresh_token_encrypted")
    assert after != before
    assert oauth_server.state.refresh_rejections == rejections


def test_refresh_of_revoked_grant_raises_oauth_revoked(oauth_account, oauth_server):
    oauth_server.revoke_grants(oauth_account.incoming_login)
    expire_soon(oauth_account)

    with pytest.raises(MailError) as raised:
        oauth.get_access_token(oauth_account)

    assert raised.value.code == errors.OAUTH_REVOKED
    assert "invalid_grant" in raised.value.detail


def test_refresh_without_client_raises_client_rejected(oauth_account, settings):
    settings.GOOGLE_OAUTH_CLIENT_SECRET = ""
    expire_soon(oauth_account)

    with pytest.raises(MailError) as raised:
        oauth.get_access_token(oauth_account)

    assert raised.value.code == errors.OAUTH_CLIENT_REJECTED


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_ask_provider_once(oauth_account, oauth_server):
    expire_soon(oauth_account)
    refreshes = oauth_server.state.refresh_count
    barrier = threading.Barrier(2)
    tokens = []

    def worker():
        try:
            account = MailAccount.objects.get(pk=oauth_account.pk)
            barrier.wait(timeout=10)
            tokens.append(oauth.get_access_token(account))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert oauth_server.state.refresh_count == refreshes + 1
    assert len(tokens) == 2
    assert tokens[0] == tokens[1]


# --- Sync --------------------------------------------------------------------------


def test_sync_over_xoauth2(oauth_account, oauth_dovecot):
    oauth_dovecot.append(oauth_account.incoming_login, "INBOX", [make_raw(subject=f"Hola {n}") for n in range(3)])

    report = sync_account(oauth_account.pk)

    assert report.ok
    assert report.created == 3


def test_sync_refreshes_expired_token_first(oauth_account, oauth_dovecot, oauth_server):
    oauth_dovecot.append(oauth_account.incoming_login, "INBOX", [make_raw()])
    oauth_server.expire_access_tokens()
    expire_soon(oauth_account)

    report = sync_account(oauth_account.pk)

    assert report.ok
    assert oauth_server.failed_introspections(oauth_account.incoming_login) == []


def test_token_expiring_during_long_sync_renewed(settings, owner, oauth_settings, oauth_server, oauth_dovecot):
    """Exchange Online ends a session whose token expired; the sync must move on before that."""
    proxy = Proxy(oauth_dovecot.host, oauth_dovecot.imap_port).start()
    overrides = settings.EMAILSYNC_PROVIDER_OVERRIDES
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {**overrides, "gmail": {**overrides["gmail"], "imap_port": proxy.port}}
    settings.EMAILSYNC_BATCH_SIZE = 2
    settings.EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS = 1
    address = add_oauth_user(oauth_dovecot)
    oauth_dovecot.append(address, "INBOX", [make_raw(subject=f"Pedido {n}") for n in range(6)])
    account = connect_oauth_account(owner, oauth_server, address)
    expire_soon(account, seconds=3)
    proxy.connections = 0
    refreshes = oauth_server.state.refresh_count
    batches = []

    def progress(done, total):
        # After the first batch the token expires: the provider invalidates
        # it and closes the connection it was used on.
        if not batches:
            expiry = MailAccount.objects.get(pk=account.pk).oauth_access_token_expires_at
            threading.Event().wait(max((expiry - timezone.now()).total_seconds(), 0) + 0.1)
            oauth_server.expire_access_tokens()
            proxy.cut_open_connections()
        batches.append(done)

    try:
        report = sync_account(account.pk, progress=progress)
    finally:
        proxy.stop()

    assert report.ok, report.error
    assert report.created == 6
    assert oauth_server.state.refresh_count == refreshes + 1
    assert proxy.connections == 2
    assert oauth_server.failed_introspections(address) == []
    assert MailAccount.objects.get(pk=account.pk).consecutive_auth_failures == 0


def test_revoked_grant_pauses_after_one_refresh(oauth_account, oauth_server, owner):
    oauth_server.revoke_grants(oauth_account.incoming_login)
    oauth_server.expire_access_tokens()
    expire_soon(oauth_account)
    rejections = oauth_server.state.refresh_rejections

    first = sync_account(oauth_account.pk)
    second = sync_account(oauth_account.pk)

    oauth_account.refresh_from_db()
    assert first.error.code == errors.OAUTH_REVOKED
    assert (oauth_account.status, oauth_account.pause_reason) == ("paused", errors.OAUTH_REVOKED)
    assert second.skipped_reason == "paused"
    assert oauth_server.state.refresh_rejections == rejections + 1


def test_revoked_grant_emails_owner(oauth_account, oauth_server, owner):
    oauth_server.revoke_grants(oauth_account.incoming_login)
    expire_soon(oauth_account)

    sync_account(oauth_account.pk)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    assert "Reconnect" in mail.outbox[0].body or "Reconectar" in mail.outbox[0].body
    assert "/settings/email/mailbox/" in mail.outbox[0].body


def test_refresh_network_failure_is_transient(oauth_account, oauth_server):
    oauth_server.failing_token_requests = 1
    expire_soon(oauth_account)

    report = sync_account(oauth_account.pk)

    oauth_account.refresh_from_db()
    assert report.error.code == errors.OAUTH_UNAVAILABLE
    assert oauth_account.status == "active"
    assert oauth_account.next_attempt_at is not None
    assert len(mail.outbox) == 0


def test_reconnect_restores_sync(owner_client, oauth_account, oauth_server, oauth_dovecot, inline_tasks):
    address = oauth_account.incoming_login
    assert sync_account(oauth_account.pk).ok
    oauth_server.revoke_grants(address)
    expire_soon(oauth_account)
    sync_account(oauth_account.pk)
    oauth_dovecot.append(address, "INBOX", [make_raw(subject="Tras reconectar")])

    response = owner_client.get(reverse("emailsync:mailbox"))
    assert 'id="reconnect-alert"' in response.content.decode()
    response = sign_in(owner_client, oauth_server, reverse("emailsync:oauth_reconnect"), address)

    oauth_account.refresh_from_db()
    assert "You signed in again with Google" in response.content.decode()
    assert (oauth_account.status, oauth_account.pause_reason) == ("active", "")
    assert oauth_account.messages.filter(subject="Tras reconectar").exists()


def test_reconnect_with_other_account_changes_nothing(owner_client, oauth_account, oauth_server, oauth_dovecot):
    other = add_oauth_user(oauth_dovecot)
    before = oauth_account.oauth_refresh_token_encrypted

    response = sign_in(owner_client, oauth_server, reverse("emailsync:oauth_reconnect"), other)

    oauth_account.refresh_from_db()
    assert f"You signed in as {other}, but this mailbox is {oauth_account.email_address}" in response.content.decode()
    assert oauth_account.oauth_refresh_token_encrypted == before


def test_sync_now_on_paused_oauth_mailbox_says_reconnect(owner_client, oauth_account):
    MailAccount.objects.filter(pk=oauth_account.pk).update(status="paused", pause_reason=errors.OAUTH_REVOKED)

    response = owner_client.post(reverse("emailsync:sync_now"), follow=True)

    assert "Reconnect with Google to start it again" in response.content.decode()


# --- Switching between a password and the sign-in ------------------------------------------


def test_password_mailbox_switches_to_sign_in(owner_client, owner, oauth_settings, oauth_server, oauth_dovecot,
                                              oauth_smtp_server, connect_account):
    address = add_oauth_user(oauth_dovecot)
    password = oauth_dovecot.users[address]
    oauth_smtp_server.users[address] = password
    from emailsync.providers import get_provider
    from emailsync.services import connect_mailbox
    from emailsync.views.setup import preset_servers

    incoming, outgoing = preset_servers(get_provider("gmail"), "imap", address, password)
    account = connect_mailbox(owner, address, incoming, outgoing, provider="gmail")
    edit_page = owner_client.get(reverse("emailsync:server_edit")).content.decode()

    sign_in(owner_client, oauth_server, reverse("emailsync:oauth_reconnect"), address)

    account.refresh_from_db()
    assert "Sign in with Google instead of a password" in edit_page
    assert account.auth_method == MailAccount.AuthMethod.OAUTH2
    assert account.incoming_password_encrypted == ""


def test_password_replaces_sign_in_and_revokes_grant(owner_client, oauth_account, oauth_server, oauth_dovecot,
                                                     oauth_smtp_server, django_capture_on_commit_callbacks):
    address = oauth_account.incoming_login
    oauth_smtp_server.users[address] = oauth_dovecot.users[address]

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("emailsync:server_edit"), {"password": oauth_dovecot.users[address]})

    oauth_account.refresh_from_db()
    assert response.status_code == 302
    assert oauth_account.auth_method == MailAccount.AuthMethod.PASSWORD
    assert oauth_account.oauth_refresh_token_encrypted == ""
    assert oauth_server.active_grants(address) == []


# --- SMTP --------------------------------------------------------------------------


def test_smtp_sends_with_xoauth2(oauth_account, oauth_smtp_server):
    raw = make_raw(sender=oauth_account.email_address, to="cliente@example.test")

    with open_smtp(oauth_account) as session:
        session.send(oauth_account.email_address, ["cliente@example.test"], raw)

    received = oauth_smtp_server.messages[-1]
    assert received.rcpt_tos == ["cliente@example.test"]
    assert oauth_smtp_server.recorder.oauth_logins[-1] == oauth_account.email_address


def test_smtp_uses_oauthbearer_when_only_offered(oauth_account, oauth_server, oauth_dovecot, settings):
    server = SmtpServer(
        oauth_dovecot.dir / "ssl" / "cert.pem", oauth_dovecot.dir / "ssl" / "key.pem",
        introspection_url=f"{oauth_server.url}/introspect", exclude_mechanisms=["XOAUTH2"],
    ).start()
    MailAccount.objects.filter(pk=oauth_account.pk).update(smtp_port=server.port)
    oauth_account.refresh_from_db()

    try:
        with open_smtp(oauth_account) as session:
            mechanisms = session.client.esmtp_features["auth"].split()
            session.send(oauth_account.email_address, ["cliente@example.test"], make_raw())
    finally:
        server.stop()

    assert "XOAUTH2" not in mechanisms
    assert server.recorder.oauth_logins == [oauth_account.email_address]


def test_smtp_rejected_token_is_auth_failure(oauth_account, oauth_server):
    oauth_server.revoke_grants(oauth_account.incoming_login)

    with pytest.raises(MailError) as raised:
        with open_smtp(oauth_account):
            pass

    assert raised.value.code == errors.AUTH_FAILED


def test_paused_email_text_in_spanish(oauth_account, oauth_server, owner):
    oauth_server.revoke_grants(oauth_account.incoming_login)
    expire_soon(oauth_account)

    sync_account(oauth_account.pk)

    body = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default).get_content()
    assert "Reconectar" in body


def test_pop3_mailbox_offered_no_sign_in(owner_client, owner, oauth_settings, oauth_dovecot, oauth_smtp_server):
    from emailsync.providers import get_provider
    from emailsync.services import connect_mailbox
    from emailsync.views.setup import preset_servers

    address = add_oauth_user(oauth_dovecot)
    oauth_smtp_server.users[address] = oauth_dovecot.users[address]
    incoming, outgoing = preset_servers(get_provider("gmail"), "pop3", address, oauth_dovecot.users[address])
    connect_mailbox(owner, address, incoming, outgoing, provider="gmail")

    edit_page = owner_client.get(reverse("emailsync:server_edit")).content.decode()
    response = owner_client.post(reverse("emailsync:oauth_reconnect"))

    assert "data-oauth" not in edit_page
    assert response.status_code == 404


def test_deactivation_revokes_grant(oauth_account, owner, oauth_server, django_capture_on_commit_callbacks):
    from emailsync.deactivation import deactivate_mailbox

    address = oauth_account.incoming_login

    with django_capture_on_commit_callbacks(execute=True):
        deactivate_mailbox(oauth_account, owner)

    assert not MailAccount.objects.filter(pk=oauth_account.pk).exists()
    assert oauth_server.active_grants(address) == []
