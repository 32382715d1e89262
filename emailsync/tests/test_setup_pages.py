"""The connection pages of the setup wizard, against the test Dovecot and SMTP server."""

import logging

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from emailsync import errors
from emailsync.models import FromAddress, MailAccount
from emailsync.providers import PROVIDERS
from tests.support.dovecot import free_port

from .conftest import add_address_user

pytestmark = pytest.mark.django_db

SETTINGS_URL = reverse("emailsync:settings")
CUSTOM_URL = reverse("emailsync:connect_custom")


def gmail_url(step=""):
    name = "emailsync:connect_password" if step == "password" else "emailsync:connect_provider"
    return reverse(name, args=["gmail"])


def custom_data(dovecot, smtp_server, email, password, **changes):
    data = {
        "email_address": email, "incoming_protocol": "imap",
        "incoming_host": dovecot.host, "incoming_port": dovecot.imap_port, "incoming_security": "starttls",
        "incoming_login": "", "incoming_password": password,
        "smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "smtp_security": "starttls",
        "smtp_same_credentials": "on", "smtp_login": "", "smtp_password": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def session_text():
    return " ".join(str(session.get_decoded()) for session in Session.objects.all())


# --- Access --------------------------------------------------------------------

SETUP_URL_NAMES = [
    ("emailsync:settings", []), ("emailsync:connect_custom", []),
    ("emailsync:connect_provider", ["gmail"]), ("emailsync:connect_password", ["gmail"]),
    ("emailsync:mailbox", []), ("emailsync:progress", []), ("emailsync:from_addresses", []),
    ("emailsync:server_details", []), ("emailsync:server_edit", []), ("emailsync:sharing", []),
    ("emailsync:sync_options", []),
]


@pytest.mark.parametrize(("name", "args"), SETUP_URL_NAMES)
def test_setup_page_forbidden_without_permission(client, outsider, name, args):
    client.force_login(outsider)

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403


@pytest.mark.parametrize(("name", "args"), SETUP_URL_NAMES)
def test_setup_page_sends_anonymous_to_login(client, name, args):
    response = client.get(reverse(name, args=args))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_custom_post_forbidden_without_permission(client, outsider, dovecot, smtp_server):
    client.force_login(outsider)

    response = client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, "a@example.test", "pw"))

    assert response.status_code == 403
    assert MailAccount.objects.count() == 0


def test_settings_menu_entry_hidden_without_permission(client, outsider):
    client.force_login(outsider)

    content = client.get(reverse("crm:home")).content.decode()

    assert reverse("emailsync:settings") not in content


def test_custom_post_without_csrf_token_rejected(owner, dovecot, smtp_server):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, "a@example.test", "pw"))

    assert response.status_code == 403
    assert MailAccount.objects.count() == 0


# --- Provider list -----------------------------------------------------------------


def test_settings_opens_provider_list_without_mailbox(owner_client):
    response = owner_client.get(SETTINGS_URL)

    assert response.status_code == 200
    assert response.templates[0].name == "emailsync/email_settings.html"


def test_provider_list_names_every_preset_and_other_email(owner_client):
    content = owner_client.get(SETTINGS_URL).content.decode()

    for provider in PROVIDERS:
        assert f'data-provider="{provider.key}"' in content
    assert 'data-provider="custom"' in content


def test_unknown_provider_is_not_found(owner_client):
    response = owner_client.get(reverse("emailsync:connect_provider", args=["nope"]))

    assert response.status_code == 404


# --- Preset flow -----------------------------------------------------------------------


def test_preset_flow_connects_through_overridden_hosts(owner_client, owner, address_user, presets_on_test_servers,
                                                       dovecot, smtp_server):
    address, password = address_user

    first = owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    second = owner_client.post(gmail_url("password"), {"password": password})

    assert first.url == gmail_url("password")
    assert second.url == reverse("emailsync:from_addresses")
    account = MailAccount.objects.get(owner=owner)
    assert account.provider == "gmail"
    assert (account.incoming_host, account.incoming_port) == (dovecot.host, dovecot.imap_port)
    assert (account.smtp_host, account.smtp_port) == (smtp_server.host, smtp_server.port)
    assert account.incoming_login == address
    assert account.get_incoming_password() == password


def test_preset_flow_reads_folders_and_holds_first_sync(owner_client, owner, address_user, presets_on_test_servers):
    address, password = address_user

    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    owner_client.post(gmail_url("password"), {"password": password})

    account = MailAccount.objects.get(owner=owner)
    assert set(account.folders.values_list("name", flat=True)) >= {"INBOX", "Sent", "Archive", "Trash"}
    assert account.next_attempt_at is not None
    assert account.sync_requested_at is None


def test_preset_password_never_in_session(owner_client, address_user, presets_on_test_servers):
    address, password = address_user

    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    owner_client.post(gmail_url("password"), {"password": "wrong-" + password})
    owner_client.post(gmail_url("password"), {"password": password})

    assert password not in session_text()


def test_preset_address_kept_in_session_between_steps(owner_client, address_user, presets_on_test_servers):
    address, _password = address_user

    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    response = owner_client.get(gmail_url("password"))

    assert address in response.content.decode()


def test_preset_password_step_without_address_goes_back(owner_client):
    response = owner_client.get(gmail_url("password"))

    assert response.url == gmail_url()


def test_preset_wrong_password_fails_at_login(owner_client, address_user, presets_on_test_servers):
    address, password = address_user
    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})

    response = owner_client.post(gmail_url("password"), {"password": "wrong-" + password})

    assert response.status_code == 200
    step = response.context["verification"].failed_step
    assert step.key == "incoming_login"
    assert step.message == str(errors.message_for(errors.AUTH_FAILED))
    assert "The check failed here" in response.context["form"].errors["password"][0]
    assert MailAccount.objects.count() == 0


def test_preset_wrong_password_shows_app_password_help(owner_client, address_user, presets_on_test_servers):
    address, password = address_user
    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})

    response = owner_client.post(gmail_url("password"), {"password": "wrong-" + password})

    content = response.content.decode()
    assert 'id="app-password-help" open' in content
    assert "https://myaccount.google.com/apppasswords" in content
    assert response.context["help"]["app_password"] is True


def test_preset_wrong_password_not_shown_again(owner_client, address_user, presets_on_test_servers):
    address, password = address_user
    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})

    response = owner_client.post(gmail_url("password"), {"password": "wrong-" + password})

    assert "wrong-" + password not in response.content.decode()


def test_preset_pop3_flow_connects(owner_client, owner, address_user, presets_on_test_servers, dovecot):
    address, password = address_user

    owner_client.post(gmail_url(), {"protocol": "pop3", "email_address": address})
    owner_client.post(gmail_url("password"), {"password": password})

    account = MailAccount.objects.get(owner=owner)
    assert account.incoming_protocol == "pop3"
    assert account.incoming_port == dovecot.pop3_port


def test_preset_local_part_login_for_icloud(owner_client, owner, mailbox_user, presets_on_test_servers, smtp_server):
    login, password = mailbox_user
    address = f"{login}@icloud.test"
    smtp_server.users[address] = password
    icloud = reverse("emailsync:connect_provider", args=["icloud"])

    owner_client.post(icloud, {"protocol": "imap", "email_address": address})
    owner_client.post(reverse("emailsync:connect_password", args=["icloud"]), {"password": password})

    account = MailAccount.objects.get(owner=owner)
    assert account.incoming_login == login
    assert account.smtp_same_credentials is False
    assert account.get_smtp_login() == address
    assert account.get_smtp_password() == password


def test_preset_without_pop3_offers_only_imap(owner_client):
    response = owner_client.get(reverse("emailsync:connect_provider", args=["icloud"]))

    assert [value for value, _label in response.context["form"].fields["protocol"].choices] == ["imap"]


# --- Custom flow -----------------------------------------------------------------------


def test_custom_flow_connects_imap(owner_client, owner, address_user, dovecot, smtp_server, trust_test_ca):
    address, password = address_user

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password))

    assert response.url == reverse("emailsync:from_addresses")
    account = MailAccount.objects.get(owner=owner)
    assert account.provider == "custom"
    assert account.incoming_login == address
    assert account.smtp_same_credentials is True
    assert FromAddress.objects.get(account=account).is_default


def test_custom_flow_separate_smtp_credentials(owner_client, owner, mailbox_user, dovecot, smtp_server, smtp_user,
                                               trust_test_ca):
    login, password = mailbox_user
    smtp_login, smtp_password = smtp_user
    data = custom_data(
        dovecot, smtp_server, "ana@example.test", password, incoming_login=login,
        smtp_same_credentials=None, smtp_login=smtp_login, smtp_password=smtp_password,
    )

    owner_client.post(CUSTOM_URL, data)

    account = MailAccount.objects.get(owner=owner)
    assert account.get_smtp_login() == smtp_login
    assert account.get_smtp_password() == smtp_password


def test_custom_flow_pop3(owner_client, owner, address_user, dovecot, smtp_server, trust_test_ca):
    address, password = address_user
    data = custom_data(dovecot, smtp_server, address, password, incoming_protocol="pop3",
                       incoming_port=dovecot.pop3_port)

    owner_client.post(CUSTOM_URL, data)

    assert MailAccount.objects.get(owner=owner).incoming_protocol == "pop3"


def test_custom_closed_port_shows_connection_refused(owner_client, address_user, dovecot, smtp_server,
                                                     trust_test_ca):
    address, password = address_user
    port = free_port()

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password, incoming_port=port))

    step = response.context["verification"].failed_step
    assert step.key == "incoming_connect"
    assert step.error.code == errors.CONNECTION_REFUSED
    assert "incoming_port" in response.context["form"].errors
    assert step.message in response.content.decode()
    assert MailAccount.objects.count() == 0


def test_custom_form_keeps_typed_values_but_not_password(owner_client, address_user, dovecot, smtp_server,
                                                         trust_test_ca):
    address, password = address_user

    response = owner_client.post(
        CUSTOM_URL, custom_data(dovecot, smtp_server, address, password, incoming_port=free_port()),
    )

    content = response.content.decode()
    assert f'value="{address}"' in content
    assert password not in content


def test_custom_smtp_wrong_password_points_at_smtp_password(owner_client, mailbox_user, dovecot, smtp_server,
                                                            smtp_user, trust_test_ca):
    login, password = mailbox_user
    smtp_login, _smtp_password = smtp_user
    data = custom_data(
        dovecot, smtp_server, "ana@example.test", password, incoming_login=login,
        smtp_same_credentials=None, smtp_login=smtp_login, smtp_password="not-it",
    )

    response = owner_client.post(CUSTOM_URL, data)

    assert response.context["verification"].failed_step.key == "smtp_login"
    assert "smtp_password" in response.context["form"].errors
    assert MailAccount.objects.count() == 0


def test_custom_untrusted_certificate_points_at_host(owner_client, address_user, dovecot, smtp_server):
    address, password = address_user
    data = custom_data(dovecot, smtp_server, address, password, incoming_port=dovecot.imaps_port,
                       incoming_security="ssl")

    response = owner_client.post(CUSTOM_URL, data)

    assert response.context["verification"].failed_step.error.code == errors.CERTIFICATE_FAILED
    assert "incoming_host" in response.context["form"].errors


def test_custom_name_resolving_to_loopback_rejected(owner_client, settings, address_user, dovecot, smtp_server,
                                                    trust_test_ca):
    settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = False
    address, password = address_user

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password,
                                                         incoming_host="localhost", smtp_host="localhost"))

    assert response.context["verification"].failed_step.error.code == errors.PRIVATE_HOST_FORBIDDEN
    assert "incoming_host" in response.context["form"].errors
    assert MailAccount.objects.count() == 0


def test_custom_gmail_host_shows_gmail_help(owner_client, settings, address_user, dovecot, smtp_server,
                                            trust_test_ca):
    # A custom server named like Gmail's, aimed at the test server by the
    # override, so the help can be recognised without leaving the machine.
    settings.EMAILSYNC_PROVIDER_OVERRIDES = {"gmail": {"imap_host": "localhost"}}
    address, password = address_user

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, "wrong",
                                                         incoming_host="localhost"))

    assert response.context["help"]["provider"].key == "gmail"


def test_non_ascii_password_connects(owner_client, owner, dovecot, smtp_server, trust_test_ca):
    password = "contraseña-ñandú-€-密码"
    address, _password = add_address_user(dovecot, smtp_server, password=password)

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password))

    assert response.status_code == 302
    assert MailAccount.objects.get(owner=owner).get_incoming_password() == password


def test_non_ascii_wrong_password_fails_at_login(owner_client, address_user, dovecot, smtp_server, trust_test_ca):
    address, _password = address_user

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, "mañana-密码"))

    assert response.status_code == 200
    assert response.context["verification"].failed_step.key == "incoming_login"
    assert "incoming_password" in response.context["form"].errors


def test_non_ascii_smtp_password_signs_in(owner_client, owner, mailbox_user, dovecot, smtp_server, trust_test_ca):
    login, password = mailbox_user
    smtp_server.users["smtp-ñ@example.test"] = "clave-ñ-ü"
    data = custom_data(
        dovecot, smtp_server, "ana@example.test", password, incoming_login=login,
        smtp_same_credentials=None, smtp_login="smtp-ñ@example.test", smtp_password="clave-ñ-ü",
    )

    owner_client.post(CUSTOM_URL, data)

    assert MailAccount.objects.get(owner=owner).get_smtp_password() == "clave-ñ-ü"


# --- Limits ------------------------------------------------------------------------------


def test_connection_checks_rate_limited(owner_client, settings, address_user, dovecot, smtp_server, trust_test_ca):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 2
    address, password = address_user
    data = custom_data(dovecot, smtp_server, address, password, incoming_port=free_port())

    owner_client.post(CUSTOM_URL, data)
    owner_client.post(CUSTOM_URL, data)
    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password))

    assert response.context["verification"] is None
    assert "wait 10 minutes" in response.context["form"].non_field_errors()[0]
    assert MailAccount.objects.count() == 0


def test_rate_limit_counts_each_user_apart(client, owner, teammate, settings, address_user, dovecot, smtp_server,
                                           trust_test_ca):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 1
    address, password = address_user
    closed = custom_data(dovecot, smtp_server, address, password, incoming_port=free_port())
    client.force_login(owner)
    client.post(CUSTOM_URL, closed)
    client.force_login(teammate)

    response = client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password))

    assert response.status_code == 302


def test_second_mailbox_is_refused(owner_client, owner, connect_account, mailbox_user, address_user, dovecot,
                                   smtp_server):
    connect_account(owner, *mailbox_user)
    address, password = address_user

    response = owner_client.post(CUSTOM_URL, custom_data(dovecot, smtp_server, address, password))

    assert response.url == reverse("emailsync:mailbox")
    assert MailAccount.objects.filter(owner=owner).count() == 1


def test_connected_user_sent_from_wizard_to_mailbox(owner_client, owner, connect_account, mailbox_user):
    connect_account(owner, *mailbox_user)

    response = owner_client.get(SETTINGS_URL)

    assert response.url == reverse("emailsync:mailbox")


def test_wizard_survives_background_sync(owner_client, owner, address_user, presets_on_test_servers, inline_tasks):
    address, password = address_user
    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    owner_client.post(gmail_url("password"), {"password": password})
    MailAccount.objects.filter(owner=owner).update(first_synced_at=timezone.now())

    during = owner_client.get(reverse("emailsync:sharing"))
    owner_client.post(reverse("emailsync:sync_options"), {"sync_window": "90"})
    after = owner_client.get(reverse("emailsync:sharing"))

    assert during.context["wizard_steps"]
    assert "wizard_steps" not in after.context


def test_wizard_never_logs_password(owner_client, address_user, presets_on_test_servers, caplog):
    caplog.set_level(logging.DEBUG)
    address, password = address_user

    owner_client.post(gmail_url(), {"protocol": "imap", "email_address": address})
    owner_client.post(gmail_url("password"), {"password": "wrong-" + password})
    owner_client.post(gmail_url("password"), {"password": password})

    assert MailAccount.objects.count() == 1
    assert password not in caplog.text
