"""Benchmark the mailbox setup pages against a private Dovecot and SMTP server.

Prints:
  (a) seconds of the four-step connection check (IMAP STARTTLS connect and
      login, SMTP STARTTLS connect and login), median and maximum;
  (b) seconds of the whole "Connect" request of the custom form (check,
      save, folder list), median;
  (c) milliseconds and database queries of one request to the progress
      endpoint that the mailbox page polls every 2 seconds while a sync
      runs, with 20 synced folders;
  (d) milliseconds of the mailbox page itself.

Usage: .venv/bin/python bench/setup_bench.py [--rounds 20]
Uses a throwaway SQLite database unless DATABASE_URL is set. Needs
Dovecot installed (see README). Everything runs on 127.0.0.1.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def setup_django(database_url):
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    # Lets the test client's "testserver" host in, as pytest-django does.
    setup_test_environment()
    call_command("migrate", verbosity=0)


def check_seconds(dovecot, smtp_server, login, password, rounds):
    """(a): the connection check alone."""
    from emailsync.verify import ServerSettings, verify

    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "starttls", login, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, password)
    timings = []
    for _round in range(rounds):
        started = time.perf_counter()
        result = verify(incoming, outgoing)
        timings.append(time.perf_counter() - started)
        assert result.ok, result.failed_step
    return timings


def new_user(username):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user(username, f"{username}@example.test", "x")
    user.user_permissions.add(Permission.objects.get(codename="integrate_email"))
    return user


def connect_request_seconds(dovecot, smtp_server, rounds):
    """(b): POST the custom form, which checks, saves and reads the folders."""
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from emailsync.models import MailAccount

    timings = []
    for index in range(rounds):
        login, password = f"connect{index}@example.test", "pw-connect"
        dovecot.add_user(login, password)
        smtp_server.users[login] = password
        client = Client()
        client.force_login(new_user(f"connect{index}"))
        data = {
            "email_address": login, "incoming_protocol": "imap", "incoming_host": dovecot.host,
            "incoming_port": dovecot.imap_port, "incoming_security": "starttls", "incoming_password": password,
            "smtp_host": smtp_server.host, "smtp_port": smtp_server.port, "smtp_security": "starttls",
            "smtp_same_credentials": "on",
        }
        cache.clear()
        started = time.perf_counter()
        response = client.post(reverse("emailsync:connect_custom"), data)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    assert MailAccount.objects.count() >= rounds
    return timings


def page_timings(dovecot, smtp_server, rounds):
    """(c) and (d): the progress endpoint and the mailbox page, 20 folders."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from emailsync.services import connect_mailbox
    from emailsync.sync import sync_account
    from emailsync.verify import ServerSettings
    from tests.support.mail import make_raw

    login, password = "pages@example.test", "pw-pages"
    dovecot.add_user(login, password)
    for index in range(18):
        dovecot.append(login, f"Client {index}", [make_raw(subject=f"m{index}")])
    user = new_user("pages")
    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "starttls", login, password)
    outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, password)
    account = connect_mailbox(user, login, incoming, outgoing, check=False)
    account.folders.update(is_sync_enabled=True)
    sync_account(account.pk)
    account.folders.update(is_sync_enabled=True)
    sync_account(account.pk)

    client = Client()
    client.force_login(user)
    # Django empties the query log when a request starts and closes the
    # connection when it ends; either would hide the queries counted below.
    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    progress_url, page_url = reverse("emailsync:progress"), reverse("emailsync:mailbox")
    with CaptureQueriesContext(connection) as queries:
        data = client.get(progress_url).json()
    query_count = len(queries)
    folder_count = len(data["folders"])

    def timed(url):
        timings = []
        for _round in range(rounds):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    return timed(progress_url), query_count, folder_count, timed(page_url)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    setup_django(database_url)
    from django.conf import settings

    from tests.support.dovecot import Dovecot
    from tests.support.smtpserver import SmtpServer

    settings.DEBUG = False
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 10_000
    dovecot = Dovecot().start()
    smtp_server = SmtpServer(dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem").start()
    settings.EMAILSYNC_CA_FILE = dovecot.cafile
    try:
        dovecot.add_user("check@example.test", "pw-check")
        smtp_server.users["check@example.test"] = "pw-check"
        checks = check_seconds(dovecot, smtp_server, "check@example.test", "pw-check", args.rounds)
        connects = connect_request_seconds(dovecot, smtp_server, min(args.rounds, 10))
        progress, queries, folders, page = page_timings(dovecot, smtp_server, args.rounds)
    finally:
        smtp_server.stop()
        dovecot.stop()

    print(f"database: {database_url.split('://')[0]}, rounds: {args.rounds}")
    print(f"(a) connection check: median {statistics.median(checks):.3f} s, max {max(checks):.3f} s")
    print(f"(b) Connect request (check, save, folder list): median {statistics.median(connects):.3f} s")
    print(f"(c) progress endpoint, {folders} folders: median {statistics.median(progress):.1f} ms, "
          f"{queries} queries")
    print(f"(d) mailbox page: median {statistics.median(page):.1f} ms")


if __name__ == "__main__":
    main()
