"""Benchmark the IMAP sync engine against a private Dovecot.

Prints:
  (a) raw full-body fetch rate with imapclient alone, batches of 500;
  (b) the product's initial sync rate (fetch, parse headers, store, index);
  (c) the ratio b/a;
  (d) IMAP commands and time of an unchanged poll, for 1 and 20 folders;
  (e) peak RSS of a sync process for 2,000 and 20,000 messages, a few of
      them several MB.

(a) and (b) are medians of three runs.

Usage: .venv/bin/python bench/sync_bench.py [--messages 10000]
Uses a throwaway SQLite database unless DATABASE_URL is set. Needs
Dovecot installed (see README).
"""

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


RUNS = 3


def setup_django(database_url):
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_message(index, size, rng):
    body_lines = []
    remaining = size
    while remaining > 0:
        line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(72))
        body_lines.append(line)
        remaining -= 74
    head = (
        f"From: Sender {index % 50} <sender{index % 50}@example.com>\r\n"
        f"To: Rep <rep@example.test>, other{index % 7}@example.org\r\n"
        f"Subject: Benchmark message {index}\r\n"
        f"Date: Mon, 02 Nov 2026 10:{index % 60:02d}:00 +0000\r\n"
        f"Message-ID: <bench-{index}-{rng.random()}@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    return (head + "\r\n".join(body_lines) + "\r\n").encode()


def load(dovecot, login, folder, messages):
    with dovecot.client(login) as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for start in range(0, len(messages), 500):
            client.multiappend(folder, messages[start:start + 500])


def raw_fetch_rate(dovecot, login, count, quiet=False):
    """(a): imapclient alone, full bodies, batches of 500.

    With quiet=True, imaplib's debug formatting is off, as in the product
    (see emailsync.imap.ImapSession): the stricter baseline.
    """
    with dovecot.client(login) as client:
        if quiet:
            client._imap.debug = 0
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        started = time.perf_counter()
        fetched = 0
        for start in range(0, len(uids), 500):
            response = client.fetch(uids[start:start + 500], [b"BODY.PEEK[]"])
            fetched += len(response)
        seconds = time.perf_counter() - started
    assert fetched == count
    return fetched / seconds


def new_account(dovecot, login, password, username):
    from django.contrib.auth.models import Permission, User

    from emailsync.services import connect_mailbox
    from emailsync.verify import ServerSettings

    user = User.objects.create_user(username, f"{username}@example.test", "x")
    user.user_permissions.add(Permission.objects.get(codename="integrate_email"))
    incoming = ServerSettings("imap", dovecot.host, dovecot.imap_port, "plain", login, password)
    return connect_mailbox(user, f"{login}@example.test", incoming, incoming, check=False)


def product_sync_rate(account_id, count):
    """(b): the product's first sync, timed in this process."""
    from emailsync.models import Message
    from emailsync.sync import sync_account

    started = time.perf_counter()
    report = sync_account(account_id)
    seconds = time.perf_counter() - started
    assert report.error is None, report.error
    assert Message.objects.filter(account_id=account_id).count() == count
    return count / seconds


def unchanged_poll(dovecot, account_id):
    """(d): commands and seconds of a poll when nothing changed."""
    from emailsync.models import MailAccount
    from emailsync.sync import sync_account
    from tests.support.proxy import Proxy

    proxy = Proxy(dovecot.host, dovecot.imap_port).start()
    MailAccount.objects.filter(pk=account_id).update(incoming_host=proxy.host, incoming_port=proxy.port)
    timings = []
    commands = None
    for _ in range(5):
        proxy.reset_log()
        started = time.perf_counter()
        sync_account(account_id)
        timings.append(time.perf_counter() - started)
        sent = proxy.client_commands()
        commands = sent[sent.index("LOGIN") + 1:]
    proxy.stop()
    MailAccount.objects.filter(pk=account_id).update(incoming_host=dovecot.host, incoming_port=dovecot.imap_port)
    return commands, statistics.median(timings)


def peak_rss_of_sync(account_id, database_url, cafile):
    """(e): run one sync in a child process and return its peak RSS in MB.

    The child reads its own high-water mark (VmHWM) from /proc: the
    rusage of a child started by fork counts the parent's memory at the
    fork, which here contains the generated messages.
    """
    code = (
        "import django; django.setup()\n"
        "from emailsync.sync import sync_account\n"
        f"report = sync_account({account_id})\n"
        "assert report.error is None, report.error\n"
        "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=database_url, DEBUG="false",
               EMAILSYNC_CA_FILE=cafile, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"sync child failed: {result.stderr[-2000:]}")
    return int(result.stdout.strip().splitlines()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=5000, help="approximate message size in bytes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.sqlite3'}"
    setup_django(database_url)
    from django.conf import settings

    from tests.support.dovecot import Dovecot

    settings.DEBUG = False
    rng = random.Random(1)
    dovecot = Dovecot().start()
    try:
        settings.EMAILSYNC_ALLOW_PLAINTEXT = True
        settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS = True
        settings.EMAILSYNC_BATCH_SIZE = 500
        messages = [make_message(index, args.size, rng) for index in range(args.messages)]

        dovecot.add_user("rate", "pw")
        load(dovecot, "rate", "INBOX", messages)
        # Medians of three runs each, interleaved, because one run of a few
        # seconds swings by a fifth on a shared machine.
        raw_rates, quiet_rates, sync_rates = [], [], []
        for run in range(RUNS):
            raw_rates.append(raw_fetch_rate(dovecot, "rate", args.messages))
            quiet_rates.append(raw_fetch_rate(dovecot, "rate", args.messages, quiet=True))
            account = new_account(dovecot, "rate", "pw", f"rate{run}")
            sync_rates.append(product_sync_rate(account.pk, args.messages))
            if run + 1 < RUNS:
                # Each run starts from the same database size.
                account.owner.delete()
        raw_rate = statistics.median(raw_rates)
        quiet_rate = statistics.median(quiet_rates)
        sync_rate = statistics.median(sync_rates)

        dovecot.add_user("folders", "pw")
        load(dovecot, "folders", "INBOX", messages[:100])
        one = new_account(dovecot, "folders", "pw", "folders")
        from emailsync.models import Folder
        from emailsync.sync import sync_account

        sync_account(one.pk)
        Folder.objects.filter(account=one, name="Sent").update(is_sync_enabled=False)
        commands_1, seconds_1 = unchanged_poll(dovecot, one.pk)
        for index in range(19):
            load(dovecot, "folders", f"Client {index}", messages[100 + index * 5:105 + index * 5])
        sync_account(one.pk)
        Folder.objects.filter(account=one, name__startswith="Client ").update(is_sync_enabled=True)
        Folder.objects.filter(account=one, name="Sent").update(is_sync_enabled=False)
        sync_account(one.pk)
        synced = Folder.objects.filter(account=one, is_sync_enabled=True).count()
        commands_20, seconds_20 = unchanged_poll(dovecot, one.pk)

        rss = {}
        big = b"X-Big: yes\r\nSubject: big\r\n\r\n" + (b"0123456789" * 7 + b"\r\n") * 50_000  # about 3.6 MB
        for label, count in (("2,000", 2_000), ("20,000", 20_000)):
            login = f"rss{count}"
            dovecot.add_user(login, "pw")
            batch = [make_message(index, args.size, rng) for index in range(count - 5)] + [big] * 5
            load(dovecot, login, "INBOX", batch)
            account = new_account(dovecot, login, "pw", login)
            rss[label] = peak_rss_of_sync(account.pk, database_url, dovecot.cafile)
    finally:
        dovecot.stop()

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, database {database_url.split(':')[0]}")
    print(f"medians of {RUNS} runs; (b) runs: {', '.join(f'{rate:,.0f}' for rate in sync_rates)}")
    print(f"(a) raw imapclient fetch, batches of 500: {raw_rate:,.0f} messages/s ({args.messages:,} of ~{args.size} B)")
    print(f"(a) the same with imaplib's debug formatting off: {quiet_rate:,.0f} messages/s")
    print(f"(b) product initial sync (fetch, parse headers, store, index): {sync_rate:,.0f} messages/s")
    print(f"(c) ratio b/a: {sync_rate / raw_rate:.2f} (goal >= 0.3); "
          f"against the debug-off fetch: {sync_rate / quiet_rate:.2f}")
    print(f"(d) unchanged poll, 1 folder: {len(commands_1)} commands {commands_1}, {seconds_1 * 1000:.1f} ms")
    print(f"(d) unchanged poll, {synced} folders: {len(commands_20)} commands {commands_20}, {seconds_20 * 1000:.1f} ms")
    print(f"(e) peak RSS of a sync process: 2,000 messages {rss['2,000']:.0f} MB, 20,000 messages "
          f"{rss['20,000']:.0f} MB, difference {rss['20,000'] - rss['2,000']:.0f} MB (goal <= 64)")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"benchmark process peak RSS: {usage.ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
