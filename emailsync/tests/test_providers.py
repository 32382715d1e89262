"""The provider presets: complete data, overrides, help in both languages."""

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation

from emailsync.providers import PROVIDERS, find_by_host, get_provider

REQUIRED = {"gmail", "outlook", "microsoft365", "yahoo", "zoho", "icloud", "aol", "gmx"}


def test_providers_include_required_presets():
    assert REQUIRED <= {provider.key for provider in PROVIDERS}


def test_providers_keys_unique():
    keys = [provider.key for provider in PROVIDERS]

    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.key)
def test_provider_servers_complete(provider):
    servers = [provider.imap, provider.smtp] + ([provider.pop3] if provider.pop3 else [])

    for server in servers:
        assert server.host and " " not in server.host
        assert 1 <= server.port <= 65535
        assert server.security in ("ssl", "starttls")


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda provider: provider.key)
def test_provider_help_translated_to_spanish(provider):
    texts = [provider.app_password_intro, *provider.app_password_steps]

    with translation.override("en"):
        english = [str(text) for text in texts]
    with translation.override("es"):
        spanish = [str(text) for text in texts]

    assert len(english) >= 4
    assert all(english)
    assert [pair for pair in zip(english, spanish) if pair[0] == pair[1]] == []


def test_microsoft365_help_needs_administrator():
    provider = get_provider("microsoft365")
    with translation.override("en"):
        intro = str(provider.app_password_intro)

    assert provider.needs_administrator
    assert "administrator" in intro
    assert "multi-factor authentication" in intro


def test_icloud_offers_no_pop3_and_local_part_login():
    provider = get_provider("icloud")

    assert provider.protocols == ("imap",)
    assert provider.login_for("ana@icloud.com", provider.incoming_login_form) == "ana"
    assert provider.login_for("ana@icloud.com", provider.smtp_login_form) == "ana@icloud.com"


def test_override_replaces_host_port_and_security(settings):
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {"gmail": {"imap_host": "127.0.0.1", "imap_port": 1143,
                                                       "imap_security": "starttls"}}

    imap = get_provider("gmail").imap

    assert (imap.host, imap.port, imap.security) == ("127.0.0.1", 1143, "starttls")
    assert get_provider("gmail").smtp.host == "smtp.gmail.com"


def test_override_leaves_presets_untouched(settings):
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {"gmail": {"imap_host": "127.0.0.1"}}

    get_provider("gmail")

    assert PROVIDERS[0].imap.host == "imap.gmail.com"


@pytest.mark.parametrize("override", [
    {"imap_hots": "x"}, {"imap_port": "993"}, {"imap_port": 0}, {"smtp_security": "tls"}, {"pop3_host": ""},
])
def test_override_bad_field_fails_loudly(settings, override):
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {"gmail": override}

    with pytest.raises(ImproperlyConfigured):
        get_provider("gmail")


def test_override_unknown_preset_fails_system_check(settings):
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {"gmial": {"imap_host": "127.0.0.1"}}

    ids = [message.id for message in run_checks()]

    assert "emailsync.E003" in ids


def test_find_by_host_recognises_preset_servers():
    assert find_by_host("IMAP.gmail.com").key == "gmail"
    assert find_by_host("smtp.office365.com").key == "microsoft365"
    assert find_by_host("mail.example.test") is None
