"""Builders of mailboxes and messages for the page tests.

They write rows directly, as the sync engine would after parsing, so the
pages can be tested without a mail server.
"""

import hashlib
import itertools
from datetime import timedelta

from django.utils import timezone

from crm.addresses import normalize_address
from emailsync.models import MailAccount, Message, Participant, SharingLevel, SharingMode

_sequence = itertools.count(1)


def make_account(owner, sharing_mode=SharingMode.PRIVATE, sharing_level=SharingLevel.FULL):
    """Create the mailbox of `owner` with the given sharing setting."""
    return MailAccount.objects.create(
        owner=owner,
        email_address=f"{owner.username}@crm.example",
        incoming_host="imap.crm.example",
        incoming_port=993,
        incoming_login=f"{owner.username}@crm.example",
        smtp_host="smtp.crm.example",
        smtp_port=465,
        sharing_mode=sharing_mode,
        sharing_level=sharing_level,
    )


def make_message(account, sender, recipients, cc=(), subject="Hola", direction=Message.Direction.RECEIVED,
                 sort_date=None, text_body="Texto del mensaje.", html_body="", **fields):
    """Create a parsed message of `account` and its From, To and Cc participants.

    `sender` is one address; `recipients` and `cc` are lists of addresses.
    """
    number = next(_sequence)
    sort_date = sort_date or timezone.now() - timedelta(minutes=number)
    message = Message.objects.create(
        account=account,
        owner=account.owner,
        direction=direction,
        content_hash=hashlib.sha256(f"message-{number}".encode()).hexdigest(),
        subject=subject,
        sent_at=sort_date,
        sort_date=sort_date,
        from_address=sender,
        from_display=sender,
        to_display=", ".join(recipients),
        cc_display=", ".join(cc),
        is_body_parsed=True,
        text_body=text_body,
        html_body=html_body,
        snippet=text_body[:100],
        **fields,
    )
    roles = [(Participant.Role.FROM, [sender]), (Participant.Role.TO, recipients), (Participant.Role.CC, cc)]
    Participant.objects.bulk_create(
        Participant(
            message=message, role=role, address=normalize_address(address),
            owner=account.owner, sort_date=sort_date, message_key=message.key,
        )
        for role, addresses in roles
        for address in addresses
    )
    return message
