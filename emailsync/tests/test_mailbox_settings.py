"""The pages of a connected mailbox: From addresses, server details, sharing, sync options."""

from datetime import datetime

import pytest
from conftest import add_mailbox_user
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from emailsync import errors
from emailsync.accounts import record_error
from emailsync.errors import MailError
from emailsync.models import FromAddress, GroupSharingPolicy, MailAccount, SharingLevel, SharingMode
from tests.support.dovecot import free_port
from tests.support.mail import make_raw

from .conftest import add_address_user, point_presets_at
from .admin_helpers import queued_syncs

pytestmark = pytest.mark.django_db

FROM_URL = reverse("emailsync:from_addresses")
SERVER_EDIT_URL = reverse("emailsync:server_edit")
SHARING_URL = reverse("emailsync:sharing")
OPTIONS_URL = reverse("emailsync:sync_options")


def reload(account):
    return MailAccount.objects.get(pk=account.pk)


# --- Pages without a mailbox -------------------------------------------------------


@pytest.mark.parametrize("url", [FROM_URL, SHARING_URL, OPTIONS_URL, reverse("emailsync:mailbox")])
def test_mailbox_page_without_mailbox_goes_to_wizard(owner_client, url):
    response = owner_client.get(url)

    assert response.url == reverse("emailsync:settings")


# --- From addresses ------------------------------------------------------------------


def test_from_address_added(owner_client, account):
    owner_client.post(FROM_URL, {"address": "ventas@example.test", "display_name": "Ventas"})

    alias = account.from_addresses.get(address="ventas@example.test")
    assert alias.display_name == "Ventas"
    assert alias.is_default is False


@pytest.mark.parametrize(("data", "field", "expected"), [
    ({"address": "not-an-address"}, "address", "Enter a valid email address."),
    ({"address": ""}, "address", "This field is required."),
    ({"address": "a" * 10_000 + "@example.test"}, "address", "at most 254 characters"),
    ({"address": "ok@example.test", "display_name": "x" * 10_000}, "display_name", "at most 200 characters"),
    ({"address": "ok@example.test", "display_name": "Ana\r\nBcc: x@example.test"}, "display_name", "line break"),
    ({"address": "ok@example.test", "display_name": "Ana\u2028Bcc: x@example.test"}, "display_name", "line break"),
])
def test_from_address_bad_input_rejected(owner_client, account, data, field, expected):
    response = owner_client.post(FROM_URL, data)

    assert response.status_code == 200
    assert any(expected in error for error in response.context["form"].errors[field])
    assert account.from_addresses.count() == 1


def test_from_address_duplicate_rejected(owner_client, account):
    response = owner_client.post(FROM_URL, {"address": account.email_address.upper()})

    assert "already in the list" in response.context["form"].errors["address"][0]
    assert account.from_addresses.count() == 1


def test_from_address_made_default(owner_client, account):
    alias = FromAddress.objects.create(account=account, address="ventas@example.test", confirmed_at=timezone.now())

    owner_client.post(reverse("emailsync:from_address_default", args=[alias.pk]))

    assert list(account.from_addresses.filter(is_default=True)) == [alias]


def test_from_address_removed(owner_client, account):
    alias = FromAddress.objects.create(account=account, address="ventas@example.test")

    owner_client.post(reverse("emailsync:from_address_remove", args=[alias.pk]))

    assert not account.from_addresses.filter(pk=alias.pk).exists()


def test_default_from_address_not_removed(owner_client, account):
    default = account.from_addresses.get(is_default=True)

    owner_client.post(reverse("emailsync:from_address_remove", args=[default.pk]))

    assert account.from_addresses.filter(pk=default.pk).exists()


def test_own_address_not_removed_when_not_default(owner_client, account):
    own = account.from_addresses.get()
    alias = FromAddress.objects.create(account=account, address="ventas@example.test", confirmed_at=timezone.now())
    owner_client.post(reverse("emailsync:from_address_default", args=[alias.pk]))

    owner_client.post(reverse("emailsync:from_address_remove", args=[own.pk]))

    assert account.from_addresses.filter(pk=own.pk).exists()


def test_other_users_from_address_not_found(client, teammate, account, connect_account, dovecot):
    connect_account(teammate, *add_mailbox_user(dovecot))
    client.force_login(teammate)
    theirs = account.from_addresses.get()

    response = client.post(reverse("emailsync:from_address_remove", args=[theirs.pk]))

    assert response.status_code == 404
    assert FromAddress.objects.filter(pk=theirs.pk).exists()


def test_from_address_actions_need_post(owner_client, account):
    default = account.from_addresses.get()

    response = owner_client.get(reverse("emailsync:from_address_default", args=[default.pk]))

    assert response.status_code == 405


# --- Server details ----------------------------------------------------------------


def server_data(account, dovecot, smtp_server, **changes):
    data = {
        "incoming_host": account.incoming_host, "incoming_port": account.incoming_port,
        "incoming_security": account.incoming_security, "incoming_login": account.incoming_login,
        "incoming_password": "", "smtp_host": account.smtp_host, "smtp_port": account.smtp_port,
        "smtp_security": account.smtp_security, "smtp_same_credentials": "on", "smtp_login": "", "smtp_password": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_server_details_page_hides_password(owner_client, account, mailbox_user):
    content = owner_client.get(reverse("emailsync:server_details")).content.decode()

    assert account.incoming_host in content
    assert mailbox_user[1] not in content


def test_server_change_with_blank_password_keeps_it(owner_client, account, mailbox_user, dovecot, smtp_server,
                                                    smtp_user):
    # Only the outgoing server changes, so the stored incoming password may be reused.
    smtp_login, smtp_password = smtp_user
    data = server_data(account, dovecot, smtp_server, smtp_same_credentials=None, smtp_login=smtp_login,
                       smtp_password=smtp_password)

    response = owner_client.post(SERVER_EDIT_URL, {**data, "smtp_host": "localhost"})

    account = reload(account)
    assert response.status_code == 302
    assert account.smtp_host == "localhost"
    assert account.get_incoming_password() == mailbox_user[1]


@pytest.mark.parametrize(("changes", "field", "label"), [
    ({"incoming_host": "localhost"}, "incoming_password", "incoming server"),
    ({"incoming_login": "someone-else"}, "incoming_password", "incoming username"),
    ({"smtp_host": "localhost"}, "incoming_password", "outgoing server"),
    ({"smtp_same_credentials": None, "smtp_login": "someone-else"}, "smtp_password",
     "use the same credentials for the outgoing server, outgoing username"),
])
def test_server_change_with_blank_password_rejected(owner_client, account, dovecot, smtp_server, changes, field,
                                                    label):
    auth_attempts = smtp_server.auth_attempts

    response = owner_client.post(SERVER_EDIT_URL, server_data(account, dovecot, smtp_server, **changes))

    assert response.status_code == 200
    assert f"after a change to these fields: {label}." in str(response.context["form"].errors[field])
    assert smtp_server.auth_attempts == auth_attempts
    assert reload(account).incoming_host == account.incoming_host
    assert reload(account).smtp_host == account.smtp_host


def test_server_change_with_typed_password_saved(owner_client, account, mailbox_user, dovecot, smtp_server):
    data = server_data(account, dovecot, smtp_server, incoming_host="localhost", incoming_password=mailbox_user[1])

    response = owner_client.post(SERVER_EDIT_URL, data)

    account = reload(account)
    assert response.status_code == 302
    assert account.incoming_host == "localhost"
    assert account.get_incoming_password() == mailbox_user[1]


def test_update_servers_withholds_stored_password(account, dovecot):
    from django.core.exceptions import ValidationError

    from emailsync.services import update_servers
    from emailsync.verify import ServerSettings
    from tests.support.proxy import Proxy

    relay = Proxy(dovecot.host, dovecot.imap_port).start()
    try:
        incoming = ServerSettings("imap", relay.host, relay.port, "starttls", account.incoming_login, "")
        outgoing = ServerSettings("smtp", account.smtp_host, account.smtp_port, account.smtp_security,
                                  account.incoming_login, "")
        with pytest.raises(ValidationError) as raised:
            update_servers(account, incoming, outgoing, smtp_same_credentials=True)
    finally:
        relay.stop()

    assert raised.value.code == "password_required"
    assert relay.connections == 0
    assert reload(account).incoming_port == dovecot.imap_port


def test_server_change_checked_before_saving(owner_client, account, mailbox_user, dovecot, smtp_server):
    data = server_data(account, dovecot, smtp_server, incoming_port=free_port(), incoming_password=mailbox_user[1])

    response = owner_client.post(SERVER_EDIT_URL, data)

    assert response.context["verification"].failed_step.error.code == errors.CONNECTION_REFUSED
    assert "incoming_port" in response.context["form"].errors
    assert reload(account).incoming_port == dovecot.imap_port


def test_server_change_over_rate_limit_is_form_error(owner_client, account, mailbox_user, dovecot, smtp_server,
                                                    settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 0
    data = server_data(account, dovecot, smtp_server, incoming_port=1, incoming_password=mailbox_user[1])

    response = owner_client.post(SERVER_EDIT_URL, data)

    assert response.status_code == 200
    assert "10 minutes" in str(response.context["form"].non_field_errors())
    assert reload(account).incoming_port == dovecot.imap_port


def test_server_change_wrong_password_not_saved(owner_client, account, mailbox_user, dovecot, smtp_server):
    response = owner_client.post(SERVER_EDIT_URL, server_data(account, dovecot, smtp_server,
                                                              incoming_password="wrong"))

    assert "incoming_password" in response.context["form"].errors
    assert reload(account).get_incoming_password() == mailbox_user[1]


def test_server_change_resumes_paused_account(owner_client, account, mailbox_user, dovecot, smtp_server,
                                             django_capture_on_commit_callbacks):
    login, _password = mailbox_user
    for _attempt in range(3):
        record_error(account, MailError(errors.AUTH_FAILED, "rejected"))
    dovecot.change_password(login, "new-password-1")
    smtp_server.users[login] = "new-password-1"

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            SERVER_EDIT_URL, server_data(account, dovecot, smtp_server, incoming_password="new-password-1"),
        )

    account = reload(account)
    assert account.status == MailAccount.Status.ACTIVE
    assert account.get_incoming_password() == "new-password-1"
    assert account.last_error_code == ""
    assert queued_syncs() == [account.pk]


def test_server_change_unchanged_skips_check(owner_client, account, dovecot, smtp_server):
    auth_attempts = smtp_server.auth_attempts

    response = owner_client.post(SERVER_EDIT_URL, server_data(account, dovecot, smtp_server))

    assert response.status_code == 302
    assert smtp_server.auth_attempts == auth_attempts


def test_server_change_separate_smtp_credentials(owner_client, account, dovecot, smtp_server, smtp_user):
    smtp_login, smtp_password = smtp_user
    data = server_data(account, dovecot, smtp_server, smtp_same_credentials=None, smtp_login=smtp_login,
                       smtp_password=smtp_password)

    owner_client.post(SERVER_EDIT_URL, data)

    account = reload(account)
    assert account.smtp_same_credentials is False
    assert account.get_smtp_password() == smtp_password


@pytest.fixture
def preset_account(owner, settings, dovecot, smtp_server, trust_test_ca):
    from emailsync.services import connect_mailbox
    from emailsync.verify import ServerSettings

    point_presets_at(settings, dovecot, smtp_server)
    address, password = add_address_user(dovecot, smtp_server)
    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "starttls", address, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", address, password)
    return connect_mailbox(owner, address, incoming, outgoing, provider="gmail")


def test_preset_server_details_offer_only_password(owner_client, preset_account):
    response = owner_client.get(SERVER_EDIT_URL)

    assert list(response.context["form"].fields) == ["password"]


def test_preset_new_password_checked_and_saved(owner_client, preset_account, dovecot, smtp_server):
    address = preset_account.email_address
    dovecot.change_password(address, "renewed-1")
    smtp_server.users[address] = "renewed-1"

    owner_client.post(SERVER_EDIT_URL, {"password": "renewed-1"})

    assert reload(preset_account).get_incoming_password() == "renewed-1"


def test_preset_wrong_password_shows_help(owner_client, preset_account):
    response = owner_client.post(SERVER_EDIT_URL, {"password": "wrong"})

    assert response.context["help"]["app_password"] is True
    assert "password" in response.context["form"].errors


# --- Sharing -----------------------------------------------------------------------------


def test_sharing_custom_saves_users_and_groups(owner_client, account, teammate):
    group = Group.objects.create(name="Ventas")

    owner_client.post(SHARING_URL, {
        "sharing_mode": "custom", "sharing_level": "metadata",
        "shared_users": [teammate.pk], "shared_groups": [group.pk], "exclusions": "",
    })

    account = reload(account)
    assert (account.sharing_mode, account.sharing_level) == (SharingMode.CUSTOM, SharingLevel.METADATA)
    assert list(account.shared_users.all()) == [teammate]
    assert list(account.shared_groups.all()) == [group]


def test_sharing_custom_needs_an_audience(owner_client, account):
    response = owner_client.post(SHARING_URL, {"sharing_mode": "custom", "sharing_level": "full", "exclusions": ""})

    assert "Choose at least one user or group" in response.context["form"].errors["shared_users"][0]
    assert reload(account).sharing_mode == SharingMode.PRIVATE


def test_sharing_public_drops_custom_audience(owner_client, account, teammate):
    account.shared_users.add(teammate)

    owner_client.post(SHARING_URL, {"sharing_mode": "public", "sharing_level": "full",
                                    "shared_users": [teammate.pk], "exclusions": ""})

    assert not reload(account).shared_users.exists()


def test_sharing_exclusions_normalised(owner_client, account):
    owner_client.post(SHARING_URL, {"sharing_mode": "public", "sharing_level": "full",
                                    "exclusions": "RRHH@Example.test\n@Privado.Example\nbücher.example"})

    assert set(account.sharing_exclusions.values_list("value", flat=True)) == {
        "rrhh@example.test", "privado.example", "xn--bcher-kva.example",
    }


@pytest.mark.parametrize(("exclusions", "expected"), [
    ("not an address", "neither an email address nor a domain"),
    ("ana@", "not a valid email address"),
    ("x" * 10_000, "longer than 254 characters"),
    ("\n".join(f"a{number}@example.test" for number in range(501)), "at most 500"),
])
def test_sharing_bad_exclusion_rejected(owner_client, account, exclusions, expected):
    response = owner_client.post(SHARING_URL, {"sharing_mode": "private", "sharing_level": "full",
                                               "exclusions": exclusions})

    assert response.status_code == 200
    assert any(expected in error for error in response.context["form"].errors["exclusions"])
    assert not account.sharing_exclusions.exists()


def test_sharing_group_policy_shown_read_only(owner_client, owner, account):
    group = Group.objects.create(name="Ventas")
    owner.groups.add(group)
    GroupSharingPolicy.objects.create(group=group, sharing_mode="public", sharing_level="metadata")

    response = owner_client.get(SHARING_URL)

    assert response.context["form"].fields["sharing_mode"].disabled
    assert response.context["form"].initial["sharing_mode"] == "public"
    assert 'id="sharing-policy"' in response.content.decode()


def test_sharing_group_policy_wins_over_post(owner_client, owner, account):
    group = Group.objects.create(name="Ventas")
    owner.groups.add(group)
    GroupSharingPolicy.objects.create(group=group, sharing_mode="public", sharing_level="metadata")

    owner_client.post(SHARING_URL, {"sharing_mode": "private", "sharing_level": "full",
                                    "exclusions": "rrhh@example.test"})

    account = reload(account)
    assert (account.sharing_mode, account.sharing_level) == ("public", "metadata")
    assert account.sharing_exclusions.get().value == "rrhh@example.test"


def test_sharing_highest_priority_policy_applies(owner, account):
    from emailsync.services import group_sharing_policy

    low, high = Group.objects.create(name="A"), Group.objects.create(name="B")
    owner.groups.add(low, high)
    GroupSharingPolicy.objects.create(group=low, sharing_mode="public", sharing_level="full", priority=1)
    GroupSharingPolicy.objects.create(group=high, sharing_mode="private", sharing_level="full", priority=5)

    assert group_sharing_policy(owner).group == high


def test_connect_applies_group_policy(owner, mailbox_user, connect_account):
    group = Group.objects.create(name="Ventas")
    owner.groups.add(group)
    GroupSharingPolicy.objects.create(group=group, sharing_mode="public", sharing_level="metadata")

    account = connect_account(owner, *mailbox_user)

    assert (account.sharing_mode, account.sharing_level) == ("public", "metadata")


# --- Sync options and the first sync -------------------------------------------------------


@pytest.fixture
def listed_account(account, dovecot, mailbox_user):
    from emailsync.sync_options import refresh_folder_list

    dovecot.append(mailbox_user[0], "Clientes", [make_raw(subject="Pedido")])
    refresh_folder_list(account)
    return account


def test_sync_options_offer_only_extra_folders(owner_client, listed_account):
    response = owner_client.get(OPTIONS_URL)

    offered = {folder.name for folder in response.context["form"].fields["folders"].queryset}
    assert offered == {"Archive", "Clientes"}


def test_sync_options_start_first_sync(owner_client, listed_account, mailbox_user, dovecot, inline_tasks, mailoutbox,
                                       django_capture_on_commit_callbacks):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="Hola")])
    clientes = listed_account.folders.get(name="Clientes")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(OPTIONS_URL, {"sync_window": "30", "folders": [clientes.pk],
                                                   "store_sent_on_server": "on"})

    account = reload(listed_account)
    assert response.url == reverse("emailsync:mailbox")
    assert account.sync_window_days == 30
    assert account.store_sent_on_server is True
    assert account.first_synced_at is not None
    assert set(account.messages.values_list("subject", flat=True)) == {"Hola", "Pedido"}
    assert len(mailoutbox) == 1


def test_first_sync_email_in_owner_language(owner_client, owner, listed_account, inline_tasks, mailoutbox,
                                            django_capture_on_commit_callbacks):
    from crm.models import Profile

    Profile.objects.create(user=owner, language="en")

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(OPTIONS_URL, {"sync_window": "all"})

    assert mailoutbox[0].subject == f"Your mailbox {listed_account.email_address} is connected"
    assert mailoutbox[0].to == [owner.email]


def test_first_sync_email_spanish_by_default(owner_client, listed_account, inline_tasks, mailoutbox,
                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(OPTIONS_URL, {"sync_window": "all"})

    assert mailoutbox[0].subject == f"Su buzón {listed_account.email_address} está conectado"


@pytest.mark.parametrize(("user_email", "mailbox_address", "expected"), [
    ("owner@example.test", "ana@example.test", "you will get an email when it is complete"),
    ("", "ana@example.test", "you will get an email when it is complete"),
    ("", "", "You can leave this page and come back to follow its progress here."),
])
def test_first_sync_message_promises_email_only_with_address(owner_client, owner, listed_account, user_email,
                                                              mailbox_address, expected):
    owner.email = user_email
    owner.save(update_fields=["email"])
    MailAccount.objects.filter(pk=listed_account.pk).update(email_address=mailbox_address)

    response = owner_client.post(OPTIONS_URL, {"sync_window": "all"}, follow=True)

    [message] = [str(item) for item in response.context["messages"]]
    assert expected in message


def test_sync_options_longer_window_fetches_older(owner_client, listed_account, mailbox_user, dovecot, inline_tasks):
    with dovecot.client(mailbox_user[0]) as imap:
        imap.append("INBOX", make_raw(subject="Antiguo"), msg_time=datetime(2020, 1, 15, 10, 0))
    owner_client.post(OPTIONS_URL, {"sync_window": "30"})
    first_subjects = set(listed_account.messages.values_list("subject", flat=True))

    owner_client.post(OPTIONS_URL, {"sync_window": "all"})

    assert "Antiguo" not in first_subjects
    assert listed_account.messages.filter(subject="Antiguo").exists()


def test_sync_options_skipped_folder_not_selectable(owner_client, listed_account):
    trash = listed_account.folders.get(name="Trash")

    response = owner_client.post(OPTIONS_URL, {"sync_window": "90", "folders": [trash.pk]})

    assert "folders" in response.context["form"].errors
    assert not reload(listed_account).folders.get(name="Trash").is_sync_enabled


def test_sync_options_bad_window_rejected(owner_client, listed_account):
    response = owner_client.post(OPTIONS_URL, {"sync_window": "7"})

    assert "sync_window" in response.context["form"].errors


def test_pop3_sync_options_have_no_folders(owner_client, account):
    MailAccount.objects.filter(pk=account.pk).update(incoming_protocol="pop3")

    response = owner_client.get(OPTIONS_URL)

    assert list(response.context["form"].fields) == []


def test_refresh_folders_reads_new_folder(owner_client, listed_account, mailbox_user, dovecot):
    dovecot.append(mailbox_user[0], "Proveedores", [make_raw()])

    owner_client.post(reverse("emailsync:refresh_folders"))

    assert listed_account.folders.filter(name="Proveedores").exists()
