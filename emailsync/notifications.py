"""Emails the product sends to users about their mailbox, in their language."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from . import errors

logger = logging.getLogger(__name__)


def user_language(user):
    profile = getattr(user, "crm_profile", None)
    if profile is not None and profile.language:
        return profile.language
    return settings.LANGUAGE_CODE


def send_to_user(user, template_name, context):
    """Render templates/<template_name>_subject.txt and _body.txt and send them to user.

    Returns True when the mail backend accepted the message. A failure is
    logged, not raised: a notification must never break a sync.
    """
    if not user.email:
        logger.warning("No address to notify: user=%s template=%s", user.pk, template_name)
        return False
    return send_to_address(user, user.email, template_name, context)


def send_to_address(user, address, template_name, context):
    """Render the templates in user's language and send them to address.

    Returns True when the mail backend accepted the message. An OSError
    (smtplib's and ssl's errors are OSErrors) is logged, not raised.
    """
    context = {"user": user, "site_url": settings.SITE_URL, **context}
    with translation.override(user_language(user)):
        subject = render_to_string(f"{template_name}_subject.txt", context).strip()
        body = render_to_string(f"{template_name}_body.txt", context)
    try:
        send_mail(" ".join(subject.split()), body, settings.DEFAULT_FROM_EMAIL, [address])
    except OSError as exc:
        logger.error("Notification not sent: user=%s template=%s error=%s", user.pk, template_name, exc)
        return False
    logger.info("Notification sent: user=%s template=%s", user.pk, template_name)
    return True


def send_account_paused(account):
    with translation.override(user_language(account.owner)):
        reason = str(errors.message_for(account.pause_reason, host=account.incoming_host,
                                        port=account.incoming_port))
    return send_to_user(account.owner, "emailsync/email/account_paused", {
        "account": account, "reason": reason,
    })


def send_first_sync_done(account, message_count):
    return send_to_user(account.owner, "emailsync/email/first_sync_done", {
        "account": account, "message_count": message_count,
    })
