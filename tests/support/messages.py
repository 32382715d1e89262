"""Small RFC 5322 messages built in tests, as raw bytes with CRLF line ends."""


def make_message(number, sender="Ana Lopez <ana@example.test>", to="Ben Ruiz <ben@example.test>"):
    """Return a distinct plain-text message; `number` (0-59) sets its subject, date and Message-ID."""
    return (
        f"From: {sender}\r\n"
        f"To: {to}\r\n"
        f"Subject: Offer {number}\r\n"
        f"Date: Mon, 1 Dec 2025 10:{number:02d}:00 +0100\r\n"
        f"Message-ID: <offer-{number}@example.test>\r\n"
        f"\r\n"
        f"Body of offer {number}.\r\n"
    ).encode()
