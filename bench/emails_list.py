"""Benchmark the Emails related list and the message page at 10,000 and 1,000,000 messages.

Fills a PostgreSQL database of its own with generated rows (INSERT ...
SELECT generate_series, so 1M messages and 3M participants take a couple
of minutes), then times requests through Django's test Client in this
process: the server time of one request, without a network or browser.

For each size it measures, over --requests requests after 3 warm-ups:
the first page of one Contact's Emails list under "All" and under one
owner, and that Contact's newest message page. It prints the median, the
95th percentile and the number of SQL queries of each.

The Contact is involved in the same number of messages at both sizes
(--contact-messages, 5,000 by default), so the comparison isolates the
size of the tables. 20 mailboxes share publicly, and one of them has an
exclusion list. One message in ten of the Contact's is a copy held by a
second mailbox (same Message-ID), so "All" really groups copies.

By default 10,000 is measured before and after 1,000,000, and the load
average is printed with each size: on a shared machine other work moves
the figures more than the table size does.

Usage (drops and recreates the database, and drops it at the end unless
--keep):

    .venv/bin/python bench/emails_list.py \\
        --database-url postgres://postgres@127.0.0.1:5432/crm_sharing_bench
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
OWNERS = 20
CONTACT_ADDRESS = "lucia@cliente.example"


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/crm_sharing_bench",
                        help="PostgreSQL database to create, fill and drop (default: %(default)s).")
    parser.add_argument("--sizes", default="10000,1000000,10000",
                        help="Message counts, comma-separated, measured in this order (default: %(default)s).")
    parser.add_argument("--contact-messages", type=int, default=5000, help="Messages involving the Contact (default: %(default)s).")
    parser.add_argument("--requests", type=int, default=50, help="Timed requests per page (default: %(default)s).")
    parser.add_argument("--keep", action="store_true", help="Keep the database at the end.")
    return parser.parse_args()


def recreate_database(url, drop_only=False):
    """Drop and (unless drop_only) create the database named in `url`, through the maintenance database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith("crm_") or not name.replace("_", "").isalnum():
        sys.exit(f"Refusing to drop database {name!r}: give a name like crm_<branch>_bench.")
    admin = [
        "psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
        "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c",
    ]
    subprocess.run([*admin, f"DROP DATABASE IF EXISTS {name}"], check=True)
    if not drop_only:
        subprocess.run([*admin, f"CREATE DATABASE {name}"], check=True)


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_people():
    """Create the viewer, the other mailbox owners with public mailboxes, and the Contact."""
    from django.contrib.auth import get_user_model

    from crm.models import Contact
    from emailsync.models import MailAccount, SharingExclusion, SharingMode

    users = [get_user_model().objects.create_user(f"owner{index}", f"owner{index}@crm.example", "x") for index in range(OWNERS)]
    for user in users:
        MailAccount.objects.create(
            owner=user, email_address=user.email, incoming_host="imap.crm.example", incoming_port=993,
            incoming_login=user.email, smtp_host="smtp.crm.example", smtp_port=465, sharing_mode=SharingMode.PUBLIC,
        )
    SharingExclusion.objects.create(account=users[3].mail_accounts.get(), value="rrhh.example")
    contact = Contact.objects.create(owner=users[0], last_name="Moreno", email=CONTACT_ADDRESS)
    return users, contact


GENERATE_SQL = """
-- Message g belongs to owner (g % {owners}), or ((g / {step}) % {owners})
-- when the Contact is in it (every {step}th message), so consecutive
-- Contact messages sit in different mailboxes. One Contact message in ten
-- repeats the Message-ID of the one before it: a copy of that message
-- held by a second mailbox.
INSERT INTO emailsync_message (
    id, account_id, owner_id, origin, direction, content_hash, size, message_id, in_reply_to, "references",
    thread_key, subject, sent_at, internal_date, sort_date, from_address, from_display, to_display, cc_display,
    is_body_parsed, snippet, text_body, html_body, has_attachments, attachments, parse_problems, created_at
)
SELECT g, a.id, a.owner_id, 'sync', CASE WHEN g % 3 = 0 THEN 'sent' ELSE 'received' END,
       md5(g::text) || md5((g + 1)::text), 4000,
       CASE WHEN g % {step} = 0 AND (g / {step}) % 10 = 1 THEN 'c' || (g - {step}) || '@bench.example'
            ELSE 'm' || g || '@bench.example' END,
       '', '', 'm' || g || '@bench.example', 'Asunto ' || g,
       now() - g * interval '1 minute', now() - g * interval '1 minute', now() - g * interval '1 minute',
       CASE WHEN g % {step} = 0 THEN '{contact}' ELSE 'sender' || (g % 50000) || '@other.example' END,
       '', a.email_address, 'cc' || (g % 1000) || '@other.example',
       true, 'Texto del mensaje ' || g, 'Texto del mensaje ' || g || E'\\nSaludos.', '<p>Texto del mensaje ' || g || '</p>',
       g % 7 = 0, '[]', '[]', now()
FROM generate_series(1, {size}) AS g
JOIN emailsync_mailaccount a ON a.owner_id = (SELECT min(id) FROM auth_user)
    + CASE WHEN g % {step} = 0 THEN (g / {step}) % {owners} ELSE g % {owners} END;

UPDATE emailsync_message SET message_id = 'c' || id || '@bench.example'
WHERE id % {step} = 0 AND (id / {step}) % 10 <> 1;

INSERT INTO emailsync_participant (message_id, role, address, display_name, owner_id, sort_date, message_key)
SELECT m.id, r.role, CASE r.role WHEN 'from' THEN m.from_address WHEN 'to' THEN m.to_display ELSE m.cc_display END,
       '', m.owner_id, m.sort_date, m.message_id
FROM emailsync_message m CROSS JOIN (VALUES ('from'), ('to'), ('cc')) AS r(role);

SELECT setval(pg_get_serial_sequence('emailsync_message', 'id'), {size});
"""


def generate(size, contact_messages):
    """Replace all messages with `size` generated ones; return the time taken in seconds."""
    from django.db import connection

    step = max(1, size // contact_messages)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE emailsync_participant, emailsync_rawmessage, emailsync_message CASCADE")
        for statement in GENERATE_SQL.format(owners=OWNERS, step=step, size=size, contact=CONTACT_ADDRESS).split(";\n"):
            if statement.strip():
                cursor.execute(statement)
        # VACUUM also sets the visibility map, as autovacuum would on a
        # live database, so index-only scans are possible.
        cursor.execute("VACUUM ANALYZE emailsync_message")
        cursor.execute("VACUUM ANALYZE emailsync_participant")
    return time.monotonic() - started


def measure(client, url, requests):
    """Return (median ms, p95 ms, SQL queries) of GET `url`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _warm_up in range(3):
        assert client.get(url).status_code == 200, url
    timings = []
    for _request in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95, len(queries.captured_queries)


def run_size(size, contact_messages, requests, users, contact):
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from emailsync.models import Message, Participant

    seconds = generate(size, contact_messages)
    newest = Message.objects.filter(participants__address=CONTACT_ADDRESS).order_by("-sort_date").first()
    involved = Participant.objects.filter(address=CONTACT_ADDRESS).aggregate(total=Count("message_id", distinct=True))["total"]
    client = Client()
    client.force_login(users[0])
    pages = {
        "list, All": contact.get_absolute_url(),
        "list, one owner": f"{contact.get_absolute_url()}?owner={users[1].pk}",
        "message page": reverse("emailsync:message_detail", args=[newest.pk]),
    }
    print(f"\n{size:,} messages, {Participant.objects.count():,} participants, "
          f"Contact in {involved:,} (generated in {seconds:.0f} s), load average {os.getloadavg()[0]:.1f}")
    results = {}
    for label, url in pages.items():
        median, p95, queries = measure(client, url, requests)
        results[label] = (median, p95, queries)
        print(f"  {label:16} median {median:7.1f} ms   p95 {p95:7.1f} ms   {queries} queries")
    return results


def main():
    arguments = parse_arguments()
    sizes = [int(item) for item in arguments.sizes.split(",")]
    recreate_database(arguments.database_url)
    try:
        setup_django(arguments.database_url)
        users, contact = create_people()
        results = [(size, run_size(size, arguments.contact_messages, arguments.requests, users, contact)) for size in sizes]
    finally:
        from django.db import connections

        connections.close_all()
        if not arguments.keep:
            recreate_database(arguments.database_url, drop_only=True)

    print_ratios(results)


def print_ratios(results):
    """Print p95 of the largest size over p95 of each smaller run, and both query counts."""
    largest_size, largest = max(results, key=lambda item: item[0])
    for size, small in results:
        if size == largest_size:
            continue
        print(f"\np95 at {largest_size:,} / p95 at {size:,}, and query counts:")
        for label in small:
            ratio = largest[label][1] / small[label][1]
            same = "same" if largest[label][2] == small[label][2] else "DIFFERENT"
            print(f"  {label:16} {ratio:4.2f}x   queries {small[label][2]} / {largest[label][2]} ({same})")


if __name__ == "__main__":
    main()
