"""Send an email written in the CRM through the user's own mailbox.

Steps of `send_draft`:
1. Check that the user may send: the "integrate email" permission, a
   connected mailbox that is not paused, and a From address of it.
2. Connect to the mailbox's SMTP server (TLS verified), log in, build the
   message and send it to all recipients or to none (smtp.py).
3. Only once the server accepted it: store the exact bytes sent as the
   account's outgoing message of origin CRM, with its participants, so it
   is listed on every record it involves, and move the last-sent time.
4. With "Store sent messages on the server", append the same bytes to the
   IMAP Sent folder with \\Seen. A failure there is recorded on the message
   and reported, but never makes the email "not sent". POP3 mailboxes
   have no folders, so they get no copy.
Everything runs inside the web request, with EMAILSYNC_TIMEOUT on every
network operation. The log gets one line per send with ids and counts,
never addresses, subjects or bodies.
"""

import logging
import time
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.utils.translation import gettext as _, gettext_lazy

from crm.addresses import normalize_address

from . import accounts, errors
from .activity import record_interaction, record_sent
from .errors import MailError
from .folders import find_sent_folder
from .models import MailAccount, Message
from .outgoing import ascii_domain, build_email, draft_needs_smtputf8, needs_smtputf8, new_message_id
from .parsing import ensure_body_parsed
from .services import PERMISSION
from .storage import store_sent_message

logger = logging.getLogger(__name__)

# Codes whose detail may quote addresses from the server's reply; their
# log line keeps only the SMTP reply code.
ADDRESS_CODES = {errors.RECIPIENT_REJECTED, errors.SENDER_REJECTED, errors.SMTPUTF8_NOT_OFFERED}

UNAVAILABLE_MESSAGES = {
    "no_permission": gettext_lazy(
        "You do not have permission to use a mailbox in the CRM. Ask an administrator "
        "for the “integrate email” permission."
    ),
    "no_mailbox": gettext_lazy(
        "You have no connected mailbox. Connect yours in the email settings to send "
        "email from the CRM."
    ),
    "paused": gettext_lazy(
        "Your mailbox is paused, so the CRM cannot send from it. %(reason)s Fix it in "
        "the email settings, then send again."
    ),
}


class SendingUnavailable(Exception):
    """The user cannot send from the CRM; `reason` is a key of UNAVAILABLE_MESSAGES."""

    def __init__(self, reason, account=None):
        super().__init__(reason)
        self.reason = reason
        self.account = account

    @property
    def can_fix_in_settings(self):
        return self.reason != "no_permission"

    def user_message(self):
        pause_reason = ""
        if self.account is not None:
            pause_reason = (
                errors.message_for(self.account.pause_reason) if self.account.pause_reason
                else _("An administrator paused it.")
            )
        return str(UNAVAILABLE_MESSAGES[self.reason]) % {"reason": pause_reason}


@dataclass
class SendResult:
    # None when the server accepted the email but storing it failed.
    message: Message | None
    copy_error: MailError | None = None
    # True when this draft had been sent already (the form was submitted twice).
    is_repeat: bool = False


def sending_account(user):
    """Return the mailbox `user` sends from, or raise SendingUnavailable."""
    if not user.has_perm(PERMISSION):
        raise SendingUnavailable("no_permission")
    account = MailAccount.objects.filter(owner=user).first()
    if account is None:
        raise SendingUnavailable("no_mailbox")
    if account.status != MailAccount.Status.ACTIVE:
        raise SendingUnavailable("paused", account)
    return account


def send_draft(user, draft, replied=None):
    """Send `draft` from `user`'s mailbox and return a SendResult.

    `replied` is the stored message this one replies to, if any. Raises
    SendingUnavailable, PermissionDenied (a From address that is not a
    confirmed one of the mailbox) or MailError; nothing is stored unless
    the SMTP server accepted the message.
    """
    account = sending_account(user)
    sender = normalize_address(draft.sender[1])
    if not account.from_addresses.confirmed().filter(address_normalized=sender).exists():
        raise PermissionDenied("From address not a confirmed one of this mailbox")
    earlier = find_earlier_send(user, draft.token)
    if earlier is not None:
        return SendResult(message=earlier, is_repeat=True)

    started = time.monotonic()
    try:
        data = transmit(account, draft)
    except MailError as error:
        logger.warning(
            "Email not sent: account=%s code=%s detail=%s seconds=%.2f",
            account.pk, error.code, loggable_detail(error), time.monotonic() - started,
        )
        raise

    message = record_sent_message(account, user, data, draft)
    logger.info(
        "Email sent: account=%s message=%s recipients=%s attachments=%s bytes=%s seconds=%.2f",
        account.pk, message.pk if message else None, len(draft.recipients()), len(draft.attachments),
        len(data), time.monotonic() - started,
    )
    if replied is not None and replied.direction == Message.Direction.RECEIVED:
        record_interaction(user)

    copy_error = None
    if account.store_sent_on_server and account.is_imap and message is not None:
        copy_error = save_server_copy(account, message, data)
    return SendResult(message=message, copy_error=copy_error)


def find_earlier_send(user, token):
    """Return the message already sent from a draft with this token, or None."""
    if not token:
        return None
    # make_msgid writes "<time.pid.random.TOKEN@domain>".
    return Message.objects.filter(
        owner=user, origin=Message.Origin.CRM, message_id__contains=f".{token}@",
    ).first()


def transmit(account, draft):
    """Send the draft through the account's SMTP server; return the bytes sent."""
    smtputf8 = draft_needs_smtputf8(draft)
    with accounts.open_smtp(account) as session:
        if smtputf8 and not session.has_extension("smtputf8"):
            address = next(item for _name, item in [draft.sender, *draft.to, *draft.cc, *draft.bcc] if needs_smtputf8(item))
            raise MailError(errors.SMTPUTF8_NOT_OFFERED, "SMTPUTF8 not in EHLO", address=address)

        data = build_email(draft, new_message_id(draft.sender[1], draft.token), smtputf8)
        recipients = [ascii_domain(address) for address in draft.recipients()]
        session.send(ascii_domain(draft.sender[1]), recipients, data, smtputf8=smtputf8)
    return data


def record_sent_message(account, user, data, draft):
    """Store the accepted bytes and move the user's last-sent time.

    Returns the Message, or None when the database failed: the email is
    sent all the same, so the error is logged rather than raised.
    """
    try:
        record_sent(user)
        message = store_sent_message(account, data, bcc=draft.bcc)
        ensure_body_parsed(message, data)
    except DatabaseError:
        logger.exception("Sent email not stored: account=%s", account.pk)
        return None
    return message


def save_server_copy(account, message, data):
    """Append the sent bytes to the account's Sent folder with \\Seen.

    Returns None on success, else the MailError, which is also stored on
    the message (server_copy_error) so its page can offer another try.
    """
    try:
        with accounts.open_imap(account) as session:
            folder = find_sent_folder(session.list_folders())
            if folder is None:
                raise MailError(errors.SENT_FOLDER_NOT_FOUND, "no Sent folder in LIST")
            session.append(folder, data, flags=[b"\\Seen"], msg_time=message.sent_at)
    except MailError as error:
        Message.objects.filter(pk=message.pk).update(server_copy_error=error.code)
        message.server_copy_error = error.code
        logger.warning(
            "Sent copy not saved: account=%s message=%s code=%s detail=%s",
            account.pk, message.pk, error.code, error.detail[:300],
        )
        return error

    if message.server_copy_error:
        Message.objects.filter(pk=message.pk).update(server_copy_error="")
        message.server_copy_error = ""
    logger.info("Sent copy saved: account=%s message=%s", account.pk, message.pk)
    return None


def loggable_detail(error):
    """Return the error's detail for the log, without addresses."""
    if error.code in ADDRESS_CODES:
        reply_code = error.detail[:3]
        return reply_code if reply_code.isdigit() else ""
    return error.detail[:300]
