"""Time the operators' admin lists and health page on a database with a million messages.

Usage (PostgreSQL, the database is created and filled on the first run):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python bench/admin_changelists.py [--messages 1000000]

It prints per page the median time of five requests, the median time of
their SQL, and the number of SQL queries each request ran. Rows are written with INSERT ... SELECT over
generate_series, so filling a million messages with two participants each
takes a minute or so. SQLite is not supported by the filler.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

ACCOUNTS = 50
LICENCES = 20_000


@transaction.atomic
def fill(message_count):
    """Create users, accounts, folders, licences, messages and participants once."""
    from emailsync.models import MailAccount, Message

    if Message.objects.exists():
        return
    user_model = get_user_model()
    user_model.objects.create_superuser("bench", "bench@crm.example", "bench")
    for number in range(ACCOUNTS):
        owner = user_model.objects.create_user(f"rep{number}")
        account = MailAccount(
            owner=owner, email_address=f"rep{number}@crm.example", incoming_host="imap.crm.example",
            incoming_port=993, incoming_login=f"rep{number}", smtp_host="smtp.crm.example", smtp_port=465,
        )
        account.set_incoming_password("bench-password")
        account.save()
        account.folders.create(name="INBOX", is_sync_enabled=True, backlog=number)

    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT '!', false, 'licensee' || n, '', '', '', false, true, now()
            FROM generate_series(1, %s) AS n
        """, [LICENCES])
        cursor.execute("""
            INSERT INTO crm_licence (user_id, kind, expires_on, updated_at)
            SELECT id, 'paid', CURRENT_DATE + ((id %% 400) - 100), now()
            FROM auth_user WHERE username LIKE 'licensee%%'
        """, [])
        cursor.execute("""
            INSERT INTO emailsync_message (account_id, owner_id, origin, direction, content_hash, size,
                message_id, in_reply_to, "references", thread_key, subject, sort_date, from_address,
                from_display, to_display, cc_display, is_body_parsed, snippet, text_body, html_body,
                has_attachments, attachments, parse_problems, created_at)
            SELECT a.id, a.owner_id, 'sync', CASE WHEN n %% 3 = 0 THEN 'sent' ELSE 'received' END,
                md5(n::text), 4000 + n %% 5000, '<' || n || '@bench.example>', '', '', '',
                'Subject ' || n, now() - (n || ' minutes')::interval, 'sender' || (n %% 5000) || '@acme.example',
                '', '', '', false, '', '', '', n %% 7 = 0, '[]', '[]', now()
            FROM generate_series(1, %s) AS n
            JOIN emailsync_mailaccount a ON a.id = (SELECT min(id) FROM emailsync_mailaccount) + n %% %s
        """, [message_count, ACCOUNTS])
        cursor.execute("""
            INSERT INTO emailsync_participant (message_id, role, address, display_name, owner_id, sort_date)
            SELECT id, 'from', from_address, '', owner_id, sort_date FROM emailsync_message
            UNION ALL
            SELECT id, 'to', 'rep' || (account_id %% 50) || '@crm.example', '', owner_id, sort_date
            FROM emailsync_message
        """, [])


def time_page(client, url, query):
    """Return the median seconds of five requests, of their SQL, and the query count."""
    totals, sql_times = [], []
    for _ in range(5):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url, query)
            totals.append(time.perf_counter() - started)
        assert response.status_code in (200, 503), (url, response.status_code)
        sql_times.append(sum(float(item["time"]) for item in queries.captured_queries))
    return statistics.median(totals), statistics.median(sql_times), len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="Messages to create on the first run.")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database; the filler uses generate_series.")

    call_command("migrate", verbosity=0)
    fill(options.messages)
    # As autovacuum would leave a table that stopped growing: statistics
    # and the visibility map that index-only scans need.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench"))

    messages = reverse("admin:emailsync_message_changelist")
    pages = [
        ("accounts", reverse("admin:emailsync_mailaccount_changelist"), {}),
        ("accounts, failed filter", reverse("admin:emailsync_mailaccount_changelist"), {"failed": "yes"}),
        ("messages, first page", messages, {}),
        ("messages, page 100", messages, {"p": "100"}),
        ("messages, received", messages, {"direction__exact": "received"}),
        ("messages, one account", messages, {"account__id__exact": "1"}),
        ("messages, by address", messages, {"q": "sender42@acme.example"}),
        ("messages, by Message-ID", messages, {"q": "<777@bench.example>"}),
        ("messages, subject search", messages, {"q": "Subject 999999"}),
        ("licences, expiring soon", reverse("admin:crm_licence_changelist"), {"expiry": "soon"}),
        ("licences, expired", reverse("admin:crm_licence_changelist"), {"expiry": "expired"}),
        ("health page", reverse("health"), {}),
        ("health JSON", reverse("health"), {"format": "json"}),
    ]
    total = connection.cursor()
    total.execute("SELECT count(*) FROM emailsync_message")
    print(f"PostgreSQL {connection.pg_version}, {total.fetchone()[0]:,} messages, median of 5 requests")
    print(f"{'page':28} {'total':>9} {'in SQL':>9}  queries")
    for label, url, query in pages:
        seconds, sql_seconds, queries = time_page(client, url, query)
        print(f"{label:28} {seconds * 1000:6.1f} ms {sql_seconds * 1000:6.1f} ms  {queries:3}")


if __name__ == "__main__":
    main()
