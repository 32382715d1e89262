"""Sync a POP3 account's inbox by UIDL, leaving mail on the server.

POP3 has one folder and no UIDVALIDITY: a message is new when its UIDL has
not been seen before (RFC 1939 7). Each batch's messages and UIDLs are
stored in one transaction, so a cut connection resumes without duplicates.
A UIDL that the server no longer lists means the message was deleted
there (by another client); its stored copy is deleted too.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import accounts
from .models import Folder, MailAccount, MessageLocation, Pop3Seen
from .pop3 import Pop3Session
from .storage import FetchedMessage, store_batch

logger = logging.getLogger(__name__)

INBOX = "INBOX"


def open_pop3(account):
    session = Pop3Session(
        account.incoming_host, account.incoming_port, account.incoming_security,
        settings.EMAILSYNC_TIMEOUT,
    )
    try:
        session.connect()
        login, secret, _is_oauth = accounts.incoming_credentials(account)
        session.login(login, secret)
    except BaseException:
        session.close()
        raise
    return session


def sync_pop3(account, report, progress, lease_owner):
    """Import every message whose UIDL is new; fill in `report`."""
    from .sync import LeaseLost, renew

    folder, _created = Folder.objects.get_or_create(
        account=account, name=INBOX,
        defaults={"role": Folder.Role.INBOX, "is_sync_enabled": True, "uidvalidity": 0},
    )
    with open_pop3(account) as session:
        listing = session.uidl_map()
        seen = set(Pop3Seen.objects.filter(account=account).values_list("uidl", flat=True))
        todo = [(number, uidl) for number, uidl in sorted(listing.items()) if uidl not in seen]
        MailAccount.objects.filter(pk=account.pk).update(progress_done=0, progress_total=len(todo))
        own_addresses = account.own_addresses()

        batch_size = settings.EMAILSYNC_BATCH_SIZE
        for start in range(0, len(todo), batch_size):
            chunk = todo[start:start + batch_size]
            fetched = [
                (uidl, FetchedMessage(uid=number, raw=session.retrieve(number)))
                for number, uidl in chunk
            ]
            # Renewing inside the batch's transaction locks the account row
            # until the batch commits; see _fetch_and_store in sync.py.
            with transaction.atomic():
                if not renew(account.pk, lease_owner):
                    raise LeaseLost()
                _store_pop3_batch(account, folder, fetched, own_addresses, report)
            accounts.increment_progress(account, len(chunk))
            if progress:
                progress(len(chunk), len(todo))

    report.removed += _remove_deleted(account, folder, set(listing.values()))
    report.folders = 1
    Folder.objects.filter(pk=folder.pk).update(
        server_message_count=len(listing), backlog=0, last_synced_at=timezone.now(),
    )


def _store_pop3_batch(account, folder, fetched, own_addresses, report):
    """Store messages and their UIDLs together.

    POP3 message numbers change between sessions, so locations use a
    synthetic UID: the Pop3Seen row's id, which is stable.
    """
    with transaction.atomic():
        seen_rows = Pop3Seen.objects.bulk_create(
            [Pop3Seen(account=account, uidl=uidl) for uidl, _message in fetched]
        )
        for row, (_uidl, message) in zip(seen_rows, fetched):
            message.uid = row.pk
        result = store_batch(account, folder, 0, [message for _uidl, message in fetched], own_addresses)
        locations = dict(
            MessageLocation.objects.filter(folder=folder, uid__in=[row.pk for row in seen_rows])
            .values_list("uid", "message_id")
        )
        for row in seen_rows:
            row.message_id = locations.get(row.pk)
        Pop3Seen.objects.bulk_update(seen_rows, ["message"])
    report.created += result.created
    report.linked += result.linked
    report.failed += result.failed


def _remove_deleted(account, folder, listed_uidls):
    gone = Pop3Seen.objects.filter(account=account).exclude(uidl__in=listed_uidls)
    if not gone.exists():
        return 0
    from .sync import delete_orphans

    with transaction.atomic():
        gone_ids = list(gone.values_list("pk", flat=True))
        message_ids = list(gone.exclude(message__isnull=True).values_list("message_id", flat=True))
        MessageLocation.objects.filter(folder=folder, uid__in=gone_ids).delete()
        Pop3Seen.objects.filter(pk__in=gone_ids).delete()
        removed = delete_orphans(account, message_ids)
    logger.info("Deleted on POP3 server: account=%s uidls=%s messages_deleted=%s", account.pk, len(gone_ids), removed)
    return removed

