"""The only module that speaks IMAP, through imapclient.

`ImapSession` opens a checked, pinned connection (see network.py), logs in
and offers the few operations the sync needs. Every failure leaves as a
MailError with a code from errors.py.
"""

import imaplib
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field

from imapclient import IMAPClient, exceptions as imap_exceptions
from imapclient import imapclient as imapclient_module
from imapclient.imap_utf7 import decode as decode_utf7, encode as encode_utf7
from imapclient.datetime_util import parse_to_datetime
from imapclient.response_parser import parse_fetch_response, parse_response

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
    # Filled by a QRESYNC EXAMINE (RFC 7162 3.2.5): UIDs expunged and
    # {uid: (flags, modseq)} changed since the given HIGHESTMODSEQ.
    vanished: list = field(default_factory=list)
    changed_flags: dict = field(default_factory=dict)


STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY")


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
        # When the OAuth access token of this session's login expires; None
        # for a password login.
        self.token_expires_at = None

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
        # imapclient sets imaplib's debug level to 5 to route protocol lines
        # to its logger. imaplib then formats every response, literals
        # included, before the logger discards it: about a third of the
        # time of a large FETCH.
        self.client._imap.debug = 0

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
        """Log in with a password; a rejection becomes an auth MailError.

        imaplib sends LOGIN's arguments as ASCII, so credentials with other
        characters go through AUTHENTICATE PLAIN, whose SASL message is
        UTF-8 (RFC 4616).
        """
        try:
            if username.isascii() and password.isascii():
                self.client.login(username, password)
            else:
                self.client.plain_login(username, password)
        except imap_exceptions.LoginError as exc:
            raise errors.classify_login_failure(str(exc), self.host, self.port) from None
        except (imaplib.IMAP4.error, OSError, ssl.SSLError, EOFError) as exc:
            raise self._fail(exc) from None

    def oauth2_login(self, username, access_token):
        """Log in with SASL XOAUTH2, or OAUTHBEARER (RFC 7628) where only that is offered.

        A server that announces neither still gets XOAUTH2, the form Google
        and Microsoft document, and its reply decides.
        """
        try:
            mechanisms = {cap[5:] for cap in self.client.capabilities() if cap.startswith(b"AUTH=")}
            if b"OAUTHBEARER" in mechanisms and b"XOAUTH2" not in mechanisms:
                self.client.oauthbearer_login(username, access_token)
            else:
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

    def _quote(self, name):
        """Return a folder name encoded in modified UTF-7 and quoted (RFC 3501 5.1.3)."""
        encoded = encode_utf7(name)
        return b'"' + encoded.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'

    def _status_items(self):
        items = list(STATUS_ITEMS)
        if self.has_capability("CONDSTORE"):
            items.append("HIGHESTMODSEQ")
        return "(" + " ".join(items) + ")"

    def list_with_status(self):
        """Return (folders, {name: status dict}) in as few commands as possible.

        With LIST-STATUS (RFC 5819) this is one command. Without it, LIST is
        followed by STATUS commands for every selectable folder, sent
        together before any reply is read (pipelined), so the cost is two
        round trips whatever the number of folders.
        """
        if self.has_capability("LIST-STATUS"):
            return self._list_status_extended()
        folders = self.list_folders()
        names = [info.name for info in folders if info.is_selectable]
        return folders, self.status_many(names)

    def _list_status_extended(self):
        imap = self.client._imap
        return_options = "(SPECIAL-USE STATUS " + self._status_items() + ")"
        if not self.has_capability("SPECIAL-USE"):
            return_options = "(STATUS " + self._status_items() + ")"
        try:
            imap.untagged_responses.pop("STATUS", None)
            imap.untagged_responses.pop("LIST", None)
            typ, data = imap._simple_command("LIST", '""', '"*"', "RETURN", return_options)
            if typ != "OK":
                raise MailError(errors.PROTOCOL_ERROR, f"LIST-STATUS: {data!r}", host=self.host, port=self.port)
            _typ, listed = imap._untagged_response(typ, data, "LIST")
            _typ, statuses = imap._untagged_response(typ, data, "STATUS")
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        folders = [
            FolderInfo(name=name, delimiter=_text(delimiter), flags=list(flags))
            for flags, delimiter, name in self.client._proc_folder_list(listed)
        ]
        return folders, _parse_statuses(statuses)

    def status_many(self, names):
        """Send STATUS for every name at once, then read the replies."""
        if not names:
            return {}
        imap = self.client._imap
        items = self._status_items()
        try:
            imap.untagged_responses.pop("STATUS", None)
            tags = [imap._command("STATUS", self._quote(name).decode("ascii"), items) for name in names]
            lines = []
            for tag in tags:
                typ, data = imap._command_complete("STATUS", tag)
                if typ == "OK":
                    _typ, found = imap._untagged_response(typ, data, "STATUS")
                    lines.extend(item for item in found if item)
                    imap.untagged_responses.pop("STATUS", None)
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        return _parse_statuses(lines)

    def enable_qresync(self):
        """ENABLE QRESYNC (RFC 7162 3.2.3); returns False where it is not offered."""
        if not self.has_capability("QRESYNC"):
            return False
        try:
            self.client.enable("QRESYNC")
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None
        return True

    def examine_changes(self, folder_name, uidvalidity, modseq, known_uids=None):
        """EXAMINE with QRESYNC: one command returns the folder's status,
        the UIDs expunged and the flags changed since `modseq`."""
        imap = self.client._imap
        parameter = f"(QRESYNC ({uidvalidity} {modseq}))"
        try:
            for key in ("VANISHED", "FETCH", "EXISTS", "HIGHESTMODSEQ", "UIDNEXT", "UIDVALIDITY"):
                imap.untagged_responses.pop(key, None)
            typ, data = imap._simple_command("EXAMINE", self._quote(folder_name).decode("ascii"), parameter)
            if typ != "OK":
                raise MailError(errors.FOLDER_NOT_FOUND, _text(data[0] if data else ""), folder=folder_name, host=self.host)
            imap.state = "SELECTED"
            untagged = {key: list(value) for key, value in imap.untagged_responses.items()}
            imap.untagged_responses.clear()
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None

        status = FolderStatus(
            uidvalidity=int(_first(untagged.get("UIDVALIDITY"))),
            uidnext=_int_or_none(_first(untagged.get("UIDNEXT"))),
            exists=int(_first(untagged.get("EXISTS")) or 0),
            highestmodseq=_int_or_none(_first(untagged.get("HIGHESTMODSEQ"))),
        )
        for line in untagged.get("VANISHED", []):
            status.vanished.extend(_parse_vanished(line))
        fetched = parse_fetch_response(untagged.get("FETCH", []), True, True) if untagged.get("FETCH") else {}
        for uid, item in fetched.items():
            modseq_value = item.get(b"MODSEQ")
            status.changed_flags[uid] = (
                [_text(flag) for flag in item.get(b"FLAGS", ())],
                int(modseq_value[0]) if modseq_value else None,
            )
        return status

    def fetch_flags_changed_since(self, modseq):
        """Return {uid: (flags, modseq)} changed since modseq (RFC 7162 3.1.4)."""
        return self._fetch_flags("1:*", f"(CHANGEDSINCE {modseq})")

    def fetch_flags(self, uids):
        """Return {uid: (flags, modseq or None)} for the given UIDs."""
        if not uids:
            return {}
        return self._fetch_flags(",".join(str(uid) for uid in uids), None)

    def _fetch_flags(self, uid_set, modifier):
        imap = self.client._imap
        args = ["UID", "FETCH", uid_set, "(UID FLAGS)"]
        if modifier:
            args.append(modifier)
        try:
            imap.untagged_responses.pop("FETCH", None)
            tag = imap._command(*args)
            typ, data = imap._command_complete("FETCH", tag)
            if typ != "OK":
                raise MailError(errors.PROTOCOL_ERROR, f"FETCH FLAGS: {data!r}", host=self.host, port=self.port)
            _typ, lines = imap._untagged_response(typ, data, "FETCH")
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        lines = [line for line in lines if line]
        parsed = parse_fetch_response(lines, True, True) if lines else {}
        result = {}
        for uid, item in parsed.items():
            modseq_value = item.get(b"MODSEQ")
            result[uid] = (
                [_text(flag) for flag in item.get(b"FLAGS", ())],
                int(modseq_value[0]) if modseq_value else None,
            )
        return result

    def fetch_fingerprints(self, uids, gmail=False):
        """Fetch what identifies a message without its body.

        Returns {uid: {"size", "internal_date", "header", "gm_msgid",
        "flags"}};
        the sync uses it to recognise a message it already stores (moved,
        copied, or seen again after a UIDVALIDITY change) without
        downloading it again.
        """
        items = [b"RFC822.SIZE", b"INTERNALDATE", b"FLAGS", b"BODY.PEEK[HEADER]"]
        if gmail:
            items.append(b"X-GM-MSGID")
        try:
            response = self.client.fetch(list(uids), items)
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        result = {}
        for uid, item in response.items():
            result[uid] = {
                "size": item.get(b"RFC822.SIZE"),
                "internal_date": item.get(b"INTERNALDATE"),
                "header": bytes(item.get(b"BODY[HEADER]") or b""),
                "gm_msgid": item.get(b"X-GM-MSGID"),
                "flags": [_text(flag) for flag in item.get(b"FLAGS", ())],
            }
        return result

    def idle_start(self):
        try:
            self.client.idle()
        except (imaplib.IMAP4.error, OSError) as exc:
            raise self._fail(exc) from None

    def idle_wait(self, timeout):
        """Wait for untagged responses during IDLE; returns them (maybe [])."""
        try:
            return self.client.idle_check(timeout=timeout)
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None

    def idle_stop(self):
        try:
            return self.client.idle_done()
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None

    def fetch_messages(self, uids, modseq=False, gmail=False):
        """Fetch raw bodies (BODY.PEEK, never setting \\Seen) and metadata.

        Returns {uid: {b"BODY[]": bytes, b"INTERNALDATE": datetime,
        b"FLAGS": tuple, b"RFC822.SIZE": int}}; a UID the server no longer
        has is simply absent.
        """
        # The body literal goes last so the other items arrive before it.
        items = ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE"]
        if modseq:
            items.append("MODSEQ")
        if gmail:
            items.append("X-GM-MSGID")
        items.append("BODY.PEEK[]")
        imap = self.client._imap
        try:
            imap.untagged_responses.pop("FETCH", None)
            tag = imap._command("UID", "FETCH", ",".join(str(uid) for uid in uids), f"({' '.join(items)})")
            typ, data = imap._command_complete("FETCH", tag)
            if typ != "OK":
                raise MailError(errors.PROTOCOL_ERROR, f"FETCH: {data!r}"[:500], host=self.host, port=self.port)
            _typ, data = imap._untagged_response(typ, data, "FETCH")
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            raise self._fail(exc) from None
        try:
            return _parse_body_fetch(data)
        except ValueError:
            # Not the layout the fast parser expects: let imapclient's
            # complete (and about ten times slower) parser read it.
            logger.info("FETCH response read with the general parser: host=%s", self.host)
            return parse_fetch_response([item for item in data if item], True, True)

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


_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_FETCH_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_FETCH_MODSEQ = re.compile(rb"MODSEQ \((\d+)\)")
_FETCH_GM_MSGID = re.compile(rb"X-GM-MSGID (\d+)")
_FETCH_BODY_LITERAL = re.compile(rb"BODY\[\] \{\d+\}$")


def _parse_body_fetch(data):
    """Read imaplib's FETCH data for requests ending in BODY.PEEK[].

    imaplib returns each message as (text before the literal, literal)
    followed by the text after it. Responses without a body literal
    (unsolicited flag updates) are skipped. Raises ValueError on any other
    layout so the caller can fall back to imapclient's parser.
    """
    result = {}
    index = 0
    while index < len(data):
        item = data[index]
        index += 1
        if not isinstance(item, tuple):
            continue
        prefix, literal = item
        if not _FETCH_BODY_LITERAL.search(prefix):
            raise ValueError("literal is not BODY[]")
        suffix = b""
        if index < len(data) and isinstance(data[index], bytes) and not data[index][:1].isdigit():
            suffix = data[index]
            index += 1
        text = prefix + b" " + suffix
        uid = _FETCH_UID.search(text)
        if uid is None:
            raise ValueError("no UID in FETCH response")
        fields = {BODY_KEY: literal}
        flags = _FETCH_FLAGS.search(text)
        if flags:
            fields[b"FLAGS"] = tuple(flags.group(1).split())
        date = _FETCH_DATE.search(text)
        if date:
            fields[b"INTERNALDATE"] = parse_to_datetime(date.group(1))
        size = _FETCH_SIZE.search(text)
        if size:
            fields[b"RFC822.SIZE"] = int(size.group(1))
        modseq = _FETCH_MODSEQ.search(text)
        if modseq:
            fields[b"MODSEQ"] = (int(modseq.group(1)),)
        gm_msgid = _FETCH_GM_MSGID.search(text)
        if gm_msgid:
            fields[b"X-GM-MSGID"] = int(gm_msgid.group(1))
        result[int(uid.group(1))] = fields
    return result


def stored_flags(flags):
    """Return flags as sorted text, without \\Recent: RFC 3501 makes it a
    per-session flag, so it says nothing about the message itself."""
    return sorted({_text(flag) for flag in flags if _text(flag).lower() != "\\recent"})


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _first(values):
    if not values:
        return None
    value = values[0]
    return value.split()[0] if isinstance(value, bytes) and value.split() else value


def _parse_statuses(lines):
    """Parse untagged STATUS lines into {folder name: {item: int}}."""
    result = {}
    for line in lines:
        if not line:
            continue
        try:
            parsed = parse_response([line])
        except Exception:  # noqa: BLE001 - a malformed line must not hide the others
            logger.warning("Unparsable STATUS line ignored: %r", line[:200])
            continue
        if len(parsed) < 2:
            continue
        name, items = parsed[0], parsed[-1]
        if isinstance(name, bytes):
            name = decode_utf7(name)
        elif isinstance(name, int):
            name = str(name)
        values = {}
        for key, value in zip(items[::2], items[1::2]):
            values[_text(key).upper()] = int(value)
        result[name] = values
    return result


def _parse_vanished(line):
    """Parse "(EARLIER) 1:3,7" into a list of UIDs."""
    text = _text(line)
    if text.upper().startswith("(EARLIER)"):
        text = text[len("(EARLIER)"):]
    uids = []
    for part in text.strip().split(","):
        if ":" in part:
            low, high = part.split(":", 1)
            if low.isdigit() and high.isdigit():
                low, high = sorted((int(low), int(high)))
                uids.extend(range(low, high + 1))
        elif part.strip().isdigit():
            uids.append(int(part))
    return uids
