"""Emails the product sends to users about their mailbox, in their language."""

import enum
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from . import errors

logger = logging.getLogger(__name__)


class Delivery(enum.Enum):
    """The outcome of one notification."""

    SENT = "sent"
    # Neither the user nor their mailbox has an address to send to.
    NO_ADDRESS = "no_address"
    # The mail backend raised an error, and a later attempt may succeed.
    FAILED = "failed"
    # A rate limit held the email back (confirmation links of From aliases).
    RATE_LIMITED = "rate_limited"


def user_language(user):
    profile = getattr(user, "crm_profile", None)
    if profile is not None and profile.language:
        return profile.language
    return settings.LANGUAGE_CODE


def notification_address(user, mailbox_address=""):
    """Return the address that notifications to `user` go to, or "" when there is none.

    The user's own email comes first. Django users may have none (the admin's
    add-user form leaves it optional, and `make run` creates `admin` without
    one), so the address of the user's connected mailbox, `mailbox_address`,
    comes next.
    """
    return (user.email or "").strip() or (mailbox_address or "").strip()


def send_to_user(user, template_name, context, mailbox_address=""):
    """Render templates/<template_name>_subject.txt and _body.txt and send them.

    The message goes to notification_address(user, mailbox_address). Returns
    a Delivery. A failure is logged, not raised: a notification must never
    break a sync.
    """
    address = notification_address(user, mailbox_address)
    if not address:
        logger.warning("No address to notify: user=%s template=%s", user.pk, template_name)
        return Delivery.NO_ADDRESS
    return send_to_address(user, address, template_name, context)


def send_to_address(user, address, template_name, context):
    """Render the templates in user's language and send them to address; return a Delivery.

    An OSError (smtplib's and ssl's errors are OSErrors) is logged, not raised.
    """
    context = {"user": user, "site_url": settings.SITE_URL, **context}
    with translation.override(user_language(user)):
        subject = render_to_string(f"{template_name}_subject.txt", context).strip()
        body = render_to_string(f"{template_name}_body.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [address])
    except OSError as exc:
        logger.error("Notification not sent: user=%s template=%s error=%s", user.pk, template_name, exc)
        return Delivery.FAILED
    logger.info("Notification sent: user=%s template=%s to_user_email=%s", user.pk, template_name,
                address == (user.email or "").strip())
    return Delivery.SENT


def send_account_paused(account):
    with translation.override(user_language(account.owner)):
        reason = str(errors.message_for(account.pause_reason, host=account.incoming_host,
                                        port=account.incoming_port))
    return send_to_user(account.owner, "emailsync/email/account_paused", {
        "account": account, "reason": reason,
    }, mailbox_address=account.email_address)


def send_first_sync_done(account, message_count):
    return send_to_user(account.owner, "emailsync/email/first_sync_done", {
        "account": account, "message_count": message_count,
    }, mailbox_address=account.email_address)
