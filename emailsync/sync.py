"""Turn an IMAP account's server state into stored rows.

Algorithm for one account:
1. Claim the account with a lease, so one worker at a time syncs it.
2. Log in and LIST the folders; record each one's role (INBOX, Sent by its
   SPECIAL-USE flag or common name, Trash/Junk/Drafts skipped).
3. For every folder to sync, SELECT it read-only and compare UIDVALIDITY
   with the stored one; a change drops the folder's old locations and
   starts the folder again (stored messages are found again by content,
   so nothing is duplicated).
4. Until a folder's first pass completes, fetch the UIDs on the server
   that have no stored location, newest first. Afterwards fetch only UIDs
   above the checkpoint, oldest first, moving the checkpoint with each
   batch in the same transaction as the batch's rows.
5. Drop locations of messages expunged on the server, and messages that
   no longer sit in any folder.
6. Release the lease and record the outcome on the account.
"""

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from . import accounts, errors, imap
from .errors import MailError
from .models import Folder, MailAccount, Message, MessageLocation, SyncFailure
from .storage import FetchedMessage, store_batch

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300

SENT_NAMES = {
    "sent", "sent items", "sent messages", "sent mail", "[gmail]/sent mail", "inbox.sent",
    "inbox/sent", "enviados", "elementos enviados", "correo enviado", "mensajes enviados",
    "gesendet", "gesendete elemente", "envoyés", "éléments envoyés", "posta inviata",
}
SKIPPED_NAMES = {
    "trash", "deleted items", "deleted messages", "papelera", "elementos eliminados",
    "[gmail]/trash", "[gmail]/papelera", "inbox.trash", "junk", "junk e-mail", "junk email",
    "spam", "bulk mail", "[gmail]/spam", "correo no deseado", "inbox.junk", "drafts",
    "borradores", "[gmail]/drafts", "[gmail]/borradores", "inbox.drafts", "entwürfe",
    "papierkorb",
}


@dataclass
class SyncReport:
    account_id: int
    created: int = 0
    linked: int = 0
    failed: int = 0
    removed: int = 0
    folders: int = 0
    folder_errors: list = field(default_factory=list)
    error: MailError | None = None
    skipped_reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self):
        return self.error is None and not self.skipped_reason


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(account_id, owner, seconds=LEASE_SECONDS):
    """Take the account's lease atomically; False if a live worker holds it."""
    now = timezone.now()
    claimed = MailAccount.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner),
        pk=account_id,
    ).update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
    return claimed == 1


def renew(account_id, owner, seconds=LEASE_SECONDS):
    """Extend the lease; False when another worker took it over meanwhile."""
    return MailAccount.objects.filter(pk=account_id, lease_owner=owner).update(
        lease_expires_at=timezone.now() + timedelta(seconds=seconds)
    ) == 1


def release(account_id, owner):
    MailAccount.objects.filter(pk=account_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


class LeaseLost(Exception):
    """Another worker took the account over; stop without writing more."""


def sync_account(account_id, full=False, progress=None, worker=None):
    """Sync one account now and return a SyncReport.

    `progress(done, total)` is called after each batch. `full` forgets the
    folders' checkpoints and compares every UID on the server again.
    """
    started = time.monotonic()
    report = SyncReport(account_id=account_id)
    owner = worker or worker_name()
    account = MailAccount.objects.select_related("owner").filter(pk=account_id).first()

    if account is None:
        # Deactivated after this sync was queued.
        report.skipped_reason = "deactivated"
        return report
    if account.status != MailAccount.Status.ACTIVE:
        report.skipped_reason = "paused"
        return report
    if not claim(account_id, owner):
        report.skipped_reason = "busy"
        logger.info("Sync skipped, another worker holds the lease: account=%s", account_id)
        return report

    try:
        _run_and_record_error(account, report, full, progress, owner)
    except LeaseLost:
        if is_deactivating(account_id):
            _stop_for_deactivation(report)
        else:
            report.skipped_reason = "lease_lost"
            logger.warning("Lease lost during sync: account=%s", account_id)
    except (DatabaseError, MailAccount.DoesNotExist):
        # Deactivation deletes the account's rows under a running sync, so
        # a write between two lease renewals can hit a row that is gone.
        if not is_deactivating(account_id):
            raise
        _stop_for_deactivation(report)
    finally:
        release(account_id, owner)
        report.seconds = time.monotonic() - started

    logger.info(
        "Sync finished: account=%s created=%s linked=%s failed=%s removed=%s folders=%s "
        "folder_errors=%s error=%s seconds=%.2f",
        account_id, report.created, report.linked, report.failed, report.removed, report.folders,
        len(report.folder_errors), report.error.code if report.error else "", report.seconds,
    )
    return report


def is_deactivating(account_id):
    """Return True when the account is gone or a deactivation is deleting it."""
    return not MailAccount.objects.filter(pk=account_id).exclude(pause_reason=errors.DEACTIVATING).exists()


def _stop_for_deactivation(report):
    report.skipped_reason = "deactivated"
    logger.info("Sync stopped, the account is being deactivated: account=%s", report.account_id)


def _run_and_record_error(account, report, full, progress, owner):
    try:
        _run(account, report, full, progress, owner)
    except MailError as error:
        report.error = error
        accounts.record_error(account, error)


def _run(account, report, full, progress, owner):
    if account.incoming_protocol != "imap":
        from . import pop3_sync

        pop3_sync.sync_pop3(account, report, progress, owner)
        _finish(account, report)
        return

    MailAccount.objects.filter(pk=account.pk).update(
        sync_started_at=timezone.now(), progress_done=0, progress_total=0,
    )
    with accounts.open_imap(account) as session:
        account.capabilities = session.capabilities()
        MailAccount.objects.filter(pk=account.pk).update(capabilities=account.capabilities)
        folders = refresh_folders(account, session)
        context = _FolderContext(account, session, report, progress, owner, account.own_addresses())
        for folder in folders:
            if not renew(account.pk, owner):
                raise LeaseLost()
            if full:
                _forget_checkpoint(folder)
            try:
                _sync_folder(context, folder)
                report.folders += 1
            except MailError as error:
                if error.code in (errors.CONNECTION_LOST, errors.TIMED_OUT):
                    raise
                _record_folder_error(folder, error)
                report.folder_errors.append((folder.name, error.code))

    _finish(account, report)


def _finish(account, report):
    accounts.record_success(account)
    if account.first_synced_at is None:
        _mark_first_sync(account)


def _mark_first_sync(account):
    """Record the first completed sync and tell the owner, exactly once."""
    now = timezone.now()
    updated = MailAccount.objects.filter(pk=account.pk, first_synced_at__isnull=True).update(first_synced_at=now)
    account.first_synced_at = now
    if updated:
        from .notifications import send_first_sync_done

        count = Message.objects.filter(account=account).count()
        transaction.on_commit(lambda: send_first_sync_done(account, count))


@dataclass
class _FolderContext:
    account: MailAccount
    session: imap.ImapSession
    report: SyncReport
    progress: object
    owner: str
    own_addresses: set


# --- Folders ------------------------------------------------------------


def folder_role(info):
    """Decide a listed folder's role from its SPECIAL-USE flags, then its name."""
    name = info.name.lower()
    if name == "inbox":
        return Folder.Role.INBOX
    if info.has_flag(imap.SENT):
        return Folder.Role.SENT
    if any(info.has_flag(flag) for flag in (imap.TRASH, imap.JUNK, imap.DRAFTS)):
        return Folder.Role.SKIPPED
    if info.has_flag(imap.ALL):
        return Folder.Role.ALL_MAIL
    if name in SKIPPED_NAMES:
        return Folder.Role.SKIPPED
    return Folder.Role.OTHER


def refresh_folders(account, session):
    """Record the server's folders; return those to sync, INBOX first."""
    listed = session.list_folders()
    roles = {info.name: folder_role(info) for info in listed}
    if Folder.Role.SENT not in roles.values():
        # No SPECIAL-USE \Sent flag: fall back to the usual names.
        for info in listed:
            if roles[info.name] == Folder.Role.OTHER and info.name.lower() in SENT_NAMES:
                roles[info.name] = Folder.Role.SENT
                break

    existing = {folder.name: folder for folder in account.folders.all()}
    for info in listed:
        role = roles[info.name]
        folder = existing.get(info.name)
        if folder is None:
            folder = Folder(account=account, name=info.name)
            folder.is_sync_enabled = role in (Folder.Role.INBOX, Folder.Role.SENT)
            existing[info.name] = folder
        folder.delimiter = info.delimiter
        folder.flags = [flag.decode("ascii", "replace") if isinstance(flag, bytes) else flag for flag in info.flags]
        folder.role = role
        folder.is_selectable = info.is_selectable
        folder.exists_on_server = True
        if role in (Folder.Role.INBOX, Folder.Role.SENT):
            folder.is_sync_enabled = True
        folder.save()

    listed_names = {info.name for info in listed}
    gone = [folder.pk for name, folder in existing.items() if name not in listed_names]
    Folder.objects.filter(pk__in=gone).update(exists_on_server=False)

    to_sync = [
        folder for folder in existing.values()
        if folder.name in listed_names and folder.is_sync_enabled
        and folder.is_selectable and folder.role != Folder.Role.SKIPPED
    ]
    for folder in existing.values():
        if folder.is_sync_enabled and not folder.is_selectable:
            logger.info("Folder skipped, not selectable: account=%s folder=%s", account.pk, folder.pk)
    return sorted(to_sync, key=lambda folder: (folder.role != Folder.Role.INBOX, folder.name))


def _forget_checkpoint(folder):
    folder.is_initial_sync_done = False
    folder.highest_synced_uid = 0
    Folder.objects.filter(pk=folder.pk).update(is_initial_sync_done=False, highest_synced_uid=0)


def _record_folder_error(folder, error):
    Folder.objects.filter(pk=folder.pk).update(
        last_error_code=error.code, last_error_detail=error.detail[:2000], last_error_at=timezone.now(),
    )
    logger.warning(
        "Folder sync failed: account=%s folder=%s code=%s detail=%s",
        folder.account_id, folder.pk, error.code, error.detail[:300],
    )


def _sync_folder(context, folder):
    session = context.session
    status = session.select(folder.name)

    if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
        _reset_folder(folder, status.uidvalidity)
    folder.uidvalidity = status.uidvalidity

    if folder.is_initial_sync_done:
        todo = session.search_uids_above(folder.highest_synced_uid)
        todo += _failures_due(folder)
        _fetch_and_store(context, folder, sorted(set(todo)), advance_checkpoint=True)
    else:
        server_uids = session.search_uids(since=_window_start(context.account))
        known = set(
            MessageLocation.objects.filter(folder=folder, uidvalidity=status.uidvalidity)
            .values_list("uid", flat=True)
        )
        todo = sorted(set(server_uids) - known, reverse=True)
        _fetch_and_store(context, folder, todo, advance_checkpoint=False)
        folder.is_initial_sync_done = True
        folder.highest_synced_uid = max(server_uids + [folder.highest_synced_uid, 0])

    context.report.removed += _remove_expunged(context, folder, status)

    now = timezone.now()
    folder.uidnext = status.uidnext
    folder.highestmodseq = status.highestmodseq
    folder.server_message_count = status.exists
    folder.last_synced_at = now
    folder.last_error_code = ""
    folder.last_error_detail = ""
    folder.backlog = 0
    folder.save(update_fields=[
        "uidvalidity", "uidnext", "highestmodseq", "server_message_count", "last_synced_at",
        "last_error_code", "last_error_detail", "backlog", "is_initial_sync_done", "highest_synced_uid",
    ])


def _window_start(account):
    if not account.sync_window_days:
        return None
    return (timezone.now() - timedelta(days=account.sync_window_days)).date()


def _failures_due(folder):
    return list(
        SyncFailure.objects.filter(
            folder=folder, uidvalidity=folder.uidvalidity, resolved_at__isnull=True,
            next_retry_at__lte=timezone.now(),
        ).values_list("uid", flat=True)
    )


def _reset_folder(folder, new_uidvalidity):
    """Forget a folder's UIDs after a UIDVALIDITY change (RFC 3501 2.3.1.1)."""
    logger.warning(
        "UIDVALIDITY changed, folder starts again: account=%s folder=%s old=%s new=%s",
        folder.account_id, folder.pk, folder.uidvalidity, new_uidvalidity,
    )
    with transaction.atomic():
        MessageLocation.objects.filter(folder=folder).exclude(uidvalidity=new_uidvalidity).delete()
        SyncFailure.objects.filter(folder=folder).exclude(uidvalidity=new_uidvalidity).delete()
        folder.is_initial_sync_done = False
        folder.highest_synced_uid = 0
        Folder.objects.filter(pk=folder.pk).update(
            uidvalidity=new_uidvalidity, is_initial_sync_done=False, highest_synced_uid=0,
        )


def _fetch_and_store(context, folder, uids, advance_checkpoint):
    """Fetch uids in batches; store each batch in one transaction."""
    if not uids:
        return
    account = context.account
    batch_size = settings.EMAILSYNC_BATCH_SIZE
    MailAccount.objects.filter(pk=account.pk).update(progress_total=_add_total(account, len(uids)))
    Folder.objects.filter(pk=folder.pk).update(backlog=len(uids))

    for start in range(0, len(uids), batch_size):
        chunk = uids[start:start + batch_size]
        response = context.session.fetch_messages(chunk)
        batch = []
        for uid in chunk:
            item = response.get(uid)
            if item is None or imap.BODY_KEY not in item:
                # Expunged between SEARCH and FETCH: nothing to store.
                continue
            batch.append(FetchedMessage(
                uid=uid,
                raw=bytes(item[imap.BODY_KEY]),
                internal_date=item.get(b"INTERNALDATE"),
                flags=list(item.get(b"FLAGS", ())),
            ))

        checkpoint = max(chunk) if advance_checkpoint else None
        # The renewal locks the account row until the batch commits. A
        # deactivation that starts meanwhile waits for the batch and then
        # deletes it, and the next renewal fails.
        with transaction.atomic():
            if not renew(account.pk, context.owner):
                raise LeaseLost()
            result = store_batch(account, folder, folder.uidvalidity, batch, context.own_addresses, checkpoint)
        context.report.created += result.created
        context.report.linked += result.linked
        context.report.failed += result.failed

        accounts.increment_progress(account, len(chunk))
        Folder.objects.filter(pk=folder.pk).update(backlog=max(len(uids) - start - len(chunk), 0))
        if context.progress:
            context.progress(len(chunk), len(uids))


def _add_total(account, count):
    account.progress_total = (account.progress_total or 0) + count
    return account.progress_total


def _remove_expunged(context, folder, status):
    """Drop locations the server no longer has; return messages deleted.

    Cheap test first: when the server's message count equals the stored
    location count, nothing was expunged (new mail was fetched above).
    """
    stored = MessageLocation.objects.filter(folder=folder, uidvalidity=status.uidvalidity)
    if stored.count() == status.exists:
        return 0
    on_server = set(context.session.search_uids())
    gone = [uid for uid in stored.values_list("uid", flat=True) if uid not in on_server]
    if not gone:
        return 0
    with transaction.atomic():
        message_ids = list(stored.filter(uid__in=gone).values_list("message_id", flat=True))
        stored.filter(uid__in=gone).delete()
        removed = delete_orphans(context.account, message_ids)
    logger.info(
        "Expunged on server: account=%s folder=%s locations=%s messages_deleted=%s",
        folder.account_id, folder.pk, len(gone), removed,
    )
    return removed


def delete_orphans(account, message_ids):
    """Delete synced messages among message_ids that sit in no folder now.

    Messages sent from the CRM stay: they are the CRM's own record.
    """
    orphans = Message.objects.filter(
        pk__in=message_ids, account=account, origin=Message.Origin.SYNC, locations__isnull=True,
    )
    _total, per_model = orphans.delete()
    return per_model.get(Message._meta.label, 0)
