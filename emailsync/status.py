"""The sync state of every mailbox, for operators: counts, errors, folders.

The whole report takes two queries however many accounts, folders and
messages there are: counts come from subqueries and annotations, never
from a loop over rows.
"""

from django.db.models import Count, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from . import errors
from .models import Folder, MailAccount, Message, SyncFailure

# INBOX first, then Sent, then the rest by name.
_ROLE_ORDER = {Folder.Role.INBOX: 0, Folder.Role.SENT: 1, Folder.Role.ALL_MAIL: 2}


def _count_per_account(queryset):
    """Return a subquery counting the rows of queryset for the outer account."""
    counted = queryset.filter(account=OuterRef("pk")).order_by().values("account").annotate(total=Count("pk"))
    return Coalesce(Subquery(counted.values("total")), Value(0))


def _timestamp(value):
    return value.isoformat() if value else None


def _error(code, detail, at, host="", port="", folder=""):
    if not code:
        return None
    return {
        "code": code,
        "message": str(errors.message_for(code, host=host, port=port, folder=folder)),
        "detail": detail,
        "at": _timestamp(at),
    }


def _folder_status(folder):
    return {
        "name": folder.name,
        "role": folder.role,
        "sync_enabled": folder.is_sync_enabled,
        "uidvalidity": folder.uidvalidity,
        "messages": folder.location_count,
        "server_messages": folder.server_message_count,
        "backlog": folder.backlog,
        "last_synced_at": _timestamp(folder.last_synced_at),
        "last_error": _error(folder.last_error_code, folder.last_error_detail, folder.last_error_at, folder=folder.name),
    }


def _account_status(account, folders):
    pause_reason = None
    if account.status == MailAccount.Status.PAUSED and account.pause_reason:
        pause_reason = {
            "code": account.pause_reason,
            "message": str(errors.message_for(
                account.pause_reason, host=account.incoming_host, port=account.incoming_port,
            )),
        }
    return {
        "account": account.pk,
        "user": account.owner.get_username(),
        "email": account.email_address,
        "protocol": account.incoming_protocol,
        "status": account.status,
        "pause_reason": pause_reason,
        "messages": account.message_count,
        "failed": account.failed_count,
        "last_error": _error(
            account.last_error_code, account.last_error_detail, account.last_error_at,
            host=account.incoming_host, port=account.incoming_port,
        ),
        "last_synced_at": _timestamp(account.last_synced_at),
        "progress": {"done": account.progress_done, "total": account.progress_total},
        "folders": [_folder_status(folder) for folder in folders],
    }


def collect_mail_status(accounts=None):
    """Return one dict per account, ordered by id, in the shape `mail_status --json` prints.

    `accounts` is an optional MailAccount queryset to report on; default all.
    Runs two queries.
    """
    selected = accounts if accounts is not None else MailAccount.objects.all()
    accounts = list(
        selected.select_related("owner").annotate(
            message_count=_count_per_account(Message.objects.all()),
            failed_count=_count_per_account(SyncFailure.objects.filter(resolved_at__isnull=True)),
        ).order_by("pk")
    )

    folders_by_account = {account.pk: [] for account in accounts}
    # A subquery rather than a list of ids, which could pass the
    # database's limit on query parameters.
    folders = Folder.objects.filter(account__in=selected.values("pk")).annotate(location_count=Count("locations"))
    for folder in folders:
        # An account connected between the two queries is left out.
        if folder.account_id in folders_by_account:
            folders_by_account[folder.account_id].append(folder)
    for account_folders in folders_by_account.values():
        account_folders.sort(key=lambda folder: (_ROLE_ORDER.get(folder.role, 3), folder.name))

    return [_account_status(account, folders_by_account[account.pk]) for account in accounts]
