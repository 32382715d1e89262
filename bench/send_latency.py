"""Measure how long a user waits when sending from the CRM.

Starts the test Dovecot and aiosmtpd (STARTTLS and AUTH) on loopback,
creates a throwaway test database, connects one mailbox, then sends
messages through `emailsync.sending.send_draft`, which is what the compose
page runs inside the request. Prints the median and 95th percentile of:
- building the message bytes alone,
- a full send (SMTP connect, STARTTLS, AUTH, DATA, storing the message),
- a full send with "Store sent messages on the server" (plus IMAP login
  and APPEND to Sent).

Run from the repository root:
    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/send_latency.py [COUNT]
Loopback servers leave out the network latency of a real provider, so
these figures are the CRM's own share of the wait.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import logging  # noqa: E402

import django  # noqa: E402

django.setup()
# One log line per send would drown the figures.
logging.getLogger("emailsync").setLevel(logging.WARNING)

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from emailsync.outgoing import Draft, OutgoingAttachment, build_email  # noqa: E402
from emailsync.sending import send_draft  # noqa: E402
from emailsync.services import connect_mailbox  # noqa: E402
from emailsync.verify import ServerSettings  # noqa: E402
from tests.support.dovecot import Dovecot  # noqa: E402
from tests.support.smtpserver import SmtpServer  # noqa: E402

BODY = ("Hola Lucía,\n\nTe envío el presupuesto revisado con los cambios que comentamos. " * 8 + "\n") * 6
ATTACHMENT = OutgoingAttachment("presupuesto.pdf", "application/pdf", os.urandom(200_000))


def percentiles(samples):
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def make_draft(account, index):
    return Draft(
        sender=("Ana García", account.email_address), to=[("Lucía Moreno", "lucia@acme.example")],
        cc=[("", "jefa@acme.example")], subject=f"Presupuesto {index} — revisión", body=BODY,
        attachments=[ATTACHMENT], token=f"{index:032x}",
    )


def connect(user, dovecot, smtp, login, password):
    smtp.users[login] = password
    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "starttls", login, password)
    outgoing = ServerSettings("smtp", smtp.host, smtp.port, "starttls", login, password)
    return connect_mailbox(user, f"{login}@example.test", incoming, outgoing)


def timed_sends(user, account, count, offset):
    samples = []
    for index in range(count):
        started = time.perf_counter()
        send_draft(user, make_draft(account, offset + index))
        samples.append(time.perf_counter() - started)
    return samples


def main(count):
    dovecot = Dovecot().start()
    smtp = SmtpServer(dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem").start()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    settings.EMAILSYNC_CA_FILE = dovecot.cafile
    try:
        user = User.objects.create_user("bench")
        user.user_permissions.add(Permission.objects.get(codename="integrate_email"))
        user = User.objects.get(pk=user.pk)
        dovecot.add_user("bench", "bench-pw")
        account = connect(user, dovecot, smtp, "bench", "bench-pw")

        build = []
        for index in range(count):
            started = time.perf_counter()
            build_email(make_draft(account, index), "<bench@example.test>")
            build.append(time.perf_counter() - started)
        plain = timed_sends(user, account, count, 0)
        account.store_sent_on_server = True
        account.save()
        stored = timed_sends(user, account, count, count)

        copies = len(dovecot.server_messages("bench", "Sent"))
        assert copies == count, f"{copies} copies in Sent, expected {count}"
        size = len(build_email(make_draft(account, 0), "<bench@example.test>"))
        print(f"{count} messages of {size / 1024:.0f} KiB (text, HTML, one 195 KiB attachment), loopback servers")
        print(f"build bytes only         {percentiles(build)}")
        print(f"send and store           {percentiles(plain)}")
        print(f"send, store, Sent copy   {percentiles(stored)}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        smtp.stop()
        dovecot.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
