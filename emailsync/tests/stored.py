"""Store raw messages the way sync does, without a mail server.

The pages under test read what emailsync.storage writes, so these helpers
go through storage.store_batch with a folder row of their own.
"""

import itertools
from email.message import EmailMessage

from emailsync.models import Folder, Message
from emailsync.parsing import ensure_body_parsed
from emailsync.storage import FetchedMessage, store_batch

_uids = itertools.count(1)


def folder_of(account, role=Folder.Role.INBOX):
    name = "Sent" if role == Folder.Role.SENT else "INBOX"
    folder, _created = Folder.objects.get_or_create(
        account=account, name=name, defaults={"role": role, "uidvalidity": 1, "is_sync_enabled": True},
    )
    return folder


def store_raw(account, raw, role=Folder.Role.INBOX, parse_body=True):
    """Store `raw` in `account` as sync would and return the Message (bodies parsed by default)."""
    folder = folder_of(account, role)
    uid = next(_uids)
    store_batch(account, folder, 1, [FetchedMessage(uid=uid, raw=raw)], account.own_addresses())
    message = Message.objects.get(account=account, locations__folder=folder, locations__uid=uid)
    if parse_body:
        ensure_body_parsed(message)
    return message


def raw_with_attachment(subject, sender, to, body, filename="oferta.pdf", data=b"%PDF-1.4 oferta", cc="",
                        message_id=None, html=None):
    """Return the bytes of a multipart message with a text body (or HTML too) and one attachment (part 2)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return bytes(message)
