"""`manage.py add_mailbox` against the test Dovecot and SMTP server."""

import io
import logging

import pytest
from django.core.management import CommandError, call_command

from emailsync import errors
from emailsync.models import MailAccount
from emailsync.verify import STEP_LABELS
from tests.support.commands import run_command
from tests.support.dovecot import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_password_variables(monkeypatch):
    monkeypatch.delenv("MAILBOX_PASSWORD", raising=False)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)


@pytest.fixture
def mailbox(mailbox_user, smtp_server, trust_test_ca):
    """A Dovecot mailbox whose login and password the SMTP server accepts too."""
    login, password = mailbox_user
    smtp_server.users[login] = password
    return login, password


def command_args(user, login, dovecot, smtp_server, imap_port=None, extra=()):
    return [
        "--user", user.username, "--email", f"{login}@example.test", "--login", login,
        "--imap-host", dovecot.host, "--imap-port", str(imap_port or dovecot.imap_port),
        "--imap-security", "starttls",
        "--smtp-host", smtp_server.host, "--smtp-port", str(smtp_server.port), "--smtp-security", "starttls",
        *extra,
    ]


def test_add_mailbox_saves_account(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", password)

    result = run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server))

    account = MailAccount.objects.get(owner=owner)
    assert result.error is None
    assert account.incoming_login == login
    assert account.get_incoming_password() == password
    assert account.smtp_same_credentials is True
    assert result.stdout.count("  OK ") == 4
    assert f"sync_mail --account {account.pk}" in result.stdout


def test_add_mailbox_wrong_password_names_login_step(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, _password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", "not-the-password")

    result = run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server))

    assert result.error is not None
    assert str(STEP_LABELS["incoming_login"]) in str(result.error)
    assert str(errors.message_for(errors.AUTH_FAILED)) in str(result.error)
    assert f"FAILED   {STEP_LABELS['incoming_login']}" in result.stdout
    assert MailAccount.objects.count() == 0


def test_add_mailbox_closed_port_reports_refused(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", password)
    closed_port = free_port()

    result = run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server, imap_port=closed_port))

    refused = errors.message_for(errors.CONNECTION_REFUSED, host=dovecot.host, port=closed_port)
    assert result.error is not None
    assert str(STEP_LABELS["incoming_connect"]) in str(result.error)
    assert str(refused) in str(result.error)
    assert MailAccount.objects.count() == 0


def test_add_mailbox_rejects_user_without_permission(outsider, mailbox, dovecot, smtp_server):
    login, password = mailbox
    stdin = io.StringIO(password + "\n")

    result = run_command("add_mailbox", *command_args(outsider, login, dovecot, smtp_server), stdin=stdin)

    assert result.error is not None
    assert "emailsync.integrate_email" in str(result.error)
    assert stdin.tell() == 0, "the password was read although it cannot be used"
    assert MailAccount.objects.count() == 0


def test_add_mailbox_rejects_second_mailbox(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", password)
    run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server))

    result = run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server))

    assert result.error is not None
    assert MailAccount.objects.count() == 1


def test_add_mailbox_never_outputs_password(owner, mailbox, dovecot, smtp_server, capsys, caplog):
    login, password = mailbox
    caplog.set_level(logging.DEBUG)
    args = command_args(owner, login, dovecot, smtp_server)

    with pytest.raises(CommandError) as failure:
        call_command("add_mailbox", *args, stdin=io.StringIO(password + "-wrong\n"))
    call_command("add_mailbox", *args, stdin=io.StringIO(password + "\n"))

    captured = capsys.readouterr()
    assert MailAccount.objects.filter(owner=owner).exists()
    assert password not in str(failure.value)
    assert password not in captured.out
    assert password not in captured.err
    assert password not in caplog.text
    assert password not in MailAccount.objects.get(owner=owner).incoming_password_encrypted


def test_add_mailbox_reads_password_from_stdin(owner, mailbox, dovecot, smtp_server):
    login, password = mailbox

    result = run_command(
        "add_mailbox", *command_args(owner, login, dovecot, smtp_server), stdin=io.StringIO(password + "\n"),
    )

    assert result.error is None, result.output
    assert MailAccount.objects.get(owner=owner).get_incoming_password() == password


def test_add_mailbox_empty_stdin_fails(owner, mailbox, dovecot, smtp_server):
    login, _password = mailbox

    result = run_command("add_mailbox", *command_args(owner, login, dovecot, smtp_server), stdin=io.StringIO(""))

    assert "MAILBOX_PASSWORD" in str(result.error)
    assert MailAccount.objects.count() == 0


def test_add_mailbox_uses_separate_smtp_credentials(owner, mailbox, smtp_user, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    smtp_login, smtp_password = smtp_user
    monkeypatch.setenv("MAILBOX_PASSWORD", password)
    monkeypatch.setenv("SMTP_PASSWORD", smtp_password)

    result = run_command(
        "add_mailbox", *command_args(owner, login, dovecot, smtp_server, extra=["--smtp-login", smtp_login]),
    )

    account = MailAccount.objects.get(owner=owner)
    assert result.error is None
    assert account.smtp_same_credentials is False
    assert account.get_smtp_login() == smtp_login
    assert account.get_smtp_password() == smtp_password


def test_add_mailbox_pop3_with_window(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", password)
    args = command_args(owner, login, dovecot, smtp_server, imap_port=dovecot.pop3_port,
                        extra=["--pop3", "--window-days", "30"])

    result = run_command("add_mailbox", *args)

    account = MailAccount.objects.get(owner=owner)
    assert result.error is None
    assert account.incoming_protocol == "pop3"
    assert account.sync_window_days == 30


def test_add_mailbox_rejects_invalid_email(owner, mailbox, dovecot, smtp_server, monkeypatch):
    login, password = mailbox
    monkeypatch.setenv("MAILBOX_PASSWORD", password)
    args = command_args(owner, login, dovecot, smtp_server)
    args[args.index("--email") + 1] = "not-an-address"

    result = run_command("add_mailbox", *args)

    assert "not-an-address" in str(result.error)
    assert MailAccount.objects.count() == 0
