"""The only module that speaks POP3, through poplib.

The sync only reads: it never sends DELE, so mail stays on the server.
"""

import poplib
import ssl

from . import errors, network
from .errors import MailError

# RFC 1939 allows 512 octets per line; real servers send longer lines, and
# poplib's default of 2048 rejects them ("line too long").
poplib._MAXLINE = 1024 * 1024


class _PinnedPOP3(poplib.POP3):
    def _create_socket(self, timeout):
        return network.open_socket(self.host, self.port, timeout)


class _PinnedPOP3_SSL(_PinnedPOP3):
    def __init__(self, host, port, timeout, context):
        self._ssl_context = context
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        sock = super()._create_socket(timeout)
        return self._ssl_context.wrap_socket(sock, server_hostname=self.host)


class Pop3Session:
    """One POP3 connection. Use as a context manager."""

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
        if isinstance(exc, (OSError, ssl.SSLError, EOFError)):
            return errors.from_os_error(exc, self.host, self.port)
        return MailError(errors.PROTOCOL_ERROR, f"{type(exc).__name__}: {exc}", host=self.host, port=self.port)

    def connect(self):
        network.check_security_allowed(self.security, self.host, self.port)
        context = network.tls_context()
        try:
            if self.security == "ssl":
                self.client = _PinnedPOP3_SSL(self.host, self.port, self.timeout, context)
            else:
                self.client = _PinnedPOP3(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                if "STLS" not in self._capabilities():
                    raise MailError(errors.STARTTLS_NOT_OFFERED, "no STLS capability", host=self.host, port=self.port)
                self.client.stls(context=context)
        except (poplib.error_proto, OSError, ssl.SSLError, EOFError) as exc:
            raise self._fail(exc) from None
        return self

    def _capabilities(self):
        try:
            return self.client.capa()
        except poplib.error_proto:
            return {}

    def login(self, username, password):
        try:
            self.client.user(username)
            self.client.pass_(password)
        except poplib.error_proto as exc:
            raise errors.classify_login_failure(_reply_text(exc), self.host, self.port) from None
        except (OSError, EOFError) as exc:
            raise self._fail(exc) from None

    def uidl_map(self):
        """Return {message number: UIDL} for the maildrop."""
        try:
            _response, lines, _octets = self.client.uidl()
        except (poplib.error_proto, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        result = {}
        for line in lines:
            number, _space, uidl = line.decode("ascii", "replace").partition(" ")
            if number.isdigit() and uidl:
                result[int(number)] = uidl.strip()
        return result

    def retrieve(self, number):
        """Return message `number` as bytes, CRLF line ends, dot-stuffing undone."""
        try:
            _response, lines, _octets = self.client.retr(number)
        except (poplib.error_proto, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        return b"\r\n".join(lines) + b"\r\n"

    def close(self):
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.quit()
        except (poplib.error_proto, OSError, EOFError):
            client.close()


def _reply_text(exc):
    value = exc.args[0] if exc.args else b""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
