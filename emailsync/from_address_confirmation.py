"""Confirmation of From aliases by a link emailed to the alias.

Typing an address in proves nothing, so an alias stays unconfirmed until
its owner opens the link sent to it while signed in. Opening it shows that
the owner reads mail sent to the alias. The link carries a token signed
with django.core.signing under its own salt, bound to the alias's id and
normalised address, and valid for EMAILSYNC_CONFIRMATION_LINK_DAYS days.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from . import notifications, ratelimit
from .models import FromAddress
from .notifications import Delivery

logger = logging.getLogger(__name__)

TOKEN_SALT = "emailsync.from_address_confirmation"
EMAIL_TEMPLATE = "emailsync/email/from_address_confirmation"


class LinkError(Exception):
    """A confirmation link that cannot confirm; `code` is "invalid", "expired" or "used"."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def make_token(from_address):
    return signing.dumps({"id": from_address.pk, "address": from_address.address_normalized}, salt=TOKEN_SALT)


def confirmation_url(from_address):
    path = reverse("emailsync:from_address_confirm", args=[make_token(from_address)])
    return settings.SITE_URL.rstrip("/") + path


def send_confirmation(user, from_address):
    """Email the confirmation link to from_address, in user's language.

    Returns (notifications.Delivery, ratelimit.Allowance). Sends nothing when the rate
    limit rejects it, and then the allowance gives the seconds until the
    next try. After a failed send the alias may get another email at once,
    because nothing reached it.
    """
    allowance = ratelimit.take_confirmation_email(user, from_address)
    if not allowance.allowed:
        return Delivery.RATE_LIMITED, allowance

    days = settings.EMAILSYNC_CONFIRMATION_LINK_DAYS
    context = {"from_address": from_address, "confirmation_url": confirmation_url(from_address), "days": days}
    delivery = notifications.send_to_address(user, from_address.address, EMAIL_TEMPLATE, context)
    if delivery is not Delivery.SENT:
        ratelimit.release_confirmation_email(from_address)
    return delivery, allowance


def from_address_id_in(token):
    """Return the alias id a correctly signed token names, whatever its age.

    Raises LinkError("invalid") for a token that was not signed by this
    site under TOKEN_SALT or was changed since.
    """
    try:
        return int(signing.loads(token, salt=TOKEN_SALT)["id"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None


def confirm_from_address(from_address, token):
    """Mark from_address confirmed by token, which from_address_id_in already accepted.

    The checks run in this order, so that a link opened again after it
    expired reports that the alias is already confirmed:
    1. the token names this alias's id and current address ("invalid"),
    2. the alias is not confirmed yet ("used"),
    3. the token is at most EMAILSYNC_CONFIRMATION_LINK_DAYS old ("expired").
    An account without a default From address gets this one as default.
    Raises LinkError with the code in brackets.
    """
    claim = signing.loads(token, salt=TOKEN_SALT)
    if claim.get("id") != from_address.pk or claim.get("address") != from_address.address_normalized:
        raise LinkError("invalid")
    if from_address.is_confirmed:
        raise LinkError("used")
    try:
        signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=settings.EMAILSYNC_CONFIRMATION_LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkError("expired") from None

    with transaction.atomic():
        # The filter on confirmed_at makes a second click that raced past
        # the check above a no-op.
        now = timezone.now()
        updated = FromAddress.objects.filter(pk=from_address.pk, confirmed_at__isnull=True).update(confirmed_at=now)
        if not updated:
            raise LinkError("used")
        from_address.confirmed_at = now
        account = from_address.account
        if not account.from_addresses.filter(is_default=True).exists():
            account.from_addresses.filter(pk=from_address.pk).update(is_default=True)
            from_address.is_default = True
    logger.info("From address confirmed: account=%s from_address=%s", from_address.account_id, from_address.pk)
