"""Server fields in the admin: a stored secret goes only to the server it was entered for.

An operator may change a mailbox's servers without knowing its password.
A change to a field that decides where the stored password is sent
therefore needs the password typed again, and the servers of a mailbox
that signs in with its provider are not editable at all.
"""

import pytest

from conftest import add_mailbox_user
from emailsync.models import MailAccount
from emailsync.sync import sync_account
from tests.support.proxy import Proxy

from .admin_helpers import (  # noqa: F401  (fixtures)
    INCOMING_PASSWORD, SMTP_PASSWORD, login, make_mailbox, operator, secrets_of, superuser,
)
from .test_admin import change_form_data, change_url

pytestmark = pytest.mark.django_db


def form_errors(response):
    return response.context["adminform"].form.errors


# --- Password mailboxes ---------------------------------------------------


@pytest.mark.parametrize(("field", "value", "label", "password_field"), [
    ("incoming_host", "imap.attacker.example", "incoming server", "new_incoming_password"),
    ("incoming_port", 10993, "incoming port", "new_incoming_password"),
    ("incoming_security", "starttls", "incoming security", "new_incoming_password"),
    ("incoming_login", "someone-else@crm.example", "incoming username", "new_incoming_password"),
    ("smtp_host", "smtp.attacker.example", "outgoing server", "new_smtp_password"),
    ("smtp_port", 2465, "outgoing port", "new_smtp_password"),
    ("smtp_security", "starttls", "outgoing security", "new_smtp_password"),
    ("smtp_login", "someone-else", "outgoing username", "new_smtp_password"),
])
def test_server_change_needs_password(client, operator, owner, field, value, label, password_field):
    account = make_mailbox(owner, smtp_same_credentials=False)
    before = secrets_of(account)

    response = login(client, operator).post(change_url(account), change_form_data(account, **{field: value}))

    assert response.status_code == 200
    errors = form_errors(response)
    assert f"after a change to these fields: {label}." in str(errors[password_field])
    assert "Enter the password again" in str(errors[password_field])
    other_password_field = ({"new_incoming_password", "new_smtp_password"} - {password_field}).pop()
    assert other_password_field not in errors
    assert getattr(MailAccount.objects.get(pk=account.pk), field) == getattr(account, field)
    assert secrets_of(account) == before


def test_shared_outgoing_change_needs_incoming_password(client, operator, owner):
    # The outgoing server is sent the incoming password here.
    account = make_mailbox(owner, smtp_same_credentials=True)

    response = login(client, operator).post(change_url(account), change_form_data(
        account, smtp_host="smtp.attacker.example", new_smtp_password="typed-but-unused",
    ))

    errors = form_errors(response)
    assert "these fields: outgoing server." in str(errors["new_incoming_password"])
    assert MailAccount.objects.get(pk=account.pk).smtp_host == "smtp.crm.example"


def test_sharing_credentials_needs_incoming_password(client, operator, owner):
    # Ticking "same credentials" would send the incoming password to the outgoing server.
    account = make_mailbox(owner, smtp_same_credentials=False)

    response = login(client, operator).post(change_url(account), change_form_data(
        account, smtp_same_credentials="on",
    ))

    errors = form_errors(response)
    assert "these fields: use the same credentials for the outgoing server." in str(errors["new_incoming_password"])
    assert MailAccount.objects.get(pk=account.pk).smtp_same_credentials is False


def test_separating_credentials_needs_outgoing_password(client, operator, owner):
    account = make_mailbox(owner, smtp_same_credentials=True)
    data = change_form_data(account, smtp_login="owner-smtp")
    del data["smtp_same_credentials"]

    response = login(client, operator).post(change_url(account), data)

    assert "new_smtp_password" in form_errors(response)
    assert MailAccount.objects.get(pk=account.pk).smtp_same_credentials is True


def test_outgoing_login_ignored_with_shared_credentials(client, operator, owner):
    account = make_mailbox(owner, smtp_same_credentials=True)

    response = login(client, operator).post(change_url(account), change_form_data(account, smtp_login="unused"))

    assert response.status_code == 302


def test_server_change_rule_applies_to_superuser(client, superuser, owner):
    account = make_mailbox(owner)

    response = login(client, superuser).post(change_url(account), change_form_data(account, incoming_port=10993))

    assert "new_incoming_password" in form_errors(response)


def test_server_change_saved_with_typed_passwords(client, operator, owner):
    account = make_mailbox(owner, smtp_same_credentials=False)

    response = login(client, operator).post(change_url(account), change_form_data(
        account, incoming_host="imap2.crm.example", smtp_port=587, smtp_security="starttls",
        new_incoming_password="typed-in-1", new_smtp_password="typed-out-1",
    ))

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.incoming_host == "imap2.crm.example"
    assert account.smtp_port == 587
    assert account.get_incoming_password() == "typed-in-1"
    assert account.get_smtp_password() == "typed-out-1"


def test_incoming_change_keeps_smtp_password(client, operator, owner):
    account = make_mailbox(owner, smtp_same_credentials=False)

    response = login(client, operator).post(change_url(account), change_form_data(
        account, incoming_port=143, incoming_security="starttls", new_incoming_password="typed-in-1",
    ))

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.incoming_port == 143
    assert account.get_smtp_password() == SMTP_PASSWORD


# --- Against the test servers ---------------------------------------------


@pytest.fixture
def relay(dovecot):
    """A TCP relay to the test Dovecot that counts the connections made through it."""
    relay = Proxy(dovecot.host, dovecot.imap_port).start()
    yield relay
    relay.stop()


def test_redirect_without_password_sends_nothing(client, operator, owner, dovecot, connect_account, relay):
    login_name, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login_name, password)

    response = login(client, operator).post(change_url(account), change_form_data(account, incoming_port=relay.port))
    report = sync_account(account.pk)

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.incoming_port == dovecot.imap_port
    assert report.ok
    assert account.last_synced_at is not None
    assert relay.connections == 0


def test_redirect_with_typed_password_syncs_there(client, operator, owner, dovecot, connect_account, relay):
    login_name, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login_name, password)

    response = login(client, operator).post(change_url(account), change_form_data(
        account, incoming_port=relay.port, new_incoming_password=password,
    ))
    report = sync_account(account.pk)

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.incoming_port == relay.port
    assert report.ok
    assert relay.connections >= 1


# --- Mailboxes that sign in with their provider ---------------------------


SERVER_CHANGES = {
    "provider": "custom", "incoming_protocol": "pop3", "incoming_host": "imap.attacker.example",
    "incoming_port": 10993, "incoming_security": "starttls", "incoming_login": "someone-else@crm.example",
    "smtp_host": "smtp.attacker.example", "smtp_port": 2465, "smtp_security": "starttls",
    "smtp_login": "someone-else", "auth_method": "password",
}


@pytest.mark.parametrize("user_fixture", ["operator", "superuser"])
def test_oauth_servers_are_read_only(client, request, owner, user_fixture):
    account = make_mailbox(owner, auth_method=MailAccount.AuthMethod.OAUTH2)
    client = login(client, request.getfixturevalue(user_fixture))

    page = client.get(change_url(account)).content.decode()
    response = client.post(change_url(account), change_form_data(account, **SERVER_CHANGES))

    assert response.status_code == 302
    stored = MailAccount.objects.get(pk=account.pk)
    for field in SERVER_CHANGES:
        assert f'name="{field}"' not in page
        assert getattr(stored, field) == getattr(account, field), field
    assert "imap.crm.example" in page


def test_sign_in_method_is_read_only(client, operator, owner):
    account = make_mailbox(owner)

    response = login(client, operator).post(change_url(account), change_form_data(account, auth_method="oauth2"))

    assert response.status_code == 302
    assert MailAccount.objects.get(pk=account.pk).auth_method == MailAccount.AuthMethod.PASSWORD
