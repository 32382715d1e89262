"""Build the RFC 5322 bytes of an email written in the CRM.

The standard library's `email` package writes the message:
- headers with non-ASCII display names or subjects become RFC 2047
  encoded words, unless the message must use SMTPUTF8 (RFC 6531) because
  an address has non-ASCII characters before the @;
- text bodies use quoted-printable or base64 (whichever is shorter), so no
  line exceeds the 998-octet limit of RFC 5322 2.1.1 and the message needs
  no 8BITMIME;
- attachment names with non-ASCII characters use RFC 2231 parameters.
The plain text the user typed is the first part; a simple HTML version
(paragraphs and links, the text escaped) is its alternative.
"""

import re
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone
from django.utils.html import urlize

from crm.addresses import normalize_address, to_idna

# policy.SMTP writes CRLF line ends; cte_type="7bit" makes set_content pick
# quoted-printable or base64 for any text that is not short-lined ASCII.
ASCII_POLICY = policy.SMTP.clone(cte_type="7bit")
UTF8_POLICY = policy.SMTPUTF8.clone(cte_type="7bit")

# Keep References to the first id and the newest ones, as RFC 5322 3.6.4
# allows, so a long thread does not grow the header without bound.
MAX_REFERENCES = 20

_PARAGRAPH_BREAK = re.compile(r"\n(?:[ \t]*\n)+")


@dataclass
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class Draft:
    """Everything the user wrote, with addresses as (display name, address) pairs."""

    sender: tuple
    to: list
    subject: str
    body: str
    cc: list = field(default_factory=list)
    bcc: list = field(default_factory=list)
    attachments: list = field(default_factory=list)
    # Message-IDs without angle brackets, for a reply.
    in_reply_to: str = ""
    references: list = field(default_factory=list)
    # Random text that becomes part of the Message-ID, so a second
    # submission of the same form can be recognised.
    token: str = ""

    def recipients(self):
        """Return every To, Cc and Bcc address once, in that order."""
        seen = set()
        result = []
        for _name, address in self.to + self.cc + self.bcc:
            key = normalize_address(address)
            if key not in seen:
                seen.add(key)
                result.append(address)
        return result


def ascii_domain(address):
    """Return the address with its domain in IDNA (punycode) form."""
    local, _at, domain = address.rpartition("@")
    return f"{local}@{to_idna(domain)}"


def needs_smtputf8(address):
    """Return True when the address cannot be written in ASCII.

    A non-ASCII domain has an ASCII form (IDNA); a non-ASCII local part has
    none, so only SMTPUTF8 can carry it.
    """
    return not ascii_domain(address).isascii()


def draft_needs_smtputf8(draft):
    return any(needs_smtputf8(address) for _name, address in [draft.sender, *draft.to, *draft.cc, *draft.bcc])


def new_message_id(sender_address, token=""):
    """Return a Message-ID on the sender's domain, with `token` inside it."""
    domain = ascii_domain(sender_address).rpartition("@")[2]
    return make_msgid(idstring=token or None, domain=domain)


def build_email(draft, message_id, smtputf8=False):
    """Return the message's bytes, with CRLF line ends, as they are sent and stored.

    Bcc recipients are not written into the headers, so the other
    recipients never see them. Raises ValueError when a header value
    contains a line break (the form rejects those earlier).
    """
    message = EmailMessage(policy=UTF8_POLICY if smtputf8 else ASCII_POLICY)
    message["From"] = header_address(*draft.sender)
    if draft.to:
        message["To"] = [header_address(name, address) for name, address in draft.to]
    if draft.cc:
        message["Cc"] = [header_address(name, address) for name, address in draft.cc]
    message["Subject"] = draft.subject
    message["Date"] = format_datetime(timezone.localtime())
    message["Message-ID"] = message_id
    if draft.in_reply_to:
        message["In-Reply-To"] = f"<{draft.in_reply_to}>"
        message["References"] = " ".join(f"<{item}>" for item in trim_references(draft.references))

    text = normalize_newlines(draft.body)
    message.set_content(text)
    if text.strip():
        message.add_alternative(text_to_html(text), subtype="html")
    for attachment in draft.attachments:
        maintype, _slash, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=maintype or "application", subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message.as_bytes()


def header_address(display_name, address):
    """Return a headerregistry.Address, the domain in IDNA form."""
    if any(char in display_name for char in "\r\n"):
        raise ValueError("line break in a display name")
    local, _at, domain = ascii_domain(address).rpartition("@")
    return Address(display_name=display_name, username=local, domain=domain)


def trim_references(references):
    if len(references) <= MAX_REFERENCES:
        return references
    return [references[0], *references[-(MAX_REFERENCES - 1):]]


def normalize_newlines(text):
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def text_to_html(text):
    """Return a small HTML document of the text: paragraphs, line breaks and links.

    The text is escaped; urlize links http(s) addresses, www. names and
    email addresses, and nothing else (no javascript: or data: links).
    """
    paragraphs = [part.strip("\n") for part in _PARAGRAPH_BREAK.split(text.strip()) if part.strip()]
    blocks = []
    for paragraph in paragraphs:
        linked = urlize(paragraph, nofollow=False, autoescape=True)
        blocks.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>\n'
        + "\n".join(blocks)
        + "\n</body></html>\n"
    )
