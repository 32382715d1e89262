"""Small raw messages for tests, written as a mail client would."""

import itertools
import uuid
from email import message_from_bytes, policy

_sequence = itertools.count(1)


def make_raw(subject="Hello", sender="ana@example.com", to="bob@example.com", cc="", body="Body text.",
             message_id=None, date="Mon, 02 Nov 2026 10:00:00 +0000", extra_headers=""):
    """Return RFC 5322 bytes with CRLF line ends; each call is unique by default."""
    message_id = message_id or f"<{uuid.uuid4().hex}.{next(_sequence)}@example.com>"
    lines = [
        f"From: {sender}",
        f"To: {to}",
    ]
    if cc:
        lines.append(f"Cc: {cc}")
    lines += [
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if extra_headers:
        lines += extra_headers.strip("\r\n").split("\n")
    head = "\r\n".join(line.rstrip("\r") for line in lines)
    return (head + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n").encode("utf-8")


def mail_to(smtp_server, address, since=0):
    """Return the parsed messages the SMTP server received for address after the first `since`."""
    return [
        message_from_bytes(received.data, policy=policy.default)
        for received in smtp_server.messages[since:] if address in received.rcpt_tos
    ]
