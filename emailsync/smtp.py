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

    def has_extension(self, name):
        """Return True when the server's EHLO reply lists the extension `name`."""
        return self.client.has_extn(name)

    def send(self, from_address, recipients, data, smtputf8=False):
        """Send `data` to every recipient, or to none of them.

        Every RCPT is answered before DATA starts, and the transaction is
        reset when the server rejects any recipient, so a message never
        reaches some recipients and not others. Returns only when the server
        accepted the message (250 after DATA). Raises MailError:
        message_too_large (over the announced SIZE, checked before sending),
        sender_rejected, recipient_rejected (`recipient` lists every
        rejected address), message_rejected, connection_lost and the
        network codes.
        """
        limit = self.max_size()
        if limit and len(data) > limit:
            raise MailError(errors.MESSAGE_TOO_LARGE, f"{len(data)} bytes over SIZE {limit}", limit=limit)

        options = [f"SIZE={len(data)}"] if self.has_extension("size") else []
        if smtputf8:
            # RFC 6531 3.4: SMTPUTF8 messages are 8-bit, so BODY=8BITMIME too.
            options += ["SMTPUTF8", "BODY=8BITMIME"]
        try:
            self._mail(from_address, options, limit)
            self._recipients(recipients)
            code, reply = self.client.data(data)
        except smtplib.SMTPDataError as exc:
            raise self._data_failure(exc.smtp_code, exc.smtp_error, limit) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise self._fail(exc) from None
        if code != 250:
            raise self._data_failure(code, reply, limit)

    def _mail(self, from_address, options, limit):
        code, reply = self.client.mail(from_address, options)
        if code == 250:
            return
        self._reset()
        detail = _format_reply(code, reply)
        if code == 552:
            raise MailError(errors.MESSAGE_TOO_LARGE, detail, limit=limit or "")
        if code == 530:
            # RFC 4954 6: the server wants AUTH first.
            raise MailError(errors.AUTH_FAILED, detail, host=self.host, port=self.port)
        raise MailError(errors.SENDER_REJECTED, detail, sender=from_address)

    def _recipients(self, recipients):
        rejected = []
        replies = []
        for recipient in recipients:
            code, reply = self.client.rcpt(recipient)
            if code not in (250, 251):
                rejected.append(recipient)
                replies.append(_format_reply(code, reply))
        if rejected:
            self._reset()
            raise MailError(
                errors.RECIPIENT_REJECTED, "; ".join(replies)[:500],
                recipient=", ".join(rejected), rejected=rejected,
            )

    def _data_failure(self, code, reply, limit):
        self._reset()
        detail = _format_reply(code, reply)
        if code == 552:
            return MailError(errors.MESSAGE_TOO_LARGE, detail, limit=limit or "")
        return MailError(errors.MESSAGE_REJECTED, detail, host=self.host, port=self.port)

    def _reset(self):
        """Abort the mail transaction (RSET) so nothing of it is delivered."""
        try:
            self.client.rset()
        except (smtplib.SMTPException, OSError):
            pass

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
    return _format_reply(getattr(exc, "smtp_code", ""), getattr(exc, "smtp_error", b""))


def _format_reply(code, reply):
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return f"{code} {reply}".strip()
