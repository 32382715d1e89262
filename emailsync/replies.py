"""Prefill a reply to a stored message: recipients, subject, quoted text and thread ids."""

import re
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from . import parsing
from .models import Message

# Reply prefixes of common mail programs: "Re:" (English, Spanish Outlook
# writes "RE:"), "AW:" (German), "SV:" (Scandinavian), "Antw:" (Dutch).
# "RV:" is Spanish Outlook's forward prefix, so it is not one of them.
REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*(\[\d+\])?\s*:", re.IGNORECASE)

# Characters that make a display name need quotes in an address list
# (RFC 5322 3.2.3 specials).
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')

_CONTROL = re.compile("[\x00-\x1f\x7f]")


def reply_subject(subject):
    """Return "Re: subject", without adding a prefix to a subject that has one."""
    # A received subject may hold line breaks (an encoded word can carry
    # them); the compose form accepts one line only.
    subject = " ".join(_CONTROL.sub(" ", subject or "").split())
    if REPLY_PREFIX.match(subject):
        return subject
    return f"Re: {subject}" if subject else "Re:"


def format_address(display_name, address):
    """Return "Name <address>" as a user would type it, quoting the name when needed."""
    if not display_name:
        return address
    if _SPECIALS.search(display_name):
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        display_name = f'"{escaped}"'
    return f"{display_name} <{address}>"


def reply_recipients(message, own_addresses, reply_all=False):
    """Return (to, cc) as lists of parsing.Address for a reply to `message`.

    A reply goes to the Reply-To addresses, else to the sender. When the
    owner sent the original, the reply goes to its recipients instead.
    Replying to all adds the original's other To and Cc recipients, but
    never the replier's own addresses.
    """
    headers, reply_to = _parse_reply_headers(message)
    sent_by_owner = message.direction == Message.Direction.SENT
    to = headers.to if sent_by_owner else (reply_to or headers.sender)
    cc = []
    if reply_all:
        seen = {item.address for item in to} | set(own_addresses)
        for item in headers.to + headers.cc:
            if item.address not in seen:
                seen.add(item.address)
                cc.append(item)
    to = [item for item in to if item.address not in own_addresses] or to
    return to, cc


def _parse_reply_headers(message):
    """Return the message's ParsedHeaders and its Reply-To addresses.

    The sync stores no Reply-To, so the raw headers are read again here.
    """
    raw = bytes(message.raw.data)
    headers = parsing.parse_headers(raw)
    problems = set()
    parsed = BytesHeaderParser(policy=compat32).parsebytes(raw)
    values = [parsing.header_text(value, problems) for name, value in parsed.raw_items() if name.lower() == "reply-to"]
    return headers, parsing.parse_addresses(", ".join(values), problems)


def quote_body(message):
    """Return the original text quoted with "> ", under an attribution line."""
    parsing.ensure_body_parsed(message)
    text = message.text_body or parsing.html_to_text(message.html_body)
    when = timezone.localtime(message.sent_at or message.sort_date)
    attribution = _("On %(date)s, %(sender)s wrote:") % {
        "date": date_format(when, "DATETIME_FORMAT"),
        "sender": message.from_display or message.from_address,
    }
    quoted = [f"> {line}" if line else ">" for line in text.replace("\r\n", "\n").split("\n")]
    return "\n\n" + attribution + "\n" + "\n".join(quoted).rstrip() + "\n"


def thread_ids(message):
    """Return (In-Reply-To, References) ids for a reply to `message`, without brackets."""
    references = message.references.split()
    if message.message_id and message.message_id not in references:
        references.append(message.message_id)
    return message.message_id, references
