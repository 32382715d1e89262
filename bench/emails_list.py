"""Benchmark the Emails related list and the message page at 10,000 and 1,000,000 messages.

Fills a PostgreSQL database of its own with generated rows (INSERT ...
SELECT generate_series, so 1M messages and 3M participants take a couple
of minutes), then times requests through Django's test Client in this
process: the server time of one request, without a network or browser.

Each size lives in a PostgreSQL schema of its own ("bench_10000",
"bench_1000000") in the same database, and the timed requests alternate
between the sizes: request 1 at 10k, request 1 at 1M, request 2 at 10k...
On a shared machine other work moves the figures more than the table size
does; alternating spreads that noise evenly over both sizes. The load
average is printed too.

For each size it measures, over --requests requests after 3 warm-ups:
the first page of one Contact's Emails list under "All" and under one
owner, and that Contact's newest message page. It prints the median, the
95th percentile and the number of SQL queries of each.

The Contact is involved in the same number of messages at both sizes
(--contact-messages, 5,000 by default), so the comparison isolates the
size of the tables. 20 mailboxes share publicly, and one of them has an
exclusion list. One message in ten of the Contact's is a copy held by a
second mailbox (same Message-ID), so "All" really groups copies.

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
    parser.add_argument("--sizes", default="10000,1000000", help="Message counts, comma-separated (default: %(default)s).")
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


# The schema that new database connections use; see use_schema.
CURRENT_SCHEMA = ["public"]


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.db.backends.signals import connection_created

    connection_created.connect(set_search_path)


def set_search_path(sender, connection, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {CURRENT_SCHEMA[0]}")


def use_schema(size):
    """Point the ORM at the schema of one size; Django opens a new connection for the next query."""
    from django.db import connections

    CURRENT_SCHEMA[0] = f"bench_{size}"
    connections.close_all()


def create_schema(size):
    """Create the schema of one size with every table."""
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA bench_{size}")
    use_schema(size)
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


def prepare_size(size, contact_messages):
    """Create and fill the schema of one size; return its pages to time, with a logged-in client."""
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from emailsync.models import Message, Participant

    create_schema(size)
    users, contact = create_people()
    seconds = generate(size, contact_messages)
    newest = Message.objects.filter(participants__address=CONTACT_ADDRESS).order_by("-sort_date").first()
    involved = Participant.objects.filter(address=CONTACT_ADDRESS).aggregate(total=Count("message_id", distinct=True))["total"]
    print(f"{size:,} messages, {Participant.objects.count():,} participants, "
          f"Contact in {involved:,} (generated in {seconds:.0f} s)")
    client = Client()
    client.force_login(users[0])
    return client, {
        "list, All": contact.get_absolute_url(),
        "list, one owner": f"{contact.get_absolute_url()}?owner={users[1].pk}",
        "message page": reverse("emailsync:message_detail", args=[newest.pk]),
    }


def timed_get(client, url):
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, url
    return elapsed


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    # The first query of every request is set_search_path's SET on the new
    # connection; the application does not run it.
    return len(queries.captured_queries) - 1


def measure(prepared, requests):
    """Time every page of every size, alternating sizes on each request; return {size: {page: figures}}."""
    timings = {size: {label: [] for label in pages} for size, (_client, pages) in prepared.items()}
    for round_number in range(requests + 3):
        for size, (client, pages) in prepared.items():
            use_schema(size)
            for label, url in pages.items():
                elapsed = timed_get(client, url)
                if round_number >= 3:
                    timings[size][label].append(elapsed)

    results = {}
    for size, (client, pages) in prepared.items():
        use_schema(size)
        results[size] = {}
        for label, url in pages.items():
            values = sorted(timings[size][label])
            p95 = values[min(len(values) - 1, round(0.95 * len(values)) - 1)]
            results[size][label] = (statistics.median(values), p95, count_queries(client, url))
    return results


def main():
    arguments = parse_arguments()
    sizes = sorted(int(item) for item in arguments.sizes.split(","))
    recreate_database(arguments.database_url)
    try:
        setup_django(arguments.database_url)
        prepared = {size: prepare_size(size, arguments.contact_messages) for size in sizes}
        load_before = os.getloadavg()[0]
        results = measure(prepared, arguments.requests)
        load_after = os.getloadavg()[0]
    finally:
        from django.db import connections

        connections.close_all()
        if not arguments.keep:
            recreate_database(arguments.database_url, drop_only=True)

    print(f"\n{arguments.requests} requests per page and size, alternating sizes; "
          f"load average {load_before:.1f} before, {load_after:.1f} after")
    for size in sizes:
        print(f"\n{size:,} messages")
        for label, (median, p95, queries) in results[size].items():
            print(f"  {label:16} median {median:7.1f} ms   p95 {p95:7.1f} ms   {queries} queries")
    print_ratios(results)


def print_ratios(results):
    """Print p95 of the largest size over p95 of the smallest, and both query counts."""
    small_size, large_size = min(results), max(results)
    if small_size == large_size:
        return
    small, large = results[small_size], results[large_size]
    print(f"\np95 at {large_size:,} / p95 at {small_size:,}, and query counts:")
    for label in small:
        ratio = large[label][1] / small[label][1]
        same = "same" if large[label][2] == small[label][2] else "DIFFERENT"
        print(f"  {label:16} {ratio:4.2f}x   queries {small[label][2]} / {large[label][2]} ({same})")


if __name__ == "__main__":
    main()
