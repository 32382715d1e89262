"""The sync status shown to a mailbox's owner: state, progress and last error.

The mailbox page renders it and its progress endpoint returns it as JSON,
so both always agree.
"""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from . import errors
from .models import MailAccount

SETUP = "setup"
WAITING = "waiting"
QUEUED = "queued"
SYNCING = "syncing"
PAUSED = "paused"
PROBLEM = "problem"
UP_TO_DATE = "ok"

# States in which the page keeps asking for news.
CHANGING_STATES = {QUEUED, SYNCING, WAITING}


@dataclass
class MailboxStatus:
    state: str
    label: str
    message: str
    done: int
    total: int
    last_synced_at: object
    last_error: str
    failed_count: int
    is_first_sync_done: bool

    @property
    def percent(self):
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)

    @property
    def progress_text(self):
        return _("%(done)s of %(total)s messages") % {"done": self.done, "total": self.total}

    @property
    def is_changing(self):
        return self.state in CHANGING_STATES

    def as_json(self):
        last_synced = date_format(timezone.localtime(self.last_synced_at), "DATETIME_FORMAT") if self.last_synced_at else ""
        return {
            "state": self.state, "label": self.label, "message": self.message,
            "done": self.done, "total": self.total, "percent": self.percent, "progress_text": self.progress_text,
            "last_synced": last_synced, "last_error": self.last_error,
            "failed_count": self.failed_count, "is_first_sync_done": self.is_first_sync_done,
            "is_changing": self.is_changing,
        }


def is_syncing(account, now):
    return bool(account.lease_owner) and account.lease_expires_at is not None and account.lease_expires_at > now


def is_queued(account):
    requested, started = account.sync_requested_at, account.sync_started_at
    return requested is not None and (started is None or requested > started)


def error_text(account, code):
    return str(errors.message_for(code, host=account.incoming_host, port=account.incoming_port))


def mailbox_status(account, now=None):
    """Return the MailboxStatus of account, reading the row as it is now."""
    now = now or timezone.now()
    state, label, message = _describe(account, now)
    return MailboxStatus(
        state=state, label=label, message=message,
        done=account.progress_done, total=account.progress_total,
        last_synced_at=account.last_synced_at,
        last_error=error_text(account, account.last_error_code) if account.last_error_code else "",
        failed_count=account.failures.filter(resolved_at__isnull=True).count(),
        is_first_sync_done=account.first_synced_at is not None,
    )


def _describe(account, now):
    """Return (state, label, message) in the order that matters to the owner."""
    if account.status == MailAccount.Status.PAUSED:
        reason = error_text(account, account.pause_reason) if account.pause_reason else ""
        return PAUSED, _("Paused"), reason or _("An administrator paused the sync of this mailbox.")
    if is_syncing(account, now):
        if account.progress_total:
            message = _("Copying messages: %(done)s of %(total)s.") % {
                "done": account.progress_done, "total": account.progress_total,
            }
        else:
            message = _("Looking for messages on the server…")
        return SYNCING, _("Syncing"), message
    if is_queued(account):
        return QUEUED, _("Starting"), _("The sync starts as soon as a worker is free, usually within a minute.")
    if account.first_synced_at is None and account.sync_requested_at is None and account.last_synced_at is None:
        return SETUP, _("Setup not finished"), _("Choose the last options and start the first sync.")
    if account.last_error_code:
        return PROBLEM, _("Sync problem"), error_text(account, account.last_error_code)
    if account.first_synced_at is None:
        return WAITING, _("Waiting for the first sync"), _("The first sync starts automatically in a few minutes.")
    return UP_TO_DATE, _("Up to date"), _("New mail arrives automatically every few minutes.")
