"""Turn an IMAP account's server state into stored rows.

Algorithm for one account:
1. Claim the account with a lease, so one worker at a time syncs it; the
   lease is renewed after every batch and expires if the worker dies.
2. Log in and list every folder with its status in one command
   (LIST-STATUS, RFC 5819; pipelined STATUS where it is missing). A folder
   whose UIDVALIDITY, UIDNEXT, message count and HIGHESTMODSEQ are all as
   stored has not changed and is not selected at all.
3. For a changed folder: a new UIDVALIDITY drops its old locations and
   starts it again (stored messages are recognised by content, so nothing
   is duplicated). With QRESYNC (RFC 7162) one EXAMINE returns expunged
   UIDs and changed flags; with CONDSTORE a CHANGEDSINCE fetch returns the
   flags and expunges are found by comparing UID sets; without either, the
   newest messages' flags are re-read now and then.
4. New UIDs are fetched in batches. Until a folder's first pass completes
   that is every UID without a stored location, newest first; afterwards,
   UIDs above the checkpoint, oldest first, and the checkpoint moves with
   each batch in the same transaction as the batch's rows. A UID whose
   Message-ID, size and INTERNALDATE match a stored message (moved or
   copied on the server) is linked without downloading it again.
5. Messages that no longer sit in any synced folder are deleted, unless
   they were sent from the CRM.
6. The lease is released and the outcome recorded on the account and in a
   SyncRun row.
"""

import logging
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, reset_queries, transaction
from django.db.models import Q
from django.utils import timezone

from . import accounts, errors, imap
from .errors import MailError
from .folders import refresh_folders
from .models import Folder, MailAccount, Message, MessageLocation, SyncFailure, SyncRun
from .storage import FetchedMessage, link_locations, store_batch

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    account_id: int
    created: int = 0
    linked: int = 0
    failed: int = 0
    removed: int = 0
    folders: int = 0
    folders_unchanged: int = 0
    folder_errors: list = field(default_factory=list)
    error: MailError | None = None
    skipped_reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self):
        return self.error is None and not self.skipped_reason


# --- Leases ---------------------------------------------------------------


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(account_id, owner):
    """Take the account's lease atomically; False if a live worker holds it.

    One UPDATE with the condition in its WHERE clause, so two workers on
    two machines cannot both succeed.
    """
    now = timezone.now()
    claimed = MailAccount.objects.filter(
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now) | Q(lease_owner=owner),
        pk=account_id,
    ).update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=settings.EMAILSYNC_LEASE_SECONDS))
    return claimed == 1


def renew(account_id, owner):
    """Extend the lease; False when another worker took it over or the
    account was deactivated meanwhile."""
    return MailAccount.objects.filter(
        pk=account_id, lease_owner=owner, status=MailAccount.Status.ACTIVE,
    ).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.EMAILSYNC_LEASE_SECONDS)
    ) == 1


def release(account_id, owner):
    MailAccount.objects.filter(pk=account_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


class LeaseLost(Exception):
    """Another worker took the account over, or it was paused or deleted."""


# --- Accounts -------------------------------------------------------------


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
        report.skipped_reason = "deleted"
        return report
    if account.status != MailAccount.Status.ACTIVE:
        report.skipped_reason = "paused"
        return report
    if not claim(account_id, owner):
        report.skipped_reason = "busy"
        logger.info("Sync skipped, another worker holds the lease: account=%s", account_id)
        return report

    run = SyncRun.objects.create(account=account, worker=owner, started_at=timezone.now())
    try:
        _run_and_record_error(account, report, full, progress, owner)
    except LeaseLost:
        if is_deactivating(account_id):
            _stop_for_deactivation(report)
        else:
            report.skipped_reason = "lease_lost"
            logger.warning("Sync stopped, lease lost or account paused: account=%s", account_id)
    except (DatabaseError, MailAccount.DoesNotExist):
        # Deactivation deletes the account's rows under a running sync, so
        # a write between two lease renewals can hit a row that is gone.
        if not is_deactivating(account_id):
            raise
        _stop_for_deactivation(report)
    finally:
        release(account_id, owner)
        report.seconds = time.monotonic() - started
        _close_run(run, report)

    logger.info(
        "Sync finished: account=%s created=%s linked=%s failed=%s removed=%s folders=%s "
        "unchanged=%s folder_errors=%s error=%s seconds=%.2f",
        account_id, report.created, report.linked, report.failed, report.removed, report.folders,
        report.folders_unchanged, len(report.folder_errors),
        report.error.code if report.error else "", report.seconds,
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


def _close_run(run, report):
    if report.error is not None:
        outcome = SyncRun.Outcome.ERROR
    elif report.skipped_reason:
        outcome = SyncRun.Outcome.STOPPED
    else:
        outcome = SyncRun.Outcome.OK
    SyncRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), outcome=outcome, created=report.created, linked=report.linked,
        failed=report.failed, removed=report.removed,
        error_code=report.error.code if report.error else report.skipped_reason,
    )


def _run(account, report, full, progress, owner):
    MailAccount.objects.filter(pk=account.pk).update(
        sync_started_at=timezone.now(), progress_done=0, progress_total=0,
    )
    # _add_total grows the in-memory value, which still holds the last run's.
    account.progress_total = 0
    if account.incoming_protocol != "imap":
        from . import pop3_sync

        pop3_sync.sync_pop3(account, report, progress, owner)
        _finish(account, report)
        return

    with accounts.open_imap(account) as session:
        capabilities = session.capabilities()
        if capabilities != account.capabilities:
            account.capabilities = capabilities
            MailAccount.objects.filter(pk=account.pk).update(capabilities=capabilities)

        listed, statuses = session.list_with_status()
        is_gmail = session.has_capability("X-GM-EXT-1")
        folders = refresh_folders(account, listed, is_gmail)
        context = _SyncContext(
            account=account, session=session, report=report, progress=progress, owner=owner,
            own_addresses=account.own_addresses(), is_gmail=is_gmail,
            has_condstore=session.has_capability("CONDSTORE"),
        )
        _sync_folders(context, folders, statuses, full)

    report.removed += delete_orphans(account, context.maybe_orphans)
    _finish(account, report)


def _sync_folders(context, folders, statuses, full):
    due_failures = set(
        SyncFailure.objects.filter(
            account=context.account, resolved_at__isnull=True, next_retry_at__lte=timezone.now(),
        ).values_list("folder_id", flat=True)
    )
    unchanged = []
    changed = []
    for folder in folders:
        if full:
            _forget_checkpoint(folder)
        status = statuses.get(folder.name)
        if folder.pk not in due_failures and not _needs_sync(context, folder, status):
            unchanged.append(folder.pk)
        else:
            changed.append(folder)

    # Folders that lost messages go first, so that a message moved out of
    # one folder is known as a candidate when it turns up in the next.
    changed.sort(key=lambda folder: not _lost_messages(folder, statuses.get(folder.name)))
    for folder in changed:
        if not renew(context.account.pk, context.owner):
            raise LeaseLost()
        try:
            _renew_login(context)
            _sync_folder(context, folder)
            context.report.folders += 1
        except MailError as error:
            if error.code in (errors.CONNECTION_LOST, errors.TIMED_OUT):
                raise
            _record_folder_error(folder, error)
            context.report.folder_errors.append((folder.name, error.code))

    context.report.folders_unchanged = len(unchanged)
    if unchanged:
        Folder.objects.filter(pk__in=unchanged).update(last_synced_at=timezone.now(), backlog=0)


def _lost_messages(folder, status):
    """Tell from STATUS whether messages were expunged since the last sync."""
    if not status or folder.server_message_count is None or folder.uidnext is None:
        return False
    arrived = (status.get("UIDNEXT") or folder.uidnext) - folder.uidnext
    return status.get("MESSAGES", 0) < folder.server_message_count + arrived


def _needs_sync(context, folder, status):
    """Decide from LIST-STATUS data whether a folder changed since last time."""
    if not folder.is_initial_sync_done or status is None:
        return True
    if status.get("UIDVALIDITY") != folder.uidvalidity:
        return True
    if status.get("UIDNEXT") != folder.uidnext or status.get("MESSAGES") != folder.server_message_count:
        return True
    if context.has_condstore:
        return status.get("HIGHESTMODSEQ") != folder.highestmodseq
    return _flags_refresh_due(folder)


def _flags_refresh_due(folder):
    if folder.flags_checked_at is None:
        return True
    age = timezone.now() - folder.flags_checked_at
    return age >= timedelta(minutes=settings.EMAILSYNC_FLAGS_REFRESH_MINUTES)


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
class _SyncContext:
    account: MailAccount
    session: imap.ImapSession
    report: SyncReport
    progress: object
    owner: str
    own_addresses: set
    is_gmail: bool = False
    has_condstore: bool = False
    qresync_enabled: bool | None = None
    # Messages that lost a location during this run; those found in no
    # folder at the end are deleted.
    maybe_orphans: set = field(default_factory=set)

    def enable_qresync(self):
        if self.qresync_enabled is None:
            self.qresync_enabled = self.session.enable_qresync()
        return self.qresync_enabled


# --- Folders --------------------------------------------------------------


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


def _select(context, folder):
    """Open a folder read-only, with QRESYNC changes when they can be had."""
    can_resync = (
        folder.is_initial_sync_done and folder.uidvalidity and folder.highestmodseq
        and context.has_condstore and context.enable_qresync()
    )
    if can_resync:
        return context.session.examine_changes(folder.name, folder.uidvalidity, folder.highestmodseq), True
    return context.session.select(folder.name), False


def _sync_folder(context, folder):
    status, has_changes = _select(context, folder)

    if folder.uidvalidity is not None and folder.uidvalidity != status.uidvalidity:
        _reset_folder(context, folder, status.uidvalidity)
        has_changes = False
    folder.uidvalidity = status.uidvalidity

    if folder.is_initial_sync_done:
        _apply_changes(context, folder, status, has_changes)
        if status.uidnext != folder.uidnext or status.uidnext is None:
            todo = context.session.search_uids_above(folder.highest_synced_uid)
        else:
            todo = []
        todo += _failures_due(folder)
        _fetch_and_store(context, folder, sorted(set(todo)), advance_checkpoint=True)
    else:
        server_uids = context.session.search_uids(since=_window_start(context.account))
        known = set(
            MessageLocation.objects.filter(folder=folder, uidvalidity=status.uidvalidity)
            .values_list("uid", flat=True)
        )
        todo = sorted(set(server_uids) - known, reverse=True)
        _fetch_and_store(context, folder, todo, advance_checkpoint=False)
        folder.is_initial_sync_done = True
        folder.highest_synced_uid = max(server_uids + [folder.highest_synced_uid, 0])
        # The first pass fetched every message's flags with its body.
        folder.flags_checked_at = timezone.now()
        _remove_expunged(context, folder, status)

    folder.uidnext = status.uidnext
    folder.highestmodseq = status.highestmodseq
    folder.server_message_count = status.exists
    folder.last_synced_at = timezone.now()
    folder.last_error_code = ""
    folder.last_error_detail = ""
    folder.backlog = 0
    folder.save(update_fields=[
        "uidvalidity", "uidnext", "highestmodseq", "server_message_count", "last_synced_at",
        "last_error_code", "last_error_detail", "backlog", "is_initial_sync_done",
        "highest_synced_uid", "flags_checked_at",
    ])


def _apply_changes(context, folder, status, has_changes):
    """Bring flags and expunges up to date for an already synced folder."""
    if has_changes:
        _remove_uids(context, folder, status.vanished)
        _update_flags(folder, status.changed_flags)
        return
    if context.has_condstore and folder.highestmodseq and status.highestmodseq != folder.highestmodseq:
        _update_flags(folder, context.session.fetch_flags_changed_since(folder.highestmodseq))
    elif not context.has_condstore and _flags_refresh_due(folder):
        newest = list(
            MessageLocation.objects.filter(folder=folder, uidvalidity=folder.uidvalidity)
            .order_by("-uid").values_list("uid", flat=True)[:settings.EMAILSYNC_FLAGS_REFRESH_LIMIT]
        )
        _update_flags(folder, context.session.fetch_flags(newest))
        folder.flags_checked_at = timezone.now()
    _remove_expunged(context, folder, status)


def _update_flags(folder, changes):
    """Store new flags; `changes` is {uid: (flags, modseq or None)}."""
    if not changes:
        return
    locations = MessageLocation.objects.filter(
        folder=folder, uidvalidity=folder.uidvalidity, uid__in=list(changes),
    )
    updated = []
    for location in locations:
        flags, modseq = changes[location.uid]
        flags = imap.stored_flags(flags)
        if flags != location.flags or (modseq and modseq != location.modseq):
            location.flags = flags
            location.modseq = modseq or location.modseq
            updated.append(location)
    MessageLocation.objects.bulk_update(updated, ["flags", "modseq"], batch_size=500)


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


def _reset_folder(context, folder, new_uidvalidity):
    """Forget a folder's UIDs after a UIDVALIDITY change (RFC 3501 2.3.1.1)."""
    logger.warning(
        "UIDVALIDITY changed, folder starts again: account=%s folder=%s old=%s new=%s",
        folder.account_id, folder.pk, folder.uidvalidity, new_uidvalidity,
    )
    old = MessageLocation.objects.filter(folder=folder).exclude(uidvalidity=new_uidvalidity)
    with transaction.atomic():
        context.maybe_orphans.update(old.values_list("message_id", flat=True))
        old.delete()
        SyncFailure.objects.filter(folder=folder).exclude(uidvalidity=new_uidvalidity).delete()
        folder.is_initial_sync_done = False
        folder.highest_synced_uid = 0
        Folder.objects.filter(pk=folder.pk).update(
            uidvalidity=new_uidvalidity, is_initial_sync_done=False, highest_synced_uid=0,
        )


# --- Fetching -------------------------------------------------------------


def _fetch_and_store(context, folder, uids, advance_checkpoint):
    """Fetch uids in batches; store each batch in one transaction.

    Where a batch needs nothing but a download, it is fetched on a second
    thread while the previous batch is stored: the database and the socket
    release the GIL, so the two overlap.
    """
    if not uids:
        return
    account = context.account
    batch_size = settings.EMAILSYNC_BATCH_SIZE
    MailAccount.objects.filter(pk=account.pk).update(progress_total=_add_total(account, len(uids)))
    Folder.objects.filter(pk=folder.pk).update(backlog=len(uids))
    chunks = [uids[start:start + batch_size] for start in range(0, len(uids), batch_size)]

    # Leaving the block waits for a download in flight, so the session is
    # never closed under it.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fetch-{account.pk}") as downloader:
        prefetched = None
        done = 0
        for index, chunk in enumerate(chunks):
            if prefetched is not None:
                known, batch = {}, prefetched.result()
            else:
                known, batch = _prepare_batch(context, folder, chunk)
            prefetched = None
            if index + 1 < len(chunks) and _can_prefetch(context):
                prefetched = downloader.submit(_download, context, chunks[index + 1])

            checkpoint = max(chunk) if advance_checkpoint else None
            # The renewal locks the account row until the batch commits. A
            # deactivation that starts meanwhile waits for the batch and then
            # deletes it, and the next renewal fails.
            with transaction.atomic():
                if not renew(account.pk, context.owner):
                    raise LeaseLost()
                link_locations(folder, folder.uidvalidity, known)
                result = store_batch(account, folder, folder.uidvalidity, batch, context.own_addresses, checkpoint)
            context.report.created += result.created
            context.report.linked += result.linked + len(known)
            context.report.failed += result.failed

            done += len(chunk)
            accounts.increment_progress(account, len(chunk))
            Folder.objects.filter(pk=folder.pk).update(backlog=max(len(uids) - done, 0))
            if context.progress:
                context.progress(len(chunk), len(uids))
            # With DEBUG on, Django keeps the last 9,000 queries with their
            # parameters, raw messages included. Without this reset a long
            # sync in a development worker would grow by hundreds of megabytes.
            reset_queries()


def _prepare_batch(context, folder, chunk):
    """Return (already stored {uid: (pk, flags)}, downloaded messages) for a chunk of UIDs."""
    if _renew_login(context):
        _select_again(context, folder)
    known = _recognise(context, folder, chunk) if context.is_gmail or context.maybe_orphans else {}
    to_download = [uid for uid in chunk if uid not in known]
    return known, _download(context, to_download)


def _can_prefetch(context):
    """Return whether the next chunk needs nothing but a download.

    Recognising stored messages reads the database, and a login whose
    access token expires must move to a new connection first: both stay on
    the sync's own thread.
    """
    return not context.is_gmail and not context.maybe_orphans and context.session.token_expires_at is None


def _renew_login(context):
    """Move to a new connection before the OAuth access token expires; True when it did."""
    if not accounts.renew_login_if_expiring(context.account, context.session):
        return False
    # ENABLE QRESYNC lasts as long as the connection (RFC 5161).
    context.qresync_enabled = None
    return True


def _select_again(context, folder):
    """Select folder on a new connection, checking that its UIDs still mean the same messages."""
    status = context.session.select(folder.name)
    if status.uidvalidity != folder.uidvalidity:
        # The next sync detects the new UIDVALIDITY and starts the folder again.
        raise MailError(
            errors.CONNECTION_LOST, f"UIDVALIDITY of folder {folder.pk} changed during the sync",
            host=context.account.incoming_host, port=context.account.incoming_port,
        )


def _download(context, uids):
    if not uids:
        return []
    response = context.session.fetch_messages(uids, gmail=context.is_gmail)
    batch = []
    for uid in uids:
        item = response.get(uid)
        if item is None or imap.BODY_KEY not in item:
            # Expunged between SEARCH and FETCH: nothing to store.
            continue
        gm_msgid = item.get(b"X-GM-MSGID")
        batch.append(FetchedMessage(
            uid=uid,
            raw=bytes(item[imap.BODY_KEY]),
            internal_date=item.get(b"INTERNALDATE"),
            flags=list(item.get(b"FLAGS", ())),
            gm_msgid=int(gm_msgid) if gm_msgid else None,
        ))
    return batch


def _recognise(context, folder, uids):
    """Return {uid: (message pk, flags)} for UIDs that hold a stored message.

    Gmail gives each message an X-GM-MSGID shared by all its labels, which
    identifies it exactly. Elsewhere only a message that left another folder
    in this same run is a candidate (a move): it keeps its bytes, size and
    INTERNALDATE (RFC 3501 6.4.7), so equal headers, size and INTERNALDATE
    link it without downloading it again.
    NOTE: two different messages with byte-equal headers, equal size and
    equal INTERNALDATE, one expunged as the other arrives, would be taken
    for one; identity by full content would need the body.
    """
    fingerprints = context.session.fetch_fingerprints(uids, gmail=context.is_gmail)
    if context.is_gmail:
        by_gm = {int(item["gm_msgid"]): uid for uid, item in fingerprints.items() if item["gm_msgid"]}
        found = Message.objects.filter(account=context.account, gm_msgid__in=list(by_gm)).values_list("gm_msgid", "pk")
        return {by_gm[gm_msgid]: (pk, fingerprints[by_gm[gm_msgid]]["flags"]) for gm_msgid, pk in found}
    if not context.maybe_orphans:
        return {}

    wanted = {}
    for uid, item in fingerprints.items():
        internal_date = item["internal_date"]
        if not item["header"] or not item["size"] or internal_date is None:
            continue
        if timezone.is_naive(internal_date):
            internal_date = timezone.make_aware(internal_date, timezone.get_default_timezone())
        wanted[(int(item["size"]), internal_date)] = uid
    candidates = Message.objects.filter(
        pk__in=list(context.maybe_orphans), locations__isnull=True,
        size__in={key[0] for key in wanted},
    ).values_list("size", "internal_date", "pk", "raw__data")

    result = {}
    for size, internal_date, pk, raw in candidates:
        uid = wanted.get((size, internal_date))
        if uid is not None and header_block(bytes(raw)) == header_block(fingerprints[uid]["header"]):
            result[uid] = (pk, fingerprints[uid]["flags"])
            context.maybe_orphans.discard(pk)
    return result


def header_block(raw):
    """Return the header section of raw bytes, up to the first empty line."""
    head, _separator, _body = raw.partition(b"\r\n\r\n")
    return head


def _add_total(account, count):
    account.progress_total = (account.progress_total or 0) + count
    return account.progress_total


# --- Expunges -------------------------------------------------------------


def _remove_expunged(context, folder, status):
    """Drop locations the server no longer has.

    Cheap test first: when the server's message count equals the stored
    location count, nothing was expunged (new mail is fetched separately).
    """
    stored = MessageLocation.objects.filter(folder=folder, uidvalidity=status.uidvalidity)
    failing = SyncFailure.objects.filter(folder=folder, uidvalidity=status.uidvalidity, resolved_at__isnull=True)
    if stored.count() + failing.count() == status.exists and not context.account.sync_window_days:
        return
    on_server = set(context.session.search_uids())
    gone = [uid for uid in stored.values_list("uid", flat=True) if uid not in on_server]
    _remove_uids(context, folder, gone)


def _remove_uids(context, folder, uids):
    if not uids:
        return
    locations = MessageLocation.objects.filter(folder=folder, uidvalidity=folder.uidvalidity, uid__in=uids)
    with transaction.atomic():
        message_ids = list(locations.values_list("message_id", flat=True))
        count, _ = locations.delete()
        context.maybe_orphans.update(message_ids)
    if count:
        logger.info("Expunged on server: account=%s folder=%s locations=%s", folder.account_id, folder.pk, count)


def delete_orphans(account, message_ids):
    """Delete synced messages among message_ids that sit in no folder now.

    Messages sent from the CRM stay: they are the CRM's own record.
    """
    if not message_ids:
        return 0
    orphans = Message.objects.filter(
        pk__in=list(message_ids), account=account, origin=Message.Origin.SYNC, locations__isnull=True,
    )
    _total, per_model = orphans.delete()
    removed = per_model.get(Message._meta.label, 0)
    if removed:
        logger.info("Messages deleted on server removed: account=%s messages=%s", account.pk, removed)
    return removed
