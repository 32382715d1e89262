"""Structured log lines: one JSON object per event, with ids and no content or secrets."""

import io
import json
import logging

import pytest
from django.db import connection

from config.logformat import JsonFormatter
from conftest import add_mailbox_user
from emailsync.sync import sync_account
from tests.support.faults import reject_raw_message
from tests.support.mail import make_raw


def format_record(message, *args, exc_info=None, **extra):
    record = logging.getLogger("emailsync.sync").makeRecord(
        "emailsync.sync", logging.INFO, "sync.py", 1, message, args, exc_info, extra=extra,
    )
    return JsonFormatter().format(record)


def test_json_line_has_fields_from_key_value_pairs():
    line = json.loads(format_record("Sync finished: account=%s created=%s seconds=%.2f", 7, 12, 0.5))

    assert line["event"] == "Sync finished"
    assert line["account"] == 7
    assert line["created"] == 12
    assert line["seconds"] == 0.5
    assert line["message"] == "Sync finished: account=7 created=12 seconds=0.50"


def test_json_line_keeps_value_with_spaces_whole():
    line = json.loads(format_record("Sync failed: account=%s detail=%s", 3, 'NO [AUTH] "bad" login'))

    assert line["detail"] == 'NO [AUTH] "bad" login'


def test_json_line_reads_named_placeholders():
    record = logging.getLogger("gunicorn.access").makeRecord(
        "gunicorn.access", logging.INFO, "glogging.py", 1, "request: path=%(U)s status=%(s)s",
        ({"U": "/login/", "s": "200"},), None,
    )

    line = json.loads(JsonFormatter().format(record))

    assert line["path"] == "/login/"
    assert line["status"] == "200"


def test_json_line_takes_plain_extra_values():
    line = json.loads(format_record("Notification sent", folder=5, request=object()))

    assert line["folder"] == 5
    assert "request" not in line


def test_json_line_stays_one_line_with_traceback():
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        import sys

        output = format_record("Batch failed: account=%s", 1, exc_info=sys.exc_info())

    assert "\n" not in output
    assert "ValueError: first\nsecond" in json.loads(output)["exception"]


def test_json_line_base_fields_not_overwritten():
    line = json.loads(format_record("Odd: level=%s logger=%s", "x", "y"))

    assert line["level"] == "INFO"
    assert line["logger"] == "emailsync.sync"


@pytest.fixture
def json_log():
    """Capture every log line of the process as JSON while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.django_db
def test_sync_logs_ids_without_content_or_secrets(owner, dovecot, connect_account, json_log):
    login, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login, password)
    dovecot.append(login, "INBOX", [
        make_raw(subject="Oferta secreta 4711", body="Cuerpo privado 0815", sender="lucia@acme.example"),
        make_raw(subject="poison", body="POISON"),
    ])

    with connection.execute_wrapper(reject_raw_message(b"POISON")):
        sync_account(account.pk)
    dovecot.change_password(login, "changed-at-provider")
    sync_account(account.pk)

    output = json_log.getvalue()
    lines = [json.loads(line) for line in output.splitlines()]
    events = {line["event"]: line for line in lines}
    for private in [password, "changed-at-provider", "Oferta secreta 4711", "Cuerpo privado 0815", "lucia@acme.example"]:
        assert private not in output
    assert events["Sync finished"]["account"] == account.pk
    assert events["Message not stored"]["folder"] == account.folders.get(name="INBOX").pk
    assert events["Sync failed"]["code"] == "auth_failed"
