"""Output of the project's management commands: a bar on a terminal, plain lines elsewhere."""

import io

import pytest
from django.core.management import call_command, get_commands, load_command_class

from emailsync.models import MailAccount

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("crm", "emailsync", "retention")


class TerminalStream(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def accounts(django_user_model):
    for number in range(3):
        owner = django_user_model.objects.create_user(f"rep{number}")
        account = MailAccount(
            owner=owner, email_address=f"rep{number}@crm.example", incoming_host="imap.crm.example",
            incoming_port=993, incoming_login=f"rep{number}", smtp_host="smtp.crm.example", smtp_port=465,
        )
        account.set_incoming_password(f"secret-{number}")
        account.save()


def test_rotate_keys_draws_bar_on_terminal(accounts):
    stream = TerminalStream()

    call_command("rotate_encryption_keys", stdout=stream)

    assert "\r" in stream.getvalue()
    assert "3/3" in stream.getvalue()


def test_rotate_keys_prints_lines_in_pipe(accounts):
    stream = io.StringIO()

    call_command("rotate_encryption_keys", stdout=stream)

    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0] == "Re-encrypting: 1/3 accounts"
    assert lines[2] == "Re-encrypting: 3/3 accounts"


def test_rotate_keys_silent_at_verbosity_zero(accounts):
    stream = TerminalStream()

    call_command("rotate_encryption_keys", verbosity=0, stdout=stream)

    assert stream.getvalue() == ""


def project_commands():
    return sorted(name for name, app in get_commands().items() if app in PROJECT_APPS)


@pytest.mark.parametrize("name", project_commands())
def test_command_accepts_verbosity(name):
    parser = load_command_class(get_commands()[name], name).create_parser("manage.py", name)

    verbosity = next(action for action in parser._actions if action.dest == "verbosity")

    assert "--verbosity" in verbosity.option_strings
    assert verbosity.choices == [0, 1, 2, 3]
