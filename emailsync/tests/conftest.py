"""Fixtures of the mailbox setup tests: real servers behind the presets."""

import itertools
import uuid

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
