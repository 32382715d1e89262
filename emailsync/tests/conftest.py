"""Fixtures of the mailbox setup tests: real servers behind the presets."""

import itertools
import uuid
from email import message_from_bytes, policy

import pytest
from django.core.cache import cache

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def empty_cache():
    """Start every test with no connection checks counted."""
    cache.clear()
    yield
    cache.clear()


def add_address_user(dovecot, smtp_server, password=None, domain="example.test"):
    """Create a mailbox whose login is its full address, on Dovecot and the SMTP server.

    Returns (address, password).
    """
    address = f"ana{next(_counter)}-{uuid.uuid4().hex[:6]}@{domain}"
    password = password or f"pw-{uuid.uuid4().hex[:8]}"
    dovecot.add_user(address, password)
    smtp_server.users[address] = password
    return address, password


@pytest.fixture
def address_user(dovecot, smtp_server):
    """A fresh mailbox whose login is its address: (address, password)."""
    return add_address_user(dovecot, smtp_server)


def point_presets_at(settings, dovecot, smtp_server, keys=("gmail", "icloud", "microsoft365")):
    """Point presets at the test servers, STARTTLS everywhere, as an operator's override would."""
    servers = {
        "imap_host": dovecot.host, "imap_port": dovecot.imap_port, "imap_security": "starttls",
        "pop3_host": dovecot.host, "pop3_port": dovecot.pop3_port, "pop3_security": "starttls",
        "smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "smtp_security": "starttls",
    }
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {key: dict(servers) for key in keys}


@pytest.fixture
def site_mail(settings, smtp_server, trust_test_ca):
    """Send the site's own mail through the test SMTP server, with STARTTLS and AUTH."""
    settings.EMAIL_BACKEND = "tests.support.email_backend.TestCaEmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_USER = "crm-site@example.test"
    settings.EMAIL_HOST_PASSWORD = "site-mail-pw"
    smtp_server.users["crm-site@example.test"] = "site-mail-pw"
    return smtp_server


def mail_to(smtp_server, address, since):
    """Return the parsed messages the SMTP server received for address after the first `since`."""
    return [
        message_from_bytes(received.data, policy=policy.default)
        for received in smtp_server.messages[since:] if address in received.rcpt_tos
    ]


@pytest.fixture
def presets_on_test_servers(settings, dovecot, smtp_server, trust_test_ca):
    """Gmail, iCloud and Microsoft 365 presets aimed at the test Dovecot and SMTP server."""
    point_presets_at(settings, dovecot, smtp_server)


@pytest.fixture
def account(owner, mailbox_user, connect_account):
    """The owner's mailbox, connected to a fresh mailbox on the test Dovecot."""
    return connect_account(owner, *mailbox_user)


@pytest.fixture
def owner_client(client, owner):
    """The owner signed in, reading the pages in English."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(owner)
    return client


@pytest.fixture
def inline_tasks(monkeypatch):
    """Run django-q2 tasks inside async_task, as a cluster would run them.

    django-q2 reads Q_CLUSTER when it is imported, so settings cannot turn
    on its sync mode; its configuration object can.
    """
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


# --- OAuth 2.0 --------------------------------------------------------------------------

GOOGLE_CLIENT = ("crm-google-client", "google-client-secret")
MICROSOFT_CLIENT = ("crm-microsoft-client", "microsoft-client-secret")


@pytest.fixture(scope="session")
def oauth_server_session():
    from tests.support.oauthserver import AuthorizationServer

    server = AuthorizationServer().start()
    server.add_client(*GOOGLE_CLIENT)
    server.add_client(*MICROSOFT_CLIENT)
    yield server
    server.stop()


@pytest.fixture
def oauth_server(oauth_server_session):
    """The tests' authorization server, with its default behaviour restored after each test."""
    yield oauth_server_session
    oauth_server_session.reset()


@pytest.fixture(scope="session")
def oauth_dovecot(dovecot, oauth_server_session):
    """A Dovecot that also accepts XOAUTH2 and OAUTHBEARER, checking tokens by RFC 7662 introspection."""
    from tests.support.dovecot import Dovecot

    server = Dovecot(extra_mechanisms="xoauth2 oauthbearer", ssl_from=dovecot)
    args = server.dir / "oauth2.conf"
    args.write_text(
        "introspection_mode = post\n"
        f"introspection_url = {oauth_server_session.url}/introspect\n"
        "username_attribute = username\n"
        "active_attribute = active\n"
        "active_value = true\n"
    )
    args.chmod(0o644)
    server.extra_passdb = (
        "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
        f"  args = {args}\n}}\n"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def oauth_smtp_server(dovecot, oauth_server_session):
    """An SMTP server with STARTTLS that also accepts XOAUTH2 and OAUTHBEARER."""
    from tests.support.smtpserver import SmtpServer

    server = SmtpServer(
        dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem", mode="starttls",
        introspection_url=f"{oauth_server_session.url}/introspect",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def oauth_settings(settings, oauth_server, oauth_dovecot, oauth_smtp_server, trust_test_ca, live_server_url):
    """Google and Microsoft clients aimed at the test authorization server, their presets at the OAuth servers.

    Google's address comes from the userinfo endpoint or the ID token;
    Microsoft's, as in production, from the ID token alone.
    """
    for prefix, client in (("GOOGLE", GOOGLE_CLIENT), ("MICROSOFT", MICROSOFT_CLIENT)):
        is_google = prefix == "GOOGLE"
        for name, value in oauth_server.settings_for(prefix, client[0], is_google, is_google).items():
            setattr(settings, name, value)
    settings.SITE_URL = live_server_url
    settings.EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS = 60
    point_presets_at(settings, oauth_dovecot, oauth_smtp_server, keys=("gmail", "outlook", "microsoft365"))
    return settings


@pytest.fixture
def live_server_url():
    """The site address the redirect URI is built from; tests with a browser override it."""
    return "http://testserver"


def add_oauth_user(oauth_dovecot, password=None):
    """Create a mailbox on the OAuth Dovecot whose login is its address; returns the address.

    It has a password too, so that tests can APPEND fixtures to it.
    """
    address = f"olga{next(_counter)}-{uuid.uuid4().hex[:6]}@example.test"
    oauth_dovecot.add_user(address, password or f"pw-{uuid.uuid4().hex[:8]}")
    return address


def issue_tokens(oauth_server, username, client=GOOGLE_CLIENT, seconds=3600):
    """Return a TokenSet for a new grant of username, as a completed sign-in would have."""
    from datetime import timedelta

    from django.utils import timezone

    from emailsync.oauth import TokenSet
    from tests.support.oauthserver import Grant

    grant = Grant(username, client[0], "https://mail.google.com/ openid email")
    refresh_token = oauth_server.new_refresh_token(grant)
    response = oauth_server.token_response(grant, refresh_token=refresh_token)
    return TokenSet(
        access_token=response["access_token"], refresh_token=refresh_token,
        expires_at=timezone.now() + timedelta(seconds=seconds), scopes=frozenset(grant.scope.split()),
    )


def connect_oauth_account(owner, oauth_server, address, preset_key="gmail", **options):
    """Connect owner's mailbox at address to its preset's servers with a new grant."""
    from emailsync.providers import get_provider
    from emailsync.services import connect_mailbox
    from emailsync.views.setup import preset_servers

    tokens = issue_tokens(oauth_server, address)
    incoming, outgoing = preset_servers(get_provider(preset_key), "imap", address, password="")
    incoming.access_token = outgoing.access_token = tokens.access_token
    return connect_mailbox(owner, address, incoming, outgoing, provider=preset_key, oauth_tokens=tokens, **options)


@pytest.fixture
def oauth_account(owner, oauth_settings, oauth_server, oauth_dovecot):
    """The owner's Gmail mailbox, connected with a new grant on the OAuth Dovecot."""
    return connect_oauth_account(owner, oauth_server, add_oauth_user(oauth_dovecot))
