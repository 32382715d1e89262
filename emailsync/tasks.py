"""django-q2 task entry points: thin wrappers around the sync services."""

import logging

from django.db.models import Q
from django.utils import timezone

from .models import MailAccount
from .sync import sync_account

logger = logging.getLogger(__name__)


def sync_account_task(account_id, full=False):
    report = sync_account(account_id, full=full)
    if report.ok:
        parse_bodies_task(account_id)
    return {"created": report.created, "failed": report.failed, "error": report.error.code if report.error else ""}


def parse_bodies_task(account_id, limit=2000):
    """Parse the bodies of up to `limit` messages synced with headers only."""
    from .parsing import ensure_body_parsed
    from .models import Message

    pending = Message.objects.filter(account_id=account_id, is_body_parsed=False).select_related("raw")
    count = 0
    for message in pending.order_by("-sort_date")[:limit]:
        ensure_body_parsed(message)
        count += 1
    return count


def queue_sync(account_id, full=False):
    """Queue a sync of one account on the task cluster."""
    from django_q.tasks import async_task

    return async_task("emailsync.tasks.sync_account_task", account_id, full, group=f"sync-{account_id}")


def sync_due_accounts():
    """Queue a sync for every active account that is not waiting on a backoff.

    The schedule runs this every few minutes. Accounts already being synced
    are skipped by the lease in sync_account, so queueing twice is harmless.
    """
    now = timezone.now()
    due = MailAccount.objects.filter(status=MailAccount.Status.ACTIVE).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ).filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
    queued = 0
    for account_id in due.values_list("pk", flat=True):
        queue_sync(account_id)
        queued += 1
    logger.info("Scheduled sync queued: accounts=%s", queued)
    return queued


def record_heartbeat(scheduled_for=None):
    """Stamp the task cluster's heartbeat; a schedule runs this every minute."""
    from .heartbeat import record_heartbeat as stamp

    return stamp(scheduled_for)
