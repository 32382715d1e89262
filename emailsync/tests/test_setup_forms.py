"""Bad input on the connection pages: a clear error on the right field, never a server error."""

import pytest
from django.urls import reverse

from emailsync.forms import clean_host
from emailsync.models import MailAccount
from tests.support.dovecot import free_port

pytestmark = pytest.mark.django_db

CUSTOM_URL = reverse("emailsync:connect_custom")
LONG = "x" * 10_000


def valid_data(**changes):
    """Return valid data of the custom form.

    The servers are closed ports on loopback, so input the form accepts
    leads to a check that fails at once and never leaves the machine.
    """
    data = {
        "email_address": "ana@example.test", "incoming_protocol": "imap",
        "incoming_host": "localhost", "incoming_port": str(free_port()), "incoming_security": "ssl",
        "incoming_login": "", "incoming_password": "secret",
        "smtp_host": "localhost", "smtp_port": str(free_port()), "smtp_security": "ssl",
        "smtp_same_credentials": "on", "smtp_login": "", "smtp_password": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


BAD_INPUT = [
    ("incoming_port", "", "Enter the port number"),
    ("incoming_port", "abc", "whole number"),
    ("incoming_port", "99.5", "whole number"),
    ("incoming_port", "0", "from 1 to 65535"),
    ("incoming_port", "-1", "from 1 to 65535"),
    ("incoming_port", "65536", "from 1 to 65535"),
    ("smtp_port", "", "Enter the port number"),
    ("smtp_port", "puerto", "whole number"),
    ("smtp_port", "70000", "from 1 to 65535"),
    ("incoming_host", "", "This field is required."),
    ("incoming_host", "imap example.test", "must not contain spaces"),
    ("incoming_host", "localhost\t", None),
    ("incoming_host", "imaps://imap.example.test", "without “imap://”"),
    ("incoming_host", "https://mail.example.test/", "without “imap://”"),
    ("incoming_host", "imap.example.test/inbox", "without a path"),
    ("incoming_host", "ana@example.test", "looks like an email address"),
    ("incoming_host", "imap.example.test:993", "in the Port field"),
    ("incoming_host", "-imap.example.test", "is not a valid server name"),
    ("incoming_host", "imap..example.test", "is not a valid server name"),
    ("incoming_host", "imap_mail.example.test", "is not a valid server name"),
    ("smtp_host", "smtp server", "must not contain spaces"),
    ("email_address", "", "This field is required."),
    ("email_address", "ana", "Enter a valid email address."),
    ("email_address", "ana@", "Enter a valid email address."),
    ("incoming_password", "", "This field is required."),
    ("incoming_password", "line\nbreak", "line break"),
    ("incoming_login", "ana\r\nA2 DELETE INBOX", "line break"),
    ("incoming_security", "plain", "Select a valid choice."),
    ("incoming_security", "tls13", "Select a valid choice."),
    ("incoming_protocol", "exchange", "Select a valid choice."),
]


@pytest.mark.parametrize(("field", "value", "expected"), BAD_INPUT)
def test_custom_form_bad_input_on_its_field(owner_client, settings, field, value, expected):
    settings.EMAILSYNC_ALLOW_PLAINTEXT = False

    response = owner_client.post(CUSTOM_URL, valid_data(**{field: value}))

    assert response.status_code == 200
    if expected is None:
        assert field not in response.context["form"].errors
    else:
        assert any(expected in error for error in response.context["form"].errors[field])
    assert MailAccount.objects.count() == 0


TEXT_FIELDS = [
    "email_address", "incoming_host", "incoming_port", "incoming_login", "incoming_password",
    "smtp_host", "smtp_port", "smtp_login", "smtp_password",
]


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_custom_form_rejects_ten_thousand_characters(owner_client, field):
    separate_smtp = {"smtp_same_credentials": None, "smtp_login": "ana", "smtp_password": "pw"}

    response = owner_client.post(CUSTOM_URL, valid_data(**{**separate_smtp, field: LONG}))

    errors = response.context["form"].errors
    assert response.status_code == 200
    assert field in errors
    assert all(len(error) < 300 for error in errors[field])


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "[::1]",
                                  "fe80::1", "100.64.0.1", "0.0.0.0"])
def test_custom_form_rejects_private_address_when_forbidden(owner_client, settings, host):
    settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = False

    response = owner_client.post(CUSTOM_URL, valid_data(incoming_host=host))

    errors = response.context["form"].errors["incoming_host"]
    assert any("private or local network address" in error for error in errors)


def test_custom_form_accepts_private_address_when_allowed(settings):
    settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = True

    assert clean_host("127.0.0.1") == "127.0.0.1"


def test_custom_form_offers_plain_only_when_allowed(owner_client, settings):
    settings.EMAILSYNC_ALLOW_PLAINTEXT = False
    without = owner_client.get(CUSTOM_URL).context["form"].fields["incoming_security"].choices
    settings.EMAILSYNC_ALLOW_PLAINTEXT = True
    allowed = owner_client.get(CUSTOM_URL).context["form"].fields["incoming_security"].choices

    assert "plain" not in dict(without)
    assert "plain" in dict(allowed)


def test_custom_form_separate_smtp_needs_login_and_password(owner_client):
    response = owner_client.post(CUSTOM_URL, valid_data(smtp_same_credentials=None))

    assert "smtp_login" in response.context["form"].errors
    assert "smtp_password" in response.context["form"].errors


@pytest.mark.parametrize(("typed", "stored"), [
    ("IMAP.Example.TEST", "imap.example.test"),
    ("  imap.example.test.  ", "imap.example.test"),
    ("correo.ñandú.example", "correo.xn--and-6ma2c.example"),
    ("[2606:4700:4700::1111]", "2606:4700:4700::1111"),
    ("9.9.9.9", "9.9.9.9"),
])
def test_clean_host_normalises(settings, typed, stored):
    settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = False

    assert clean_host(typed) == stored


def test_bad_input_names_the_value(owner_client):
    response = owner_client.post(CUSTOM_URL, valid_data(incoming_host="ana@example.test"))

    assert "“ana@example.test” looks like an email address" in response.context["form"].errors["incoming_host"][0]


def test_error_summary_links_to_fields(owner_client):
    content = owner_client.post(CUSTOM_URL, valid_data(incoming_port="abc")).content.decode()

    assert 'href="#id_incoming_port"' in content
    assert "Incoming server: Port" in content


@pytest.mark.parametrize(("field", "value"), [
    ("email_address", ""), ("email_address", "no-at-sign"), ("email_address", LONG), ("protocol", "smtp"),
])
def test_preset_address_bad_input_on_its_field(owner_client, field, value):
    data = {"protocol": "imap", "email_address": "ana@example.test", field: value}

    response = owner_client.post(reverse("emailsync:connect_provider", args=["gmail"]), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors


@pytest.mark.parametrize("password", ["", LONG, "tab\there"])
def test_preset_password_bad_input_on_its_field(owner_client, password):
    owner_client.post(reverse("emailsync:connect_provider", args=["gmail"]),
                      {"protocol": "imap", "email_address": "ana@example.test"})

    response = owner_client.post(reverse("emailsync:connect_password", args=["gmail"]), {"password": password})

    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert response.context["verification"] is None
