"""The page of a connected mailbox: status, progress, folders, Sync now."""

import logging
from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..models import Folder, MailAccount
from ..oauth import provider_for_preset
from ..providers import get_provider
from ..sync_options import account_is_gmail, queue_sync_now
from ..owner_status import is_queued, is_syncing, mailbox_status
from .access import account_required, is_setting_up

logger = logging.getLogger(__name__)

# A sync queued this long ago without starting is taken as lost (no worker
# was running), so "Sync now" queues it again.
QUEUED_SYNC_EXPIRY = timedelta(minutes=5)


@account_required
def mailbox(request, account):
    """Show the mailbox's state, its folders and the actions on it."""
    provider = get_provider(account.provider)
    return render(request, "emailsync/mailbox/overview.html", {
        "account": account,
        "status": mailbox_status(account),
        "folders": synced_folders(account),
        "is_setting_up": is_setting_up(request, account),
        "is_gmail": account_is_gmail(account),
        "deactivate_url": reverse("emailsync:deactivate", args=[account.pk]),
        "provider_name": provider.name if provider else "",
        "oauth_provider": provider_for_preset(account.provider),
        "section": "mailbox",
    })


def synced_folders(account):
    """Return the folders the sync copies, INBOX first, with their unresolved failures counted."""
    folders = account.folders.filter(is_sync_enabled=True, exists_on_server=True).exclude(role=Folder.Role.SKIPPED)
    folders = folders.annotate(failed_count=Count("failures", filter=Q(failures__resolved_at__isnull=True)))
    return sorted(folders, key=lambda folder: (folder.role != Folder.Role.INBOX, folder.role != Folder.Role.SENT,
                                               folder.name.lower()))


@require_GET
@account_required
def progress(request, account):
    """Return the mailbox's status as JSON for the page's progress script."""
    data = mailbox_status(account).as_json()
    data["folders"] = [
        {
            "name": folder.name,
            "last_synced": _format_time(folder.last_synced_at),
            "backlog": folder.backlog,
            "failed_count": folder.failed_count,
        }
        for folder in synced_folders(account)
    ]
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


def _format_time(value):
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else ""


@require_POST
@account_required
def sync_now(request, account):
    """Queue a sync of the mailbox now, unless one is already on its way."""
    now = timezone.now()
    recently_queued = is_queued(account) and account.sync_requested_at > now - QUEUED_SYNC_EXPIRY
    if is_syncing(account, now) or recently_queued:
        messages.info(request, _("A sync is already on its way; its progress shows below."))
    elif queue_sync_now(account):
        messages.success(request, _("Sync started. Its progress shows below."))
    elif account.auth_method == MailAccount.AuthMethod.OAUTH2 and provider_for_preset(account.provider):
        messages.error(request, _("The sync of this mailbox is paused. Reconnect with %(provider)s to start it again.")
                       % {"provider": provider_for_preset(account.provider).name})
    else:
        messages.error(request, _(
            "The sync of this mailbox is paused. Enter the current password in Server details to start it again."
        ))
    return redirect("emailsync:mailbox")
