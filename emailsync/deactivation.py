"""Deactivate a mailbox: stop its sync and delete what sync brought in.

Steps:
1. Claim the account in one conditional UPDATE: pause it with the reason
   DEACTIVATING and take its lease under a deactivation marker. A sync
   renews its lease inside each batch's transaction, so this UPDATE waits
   for a batch in flight (a row lock on PostgreSQL, the write lock on
   SQLite) and every later renewal fails. The running sync stops at its
   next batch or folder and cannot leave messages behind.
2. Delete the synced messages in chunks, each chunk in its own transaction
   with its raw bytes, participants and locations, renewing the claim.
3. In one last transaction, delete the folders, failures, POP3 UIDLs,
   From addresses, sharing exclusions and the account with its encrypted
   secrets. An OAuth 2.0 grant is then revoked at the provider, after the
   commit. Messages sent from the CRM stay, with their participants, and
   lose their account; connecting a mailbox again links them to it.

Nothing on the mail server changes, so connecting the same mailbox again
brings every message back with a full sync.

A deactivation that dies midway leaves the account paused as DEACTIVATING.
Running it again after the claim expires (EMAILSYNC_LEASE_SECONDS) finishes
the work.
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import errors, oauth
from .models import (
    Folder, FromAddress, MailAccount, Message, MessageLocation, Participant, Pop3Seen, RawMessage,
    SharingExclusion, SyncFailure,
)

logger = logging.getLogger(__name__)

MARKER_PREFIX = "deactivation:"
# Synced messages deleted per transaction; each chunk also deletes about ten
# participant rows per message.
CHUNK_SIZE = 500


class DeactivationBusy(Exception):
    """Another deactivation has claimed the account, or the account no longer exists."""


@dataclass
class DeactivationResult:
    """Counts of the rows a deactivation deleted, or would delete in a preview."""

    account_id: int
    owner_id: int
    email_address: str
    messages: int = 0
    raw_messages: int = 0
    participants: int = 0
    locations: int = 0
    folders: int = 0
    failures: int = 0
    pop3_uidls: int = 0
    from_addresses: int = 0
    sharing_exclusions: int = 0
    accounts: int = 0
    crm_messages_kept: int = 0


def preview_deactivation(account):
    """Count what deactivating `account` would delete and keep (five queries)."""
    return DeactivationResult(
        account_id=account.pk,
        owner_id=account.owner_id,
        email_address=account.email_address,
        messages=Message.objects.filter(account=account, origin=Message.Origin.SYNC).count(),
        folders=Folder.objects.filter(account=account).count(),
        from_addresses=FromAddress.objects.filter(account=account).count(),
        sharing_exclusions=SharingExclusion.objects.filter(account=account).count(),
        accounts=1,
        crm_messages_kept=Message.objects.filter(account=account, origin=Message.Origin.CRM).count(),
    )


def deactivate_mailbox(account, actor, *, record_deletion=None):
    """Stop the account's sync and delete it with every message sync brought in.

    `actor` is the user who asked (the owner or an operator), or None when
    the cleanup policy acts; only its id is logged. `record_deletion(result)`,
    when given, runs inside the transaction that deletes the account, so a
    record of the deletion commits together with it.

    Returns a DeactivationResult with the counts deleted. Raises
    DeactivationBusy when another deactivation has claimed the account or
    the account no longer exists.
    """
    started = time.monotonic()
    marker = claim_for_deactivation(account)
    result = DeactivationResult(
        account_id=account.pk, owner_id=account.owner_id, email_address=account.email_address,
    )

    while _delete_message_chunk(account, marker, result):
        pass
    _delete_account(account, marker, result, record_deletion)

    logger.info(
        "Mailbox deactivated: account=%s user=%s actor=%s messages=%s participants=%s folders=%s "
        "crm_messages_kept=%s seconds=%.2f",
        account.pk, account.owner_id, actor.pk if actor is not None else "policy", result.messages,
        result.participants, result.folders, result.crm_messages_kept, time.monotonic() - started,
    )
    return result


def claim_for_deactivation(account):
    """Pause the account and take its lease for a deactivation; return the marker.

    Takes the lease from a running sync, but never from a live deactivation.
    """
    now = timezone.now()
    marker = f"{MARKER_PREFIX}{uuid.uuid4().hex}"
    claimed = MailAccount.objects.filter(pk=account.pk).filter(
        ~Q(lease_owner__startswith=MARKER_PREFIX) | Q(lease_expires_at__lt=now)
    ).update(
        status=MailAccount.Status.PAUSED,
        pause_reason=errors.DEACTIVATING,
        lease_owner=marker,
        lease_expires_at=now + timedelta(seconds=settings.EMAILSYNC_LEASE_SECONDS),
    )
    if not claimed:
        raise DeactivationBusy(f"account {account.pk} not found or claimed by another deactivation")
    account.status = MailAccount.Status.PAUSED
    account.pause_reason = errors.DEACTIVATING
    return marker


def _renew_claim(account, marker):
    renewed = MailAccount.objects.filter(pk=account.pk, lease_owner=marker).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.EMAILSYNC_LEASE_SECONDS),
    )
    if not renewed:
        raise DeactivationBusy(f"account {account.pk} claimed by another deactivation meanwhile")


def _delete_message_chunk(account, marker, result):
    """Delete up to CHUNK_SIZE synced messages; return False when none were left."""
    with transaction.atomic():
        _renew_claim(account, marker)
        chunk = list(
            Message.objects.filter(account=account, origin=Message.Origin.SYNC)
            .order_by()
            .values_list("pk", flat=True)[:CHUNK_SIZE]
        )
        if not chunk:
            return False
        # Raw bytes, participants and locations cascade and are counted;
        # only the primary keys of the messages themselves are loaded.
        _total, deleted = Message.objects.filter(pk__in=chunk).only("pk").delete()

    result.messages += deleted.get(Message._meta.label, 0)
    result.raw_messages += deleted.get(RawMessage._meta.label, 0)
    result.participants += deleted.get(Participant._meta.label, 0)
    result.locations += deleted.get(MessageLocation._meta.label, 0)
    return True


def _delete_account(account, marker, result, record_deletion):
    """Delete the account's configuration and detach the messages sent from the CRM."""
    with transaction.atomic():
        _renew_claim(account, marker)

        # Deleting folders also deletes the locations of CRM-sent messages
        # in Sent, and the failures recorded per folder.
        _total, deleted = Folder.objects.filter(account=account).delete()
        result.folders = deleted.get(Folder._meta.label, 0)
        result.locations += deleted.get(MessageLocation._meta.label, 0)
        result.failures = deleted.get(SyncFailure._meta.label, 0)
        result.failures += SyncFailure.objects.filter(account=account).delete()[0]
        result.pop3_uidls = Pop3Seen.objects.filter(account=account).delete()[0]
        result.from_addresses = FromAddress.objects.filter(account=account).delete()[0]
        result.sharing_exclusions = SharingExclusion.objects.filter(account=account).delete()[0]
        result.crm_messages_kept = Message.objects.filter(
            account=account, origin=Message.Origin.CRM,
        ).update(account=None)

        granted = MailAccount.objects.filter(pk=account.pk, auth_method=MailAccount.AuthMethod.OAUTH2).only(
            "pk", "provider", "oauth_refresh_token_encrypted",
        ).first()
        _total, deleted = MailAccount.objects.filter(pk=account.pk).delete()
        result.accounts = deleted.get(MailAccount._meta.label, 0)
        if granted is not None:
            # Withdraw the CRM's access at the provider too, once the
            # deletion has committed; best effort, see revoke_refresh_token.
            transaction.on_commit(lambda: oauth.revoke_refresh_token(granted))
        if record_deletion is not None:
            record_deletion(result)
