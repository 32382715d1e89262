"""The only module that speaks SMTP, through smtplib.

Connections go to a checked, pinned address (network.py) and TLS is
verified against the name the user typed. Failures leave as MailError.
"""

import base64
import smtplib
import ssl

from . import errors, network
from .errors import MailError


class _PinnedSMTP(smtplib.SMTP):
    def _get_socket(self, host, port, timeout):
        return network.open_socket(host, port, timeout)


class _PinnedSMTP_SSL(smtplib.SMTP):
    """Implicit TLS (port 465) over a pinned socket."""

    def __init__(self, *args, ssl_context=None, **kwargs):
        self._ssl_context = ssl_context
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        sock = network.open_socket(host, port, timeout)
        return self._ssl_context.wrap_socket(sock, server_hostname=host)


class SmtpSession:
    """One connection to an outgoing server. Use as a context manager."""

    def __init__(self, host, port, security, timeout):
        self.host = host
        self.port = port
        self.security = security
        self.timeout = timeout
        self.client = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()

    def _fail(self, exc):
        if isinstance(exc, MailError):
            return exc
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return MailError(errors.CONNECTION_LOST, str(exc), host=self.host, port=self.port)
        if isinstance(exc, (OSError, ssl.SSLError)):
            return errors.from_os_error(exc, self.host, self.port)
        return MailError(errors.PROTOCOL_ERROR, f"{type(exc).__name__}: {exc}", host=self.host, port=self.port)

    def connect(self):
        network.check_security_allowed(self.security, self.host, self.port)
        context = network.tls_context()
        try:
            if self.security == "ssl":
                self.client = _PinnedSMTP_SSL(self.host, self.port, timeout=self.timeout, ssl_context=context)
            else:
                self.client = _PinnedSMTP(self.host, self.port, timeout=self.timeout)
            self.client.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                if not self.client.has_extn("starttls"):
                    raise MailError(errors.STARTTLS_NOT_OFFERED, "no STARTTLS in EHLO", host=self.host, port=self.port)
                self.client.starttls(context=context)
                self.client.ehlo()
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise self._fail(exc) from None
        return self

    def login(self, username, password):
        """Authenticate with a password; a rejection becomes an auth MailError."""
        try:
            if username.isascii() and password.isascii():
                self.client.login(username, password)
            else:
                self._login_utf8(username, password)
        except smtplib.SMTPAuthenticationError as exc:
            raise errors.classify_login_failure(_reply_text(exc), self.host, self.port) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise MailError(errors.PROTOCOL_ERROR, f"AUTH not offered: {exc}", host=self.host, port=self.port) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._fail(exc) from None

    def _login_utf8(self, username, password):
        """Send AUTH PLAIN (or LOGIN) with UTF-8 credentials.

        smtplib (Python 3.11) encodes SASL responses as ASCII and raises
        UnicodeEncodeError for other characters; RFC 4616 defines PLAIN's
        message as UTF-8, and servers read LOGIN's the same way.
        """
        mechanisms = self.client.esmtp_features.get("auth", "").upper().split()
        if not self.client.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")

        def encode(text):
            return base64.b64encode(text.encode("utf-8")).decode("ascii")

        if "PLAIN" in mechanisms or "LOGIN" not in mechanisms:
            code, reply = self.client.docmd("AUTH", "PLAIN " + encode(f"\0{username}\0{password}"))
        else:
            code, reply = self.client.docmd("AUTH", "LOGIN " + encode(username))
            if code == 334:
                code, reply = self.client.docmd(encode(password))
        if code not in (235, 503):
            raise smtplib.SMTPAuthenticationError(code, reply)

    def oauth2_login(self, username, access_token):
        """Authenticate with SASL XOAUTH2, or OAUTHBEARER (RFC 7628) where only that is offered.

        On a rejected token both mechanisms send a 334 challenge with a
        JSON error; the client ends the exchange (an empty line for
        XOAUTH2, a lone ^A for OAUTHBEARER, RFC 7628 3.2.3) and the server
        then replies 535.
        """
        mechanisms = self.client.esmtp_features.get("auth", "").upper().split()
        if "OAUTHBEARER" in mechanisms and "XOAUTH2" not in mechanisms:
            mechanism, abort = "OAUTHBEARER", "AQ=="
            message = f"n,a={_gs2_name(username)},\x01auth=Bearer {access_token}\x01\x01"
        else:
            mechanism, abort = "XOAUTH2", ""
            message = f"user={username}\x01auth=Bearer {access_token}\x01\x01"
        encoded = base64.b64encode(message.encode("utf-8")).decode("ascii")
        try:
            code, reply = self.client.docmd("AUTH", f"{mechanism} {encoded}")
            if code == 334:
                code, reply = self.client.docmd(abort)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._fail(exc) from None
        if code != 235:
            raise errors.classify_login_failure(reply, self.host, self.port)

    def max_size(self):
        """Return the SIZE limit the server announced (RFC 1870), or None."""
        value = self.client.esmtp_features.get("size", "")
        return int(value) if value.strip().isdigit() and int(value) > 0 else None

    def send(self, from_address, recipients, data):
        """Send bytes; returns the refused recipients, raises when all fail."""
        try:
            return self.client.sendmail(from_address, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            first = next(iter(exc.recipients), "")
            raise MailError(errors.RECIPIENT_REJECTED, str(exc.recipients), recipient=first) from None
        except smtplib.SMTPSenderRefused as exc:
            if exc.smtp_code == 552:
                raise MailError(errors.MESSAGE_TOO_LARGE, _reply_text(exc), limit=self.max_size() or "") from None
            raise MailError(errors.SENDER_REJECTED, _reply_text(exc), sender=from_address) from None
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code == 552:
                raise MailError(errors.MESSAGE_TOO_LARGE, _reply_text(exc), limit=self.max_size() or "") from None
            raise MailError(errors.PROTOCOL_ERROR, _reply_text(exc), host=self.host, port=self.port) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._fail(exc) from None

    def close(self):
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _gs2_name(name):
    """Escape an authorization identity for a GS2 header (RFC 5801 4)."""
    return name.replace("=", "=3D").replace(",", "=2C")


def _reply_text(exc):
    reply = getattr(exc, "smtp_error", b"")
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return f"{getattr(exc, 'smtp_code', '')} {reply}".strip()
