"""Settings > Channels > Email: deactivating the connected mailbox."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from ..deactivation import DeactivationBusy, deactivate_mailbox, preview_deactivation
from ..models import MailAccount
from ..services import PERMISSION


@login_required
@require_http_methods(["GET", "POST"])
def deactivate(request, account_id):
    """Show what deactivating the mailbox deletes and keeps; deactivate it on POST.

    Only the owner reaches this page: other users get 404, so the page does
    not reveal which mailboxes exist. The owner needs no permission, so a
    user whose "integrate email" permission was withdrawn can still delete
    their synced mail.
    """
    account = get_object_or_404(MailAccount, pk=account_id, owner=request.user)
    if request.method == "GET":
        return render(request, "emailsync/deactivate_confirm.html", {
            "account": account, "preview": preview_deactivation(account),
        })

    # NOTE: the deletion runs within the request, at about 5,000 messages
    # a second (measured on SQLite and PostgreSQL on a 2-core machine, with
    # 5 KB messages of 5 participants each). A mailbox of more than about
    # 100,000 messages can outlast a 30-second request timeout. Its claim
    # then expires, and the daily cleanup run finishes the deletion.
    try:
        result = deactivate_mailbox(account, request.user)
    except DeactivationBusy:
        messages.warning(request, _("This mailbox is already being deactivated. Reload the page in a moment."))
        return redirect(_settings_page(request.user))

    messages.success(request, ngettext(
        "The mailbox %(address)s was deactivated and %(count)s synced message was deleted from the CRM.",
        "The mailbox %(address)s was deactivated and %(count)s synced messages were deleted from the CRM.",
        result.messages,
    ) % {"address": result.email_address, "count": result.messages})
    return redirect(_settings_page(request.user))


def _settings_page(user):
    return "emailsync:settings" if user.has_perm(PERMISSION) else "crm:home"
