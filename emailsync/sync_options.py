"""The owner's choices about what the sync copies, and starting it on request.

INBOX and Sent are always synced. The owner adds other folders, picks how
far back the first sync goes, and may queue a sync at once.
"""

import logging

from django.db import transaction
from django.utils import timezone

from . import accounts, tasks
from .folders import refresh_folders
from .models import Folder, MailAccount
from .services import require_permission

logger = logging.getLogger(__name__)


def update_sync_options(account, *, store_sent_on_server, sync_window_days, folder_ids):
    """Save what the sync copies: the first sync's window and the extra folders.

    folder_ids lists the extra folders to sync; INBOX and Sent are always
    synced and Trash, Junk, Drafts and \\Noselect folders never, whatever it
    holds. Returns True when the change needs a full sync: a longer window
    after the first sync reaches further back only by comparing every UID
    on the server again.
    """
    require_permission(account.owner)
    reaches_further = account.first_synced_at is not None and _window_grows(
        account.sync_window_days, sync_window_days,
    )
    with transaction.atomic():
        account.store_sent_on_server = store_sent_on_server and account.is_imap
        account.sync_window_days = sync_window_days
        account.save(update_fields=["store_sent_on_server", "sync_window_days", "updated_at"])
        offered = selectable_extra_folders(account)
        offered.filter(pk__in=folder_ids).update(is_sync_enabled=True)
        offered.exclude(pk__in=folder_ids).update(is_sync_enabled=False)
    logger.info(
        "Sync options changed: account=%s window_days=%s extra_folders=%s",
        account.pk, sync_window_days, offered.filter(is_sync_enabled=True).count(),
    )
    return reaches_further


def _window_grows(old_days, new_days):
    if old_days is None:
        return False
    return new_days is None or new_days > old_days


def selectable_extra_folders(account):
    """Return the account's folders that the owner may choose to sync.

    INBOX and Sent are always synced, so they are not offered; Trash,
    Junk, Drafts and folders that cannot hold messages are never synced.
    """
    return account.folders.filter(
        exists_on_server=True, is_selectable=True, role__in=[Folder.Role.OTHER, Folder.Role.ALL_MAIL],
    ).order_by("name")


def refresh_folder_list(account):
    """List the account's folders on its IMAP server and record them.

    The setup pages call this right after connecting, so the owner can
    choose extra folders before the first sync. Raises MailError.
    """
    if not account.is_imap:
        return
    with accounts.open_imap(account) as session:
        capabilities = session.capabilities()
        listed = session.list_folders()
    MailAccount.objects.filter(pk=account.pk).update(capabilities=capabilities)
    account.capabilities = capabilities
    refresh_folders(account, listed, is_gmail=account_is_gmail(account))
    logger.info("Folder list read: account=%s folders=%s", account.pk, len(listed))


def account_is_gmail(account):
    """Tell from the stored capabilities whether the server is Gmail's."""
    return "X-GM-EXT-1" in {capability.upper() for capability in account.capabilities or []}


def queue_sync_now(account, full=False):
    """Queue a sync of account at once; return False when it is paused.

    This also ends the hold of a newly connected account and any backoff
    after a failure, because the owner asked for a sync now. `full`
    compares every UID on the server again (see sync.sync_account).
    """
    if account.status != MailAccount.Status.ACTIVE:
        return False
    now = timezone.now()
    MailAccount.objects.filter(pk=account.pk).update(sync_requested_at=now, next_attempt_at=None)
    account.sync_requested_at, account.next_attempt_at = now, None
    tasks.queue_sync(account.pk, full)
    logger.info("Sync queued by the owner: account=%s full=%s", account.pk, full)
    return True
