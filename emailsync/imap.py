"""The only module that speaks IMAP, through imapclient.

`ImapSession` opens a checked, pinned connection (see network.py), logs in
and offers the few operations the sync needs. Every failure leaves as a
MailError with a code from errors.py.
"""

import imaplib
import logging
import socket
import ssl
from dataclasses import dataclass, field

from imapclient import IMAPClient, exceptions as imap_exceptions
from imapclient import imapclient as imapclient_module

from . import errors, network
from .errors import MailError

logger = logging.getLogger(__name__)

# RFC 6154 SPECIAL-USE flags, as imapclient returns them.
SENT = imapclient_module.SENT
TRASH = imapclient_module.TRASH
JUNK = imapclient_module.JUNK
DRAFTS = imapclient_module.DRAFTS
ALL = imapclient_module.ALL
NOSELECT = b"\\Noselect"
NONEXISTENT = b"\\NonExistent"

FETCH_BODY = b"BODY.PEEK[]"
BODY_KEY = b"BODY[]"


class _PinnedIMAP4(imaplib.IMAP4):
    """imaplib's plain connection, opened to an address checked beforehand."""

    def __init__(self, host, port, timeout):
        self._connect_timeout = timeout
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout=None):
        return network.open_socket(self.host, self.port, timeout or self._connect_timeout)


class _PinnedIMAP4_TLS(_PinnedIMAP4):
    """Implicit TLS (port 993) over a pinned socket, verified against host."""

    def __init__(self, host, port, timeout, ssl_context):
        self.ssl_context = ssl_context
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout=None):
        sock = super()._create_socket(timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)


class _PinnedIMAPClient(IMAPClient):
    def _create_IMAP4(self):
        connect_timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _PinnedIMAP4_TLS(self.host, self.port, connect_timeout, self.ssl_context)
        return _PinnedIMAP4(self.host, self.port, connect_timeout)


@dataclass
class FolderInfo:
    name: str
    delimiter: str
    flags: list = field(default_factory=list)

    @property
    def is_selectable(self):
        lowered = {flag.lower() for flag in self.flags}
        return NOSELECT.lower() not in lowered and NONEXISTENT.lower() not in lowered

    def has_flag(self, flag):
        return flag.lower() in {existing.lower() for existing in self.flags}


@dataclass
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None


class ImapSession:
    """One connection to an account's IMAP server.

    Use as a context manager; it logs out on exit. Methods raise MailError.
    """

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

    def _fail(self, exc, code=None):
        if isinstance(exc, MailError):
            return exc
        if code:
            return MailError(code, f"{type(exc).__name__}: {exc}", host=self.host, port=self.port)
        if isinstance(exc, (OSError, ssl.SSLError, EOFError)):
            return errors.from_os_error(exc, self.host, self.port)
        if isinstance(exc, imaplib.IMAP4.abort):
            return MailError(errors.CONNECTION_LOST, str(exc), host=self.host, port=self.port)
        return MailError(errors.PROTOCOL_ERROR, f"{type(exc).__name__}: {exc}", host=self.host, port=self.port)

    def connect(self):
        """Open the connection and, for STARTTLS, upgrade it before anything else."""
        network.check_security_allowed(self.security, self.host, self.port)
        context = network.tls_context()
        try:
            self.client = _PinnedIMAPClient(
                self.host, port=self.port, ssl=self.security == "ssl",
                ssl_context=context, timeout=self.timeout,
            )
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
            raise self._fail(exc) from None

        if self.security == "starttls":
            try:
                offered = b"STARTTLS" in self.client.capabilities()
            except (imaplib.IMAP4.error, OSError) as exc:
                raise self._fail(exc) from None
            if not offered:
                raise MailError(errors.STARTTLS_NOT_OFFERED, "no STARTTLS capability", host=self.host, port=self.port)
            try:
                self.client.starttls(ssl_context=context)
            except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
                raise self._fail(exc) from None
        return self

    def login(self, username, password):
        """Log in with a password; a rejection becomes an auth MailError."""
        try:
            self.client.login(username, password)
        except imap_exceptions.LoginError as exc:
            raise errors.classify_login_failure(str(exc), self.host, self.port) from None
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
            raise self._fail(exc) from None

    def oauth2_login(self, username, access_token):
        """Log in with SASL XOAUTH2."""
        try:
            self.client.oauth2_login(username, access_token)
        except imap_exceptions.LoginError as exc:
            raise errors.classify_login_failure(str(exc), self.host, self.port) from None
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
            raise self._fail(exc) from None

    def capabilities(self):
        try:
            return [cap.decode("ascii", "replace") for cap in self.client.capabilities()]
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None

    def has_capability(self, name):
        return name.upper() in {cap.upper() for cap in self.capabilities()}

    def list_folders(self):
        """Return every folder with its LIST flags, decoded from modified UTF-7."""
        try:
            listed = self.client.list_folders()
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None
        folders = []
        for flags, delimiter, name in listed:
            if isinstance(delimiter, bytes):
                delimiter = delimiter.decode("ascii", "replace")
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            folders.append(FolderInfo(name=name, delimiter=delimiter or "", flags=list(flags)))
        return folders

    def select(self, folder_name):
        """Select a folder read-only, so nothing the sync does changes flags."""
        try:
            response = self.client.select_folder(folder_name, readonly=True)
        except imap_exceptions.IMAPClientError as exc:
            if isinstance(exc, imaplib.IMAP4.abort):
                raise self._fail(exc) from None
            raise MailError(errors.FOLDER_NOT_FOUND, str(exc), folder=folder_name, host=self.host) from None
        except OSError as exc:
            raise self._fail(exc) from None
        return FolderStatus(
            uidvalidity=int(response[b"UIDVALIDITY"]),
            uidnext=_int_or_none(response.get(b"UIDNEXT")),
            exists=int(response.get(b"EXISTS", 0)),
            highestmodseq=_int_or_none(response.get(b"HIGHESTMODSEQ")),
        )

    def search_uids(self, since=None):
        """Return the UIDs of the selected folder, optionally since a date."""
        criteria = ["SINCE", since] if since else ["ALL"]
        return self._uid_search(criteria)

    def search_uids_above(self, uid):
        """Return the UIDs greater than uid.

        RFC 3501 6.4.8: "N:*" always includes the highest UID even when it is
        below N, so the result is filtered.
        """
        found = self._uid_search(["UID", f"{uid + 1}:*"])
        return [value for value in found if value > uid]

    def _uid_search(self, criteria):
        try:
            return sorted(int(uid) for uid in self.client.search(criteria))
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None

    def fetch_messages(self, uids, modseq=False):
        """Fetch raw bodies (BODY.PEEK, never setting \\Seen) and metadata.

        Returns {uid: {b"BODY[]": bytes, b"INTERNALDATE": datetime,
        b"FLAGS": tuple, b"RFC822.SIZE": int}}; a UID the server no longer
        has is simply absent.
        """
        items = [FETCH_BODY, b"INTERNALDATE", b"FLAGS", b"RFC822.SIZE"]
        if modseq:
            items.append(b"MODSEQ")
        try:
            return self.client.fetch(list(uids), items)
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None

    def append(self, folder_name, data, flags=(), msg_time=None):
        """Append raw bytes to a folder; returns the server's response."""
        try:
            return self.client.append(folder_name, data, flags=flags, msg_time=msg_time)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None

    def close(self):
        if self.client is None:
            return
        client, self.client = self.client, None
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError, EOFError, socket.timeout):
            try:
                client.shutdown()
            except OSError:
                pass


def _int_or_none(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return int(value) if value is not None else None
