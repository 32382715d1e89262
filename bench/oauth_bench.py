"""Benchmark OAuth 2.0 token handling and XOAUTH2 logins on loopback.

Prints:
  (a) microseconds of get_access_token while the cached token is fresh
      (one decryption, no network);
  (b) milliseconds of a refresh against the tests' authorization server,
      including the row lock and the encrypted save;
  (c) milliseconds of an IMAP STARTTLS login with XOAUTH2 against a Dovecot
      whose oauth2 passdb introspects every token, next to one with a
      password on the same Dovecot.
Medians, with the maximum in brackets.

Usage: .venv/bin/python bench/oauth_bench.py [--rounds 50]
Uses a throwaway SQLite database unless DATABASE_URL is set. Needs Dovecot
installed (see README). Everything runs on 127.0.0.1.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def setup_django(database_url):
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = database_url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_servers():
    from tests.support.dovecot import Dovecot
    from tests.support.oauthserver import AuthorizationServer

    authorization = AuthorizationServer().start()
    authorization.add_client("bench-client", "bench-secret")
    dovecot = Dovecot(extra_mechanisms="xoauth2 oauthbearer")
    args = dovecot.dir / "oauth2.conf"
    args.write_text(
        f"introspection_mode = post\nintrospection_url = {authorization.url}/introspect\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
    )
    args.chmod(0o644)
    dovecot.extra_passdb = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {args}\n}}\n"
    return authorization, dovecot.start()


def new_account(authorization, dovecot):
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.utils import timezone

    from emailsync import oauth
    from emailsync.models import MailAccount
    from tests.support.oauthserver import Grant

    for name, value in authorization.settings_for("GOOGLE", "bench-client").items():
        setattr(settings, name, value)
    address = "bench@example.test"
    dovecot.add_user(address, "bench-pw")
    grant = Grant(address, "bench-client", "https://mail.google.com/ openid email")
    refresh_token = authorization.new_refresh_token(grant)
    response = authorization.token_response(grant, refresh_token=refresh_token)
    account = MailAccount(
        owner=User.objects.create_user("bench"), email_address=address, provider="gmail",
        incoming_host=dovecot.host, incoming_port=dovecot.imap_port, incoming_security="starttls",
        incoming_login=address, smtp_host=dovecot.host, smtp_port=25,
    )
    oauth.store_tokens(account, oauth.TokenSet(
        access_token=response["access_token"], refresh_token=refresh_token,
        expires_at=timezone.now() + timedelta(hours=1),
    ))
    account.save()
    return account


def cached_microseconds(account, rounds):
    """(a): the fast path, timed over batches of 100 calls."""
    from emailsync import oauth

    timings = []
    for _round in range(rounds):
        started = time.perf_counter()
        for _call in range(100):
            oauth.get_access_token(account)
        timings.append((time.perf_counter() - started) / 100 * 1e6)
    return timings


def refresh_milliseconds(account, rounds):
    """(b): every call finds the token expired and refreshes it."""
    from emailsync import oauth
    from emailsync.models import MailAccount

    timings = []
    for _round in range(rounds):
        MailAccount.objects.filter(pk=account.pk).update(oauth_access_token_expires_at=None)
        account.oauth_access_token_expires_at = None
        started = time.perf_counter()
        oauth.get_access_token(account)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def login_milliseconds(account, dovecot, rounds, use_token):
    """(c): connect with STARTTLS and log in, with the access token or the password."""
    from django.conf import settings

    from emailsync import oauth
    from emailsync.imap import ImapSession

    settings.EMAILSYNC_CA_FILE = dovecot.cafile
    timings = []
    for _round in range(rounds):
        session = ImapSession(dovecot.host, dovecot.imap_port, "starttls", 10)
        started = time.perf_counter()
        session.connect()
        if use_token:
            session.oauth2_login(account.incoming_login, oauth.get_access_token(account))
        else:
            session.login(account.incoming_login, "bench-pw")
        timings.append((time.perf_counter() - started) * 1000)
        session.close()
    return timings


def show(label, values, unit):
    print(f"{label}: {statistics.median(values):.1f} {unit} (max {max(values):.1f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3")
        authorization, dovecot = start_servers()
        try:
            account = new_account(authorization, dovecot)
            show("(a) get_access_token, cached", cached_microseconds(account, options.rounds), "µs")
            show("(b) get_access_token, refresh", refresh_milliseconds(account, options.rounds), "ms")
            show("(c) IMAP login, XOAUTH2", login_milliseconds(account, dovecot, options.rounds, True), "ms")
            show("(c) IMAP login, password", login_milliseconds(account, dovecot, options.rounds, False), "ms")
        finally:
            dovecot.stop()
            authorization.stop()


if __name__ == "__main__":
    main()
