"""Account-level services: open sessions, record failures, pause and resume.

A failed login is counted; after MAX_AUTH_FAILURES in a row the account is
paused with a plain-language reason and the owner is told once, instead of
retrying until the provider locks the account. A new password resumes it.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from . import crypto, errors
from .errors import MailError
from .imap import ImapSession
from .smtp import SmtpSession
from .models import MailAccount

logger = logging.getLogger(__name__)

MAX_AUTH_FAILURES = 3

# The MailAccount fields that decide where a stored password is sent. After
# a change to any of them the stored password is not reused, because a user
# who may edit the servers without knowing the password could otherwise have
# it sent to a server of their own.
INCOMING_DESTINATION_FIELDS = ("incoming_host", "incoming_port", "incoming_security", "incoming_login")
OUTGOING_DESTINATION_FIELDS = ("smtp_host", "smtp_port", "smtp_security", "smtp_same_credentials", "smtp_login")


def incoming_credentials(account):
    """Return (login, secret, is_oauth) for the incoming server."""
    if account.auth_method == MailAccount.AuthMethod.OAUTH2:
        from . import oauth

        return account.incoming_login, oauth.get_access_token(account), True
    try:
        return account.incoming_login, account.get_incoming_password(), False
    except crypto.DecryptionError as exc:
        raise MailError(errors.SECRET_UNREADABLE, str(exc)) from None


@contextmanager
def open_imap(account):
    """Yield a logged-in ImapSession for the account; logs out afterwards."""
    session = ImapSession(
        account.incoming_host, account.incoming_port, account.incoming_security,
        settings.EMAILSYNC_TIMEOUT,
    )
    try:
        session.connect()
        _log_in(account, session)
        yield session
    finally:
        session.close()


def _log_in(account, session):
    login, secret, is_oauth = incoming_credentials(account)
    if is_oauth:
        session.oauth2_login(login, secret)
        session.token_expires_at = account.oauth_access_token_expires_at
    else:
        session.login(login, secret)


def renew_login_if_expiring(account, session):
    """Log in again on a new connection when the session's access token expires soon.

    Exchange Online closes an IMAP session once its access token expires
    ("BYE Session invalidated - AccessTokenExpired"), so a long sync moves
    to a fresh connection and token before that. Returns True when it did:
    the caller must select its folder again. Password sessions never expire.
    """
    from . import oauth

    if session.token_expires_at is None or not oauth.expires_soon(session.token_expires_at):
        return False
    session.close()
    session.connect()
    _log_in(account, session)
    logger.info("Logged in again with a fresh access token: account=%s", account.pk)
    return True


@contextmanager
def open_smtp(account):
    """Yield an SmtpSession logged in to the account's outgoing server; quits afterwards."""
    session = SmtpSession(account.smtp_host, account.smtp_port, account.smtp_security, settings.EMAILSYNC_TIMEOUT)
    try:
        session.connect()
        if account.auth_method == MailAccount.AuthMethod.OAUTH2:
            from . import oauth

            session.oauth2_login(account.get_smtp_login(), oauth.get_access_token(account))
        else:
            try:
                password = account.get_smtp_password()
            except crypto.DecryptionError as exc:
                raise MailError(errors.SECRET_UNREADABLE, str(exc)) from None
            session.login(account.get_smtp_login(), password)
        yield session
    finally:
        session.close()


def record_success(account):
    """Clear the failure counters after a sync that reached the server."""
    now = timezone.now()
    MailAccount.objects.filter(pk=account.pk).update(
        consecutive_auth_failures=0, consecutive_failures=0, next_attempt_at=None,
        last_error_code="", last_error_detail="", last_synced_at=now,
    )
    account.consecutive_auth_failures = 0
    account.consecutive_failures = 0
    account.last_error_code = ""
    account.last_synced_at = now


def record_error(account, error):
    """Store a failed sync's reason; pause the account on repeated login failures.

    Returns True when this call paused the account.
    """
    now = timezone.now()
    account.refresh_from_db(fields=["consecutive_auth_failures", "consecutive_failures", "status"])
    account.last_error_code = error.code
    account.last_error_detail = error.detail[:2000]
    account.last_error_at = now

    if error.is_auth_failure:
        account.consecutive_auth_failures += 1
    else:
        account.consecutive_failures += 1
        # Back off on transient failures: 1, 2, 4 ... minutes, at most an hour.
        delay = min(2 ** (account.consecutive_failures - 1), 60)
        account.next_attempt_at = now + timedelta(minutes=delay)

    paused = False
    is_permanent = error.code in (errors.OAUTH_REVOKED, errors.SECRET_UNREADABLE)
    if error.is_auth_failure and (is_permanent or account.consecutive_auth_failures >= MAX_AUTH_FAILURES):
        if account.status == MailAccount.Status.ACTIVE:
            account.status = MailAccount.Status.PAUSED
            account.pause_reason = error.code
            paused = True

    account.save(update_fields=[
        "last_error_code", "last_error_detail", "last_error_at", "consecutive_auth_failures",
        "consecutive_failures", "next_attempt_at", "status", "pause_reason",
    ])
    logger.warning(
        "Sync failed: account=%s code=%s auth_failures=%s paused=%s detail=%s",
        account.pk, error.code, account.consecutive_auth_failures, paused, error.detail[:300],
    )
    if paused:
        from .notifications import send_account_paused

        send_account_paused(account)
    return paused


def pause(account, reason):
    MailAccount.objects.filter(pk=account.pk).update(status=MailAccount.Status.PAUSED, pause_reason=reason)
    account.status = MailAccount.Status.PAUSED
    account.pause_reason = reason
    logger.info("Account paused: account=%s reason=%s", account.pk, reason)


def resume(account):
    """Make a paused account sync again, with fresh failure counters, and queue a sync.

    The error that paused it is cleared: it described the old credentials,
    and the queued sync reports a new one if it still fails.
    """
    from .tasks import queue_sync

    MailAccount.objects.filter(pk=account.pk).update(
        status=MailAccount.Status.ACTIVE, pause_reason="", consecutive_auth_failures=0,
        consecutive_failures=0, next_attempt_at=None, last_error_code="", last_error_detail="", last_error_at=None,
    )
    account.status = MailAccount.Status.ACTIVE
    account.pause_reason = ""
    account.consecutive_auth_failures = 0
    account.consecutive_failures = 0
    account.next_attempt_at = None
    account.last_error_code, account.last_error_detail, account.last_error_at = "", "", None
    transaction.on_commit(lambda: queue_sync(account.pk))
    logger.info("Account resumed: account=%s", account.pk)


def change_password(account, password, smtp_password=None, also_save=()):
    """Store new credentials; an account paused for its login resumes.

    Only the credentials and the fields named in also_save are written, so
    a sync running meanwhile keeps its lease and progress.
    """
    account.set_incoming_password(password)
    fields = ["incoming_password_encrypted", "updated_at", *also_save]
    if account.auth_method == MailAccount.AuthMethod.OAUTH2:
        fields += _drop_oauth_grant(account)
    if smtp_password is not None:
        account.set_smtp_password(smtp_password)
        fields.append("smtp_password_encrypted")
    account.save(update_fields=fields)
    if account.status == MailAccount.Status.PAUSED and account.pause_reason in errors.AUTH_CODES:
        resume(account)


def passwords_to_retype(changed, smtp_same_credentials):
    """Return which stored passwords a change to the fields `changed` makes unusable.

    `changed` contains MailAccount field names, and `smtp_same_credentials`
    is its value after the change. The result maps "incoming" and "smtp" to
    the changed fields that require that password to be typed again. While
    the outgoing server uses the same credentials it is sent the incoming
    password, so a change to it requires the incoming one.
    """
    retype = {}
    incoming = [name for name in INCOMING_DESTINATION_FIELDS if name in changed]
    if incoming:
        retype["incoming"] = incoming
    # The outgoing username is not used while the credentials are shared.
    ignored = {"smtp_login"} if smtp_same_credentials else set()
    outgoing = [name for name in OUTGOING_DESTINATION_FIELDS if name in changed and name not in ignored]
    if outgoing:
        retype.setdefault("incoming" if smtp_same_credentials else "smtp", []).extend(outgoing)
    return retype


def retype_password_error(field_names):
    """Return the form error that requests the password again after a change to `field_names`."""
    labels = ", ".join(str(MailAccount._meta.get_field(name).verbose_name) for name in field_names)
    return ValidationError(
        _("The stored password is not reused after a change to these fields: %(fields)s. "
          "Enter the password again."),
        code="password_required", params={"fields": labels},
    )


def _drop_oauth_grant(account):
    """Switch account from OAuth 2.0 to its new password; return the fields to save.

    The grant is revoked at the provider after the commit, best effort, so
    that a failed save never leaves the mailbox without any credentials.
    """
    from . import oauth

    granted = MailAccount(
        pk=account.pk, provider=account.provider,
        oauth_refresh_token_encrypted=account.oauth_refresh_token_encrypted,
    )
    transaction.on_commit(lambda: oauth.revoke_refresh_token(granted))
    account.auth_method = MailAccount.AuthMethod.PASSWORD
    oauth.clear_tokens(account)
    return list(oauth.TOKEN_FIELDS)


def request_sync(account):
    MailAccount.objects.filter(pk=account.pk).update(sync_requested_at=timezone.now())


def increment_progress(account, done):
    MailAccount.objects.filter(pk=account.pk).update(progress_done=F("progress_done") + done)
