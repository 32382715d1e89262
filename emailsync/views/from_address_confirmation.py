"""Confirm a From alias by its emailed link, and send the link again."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..from_address_confirmation import LinkError, confirm_from_address, from_address_id_in, send_confirmation
from ..models import FromAddress
from ..notifications import Delivery
from .access import account_required

logger = logging.getLogger(__name__)


@login_required
def from_address_confirm(request, token):
    """Confirm the alias the link names, when its owner opens it.

    Anyone but the alias's owner gets 404, so the link reveals nothing
    about the alias to others. A link that cannot confirm shows what to do.
    """
    try:
        from_address_id = from_address_id_in(token)
    except LinkError as error:
        return _link_error(request, error.code)
    from_address = get_object_or_404(FromAddress, pk=from_address_id, account__owner=request.user)

    try:
        confirm_from_address(from_address, token)
    except LinkError as error:
        return _link_error(request, error.code, from_address)

    messages.success(request, _("“%(address)s” is confirmed. You can now send email from it.") % {
        "address": from_address.address,
    })
    return redirect("emailsync:from_addresses")


def _link_error(request, code, from_address=None):
    logger.info("Confirmation link rejected: user=%s code=%s from_address=%s",
                request.user.pk, code, from_address.pk if from_address else None)
    return render(request, "emailsync/mailbox/from_address_link_error.html", {
        "code": code, "from_address": from_address,
    }, status=400)


@require_POST
@account_required
def from_address_resend(request, account, pk):
    from_address = get_object_or_404(account.from_addresses, pk=pk)
    if from_address.is_confirmed:
        messages.info(request, _("“%(address)s” is already confirmed.") % {"address": from_address.address})
        return redirect("emailsync:from_addresses")

    report_delivery(request, from_address, *send_confirmation(request.user, from_address))
    return redirect("emailsync:from_addresses")


def report_delivery(request, from_address, delivery, allowance):
    """Tell the owner whether the confirmation email went to from_address, and what to do next."""
    address = from_address.address
    if delivery is Delivery.SENT:
        messages.info(request, _(
            "A confirmation link was sent to “%(address)s”. Open it while signed in to send email from this address."
        ) % {"address": address})
    elif delivery is Delivery.FAILED:
        messages.error(request, _(
            "The confirmation email to “%(address)s” could not be sent. The address is kept, "
            "unconfirmed. Press Resend to try again in a few minutes."
        ) % {"address": address})
    else:
        minutes = allowance.retry_after_minutes
        messages.warning(request, ngettext(
            "No confirmation email was sent to “%(address)s”, because too many were sent recently. "
            "Press Resend in %(minutes)s minute if no email has arrived by then.",
            "No confirmation email was sent to “%(address)s”, because too many were sent recently. "
            "Press Resend in %(minutes)s minutes if no email has arrived by then.",
            minutes,
        ) % {"address": address, "minutes": minutes})
