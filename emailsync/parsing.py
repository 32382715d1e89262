"""Turn raw RFC 5322 bytes into the fields the CRM shows.

Real mail breaks every rule, so nothing here raises on bad input: each
problem is recorded as a short English code in `problems` and parsing goes
on with the best reading available. The raw bytes are stored unchanged
elsewhere, so a later, better parser can always start again.

Parsing has two stages because full MIME parsing costs about ten times
more than reading headers (measured with CPython 3.11's email package on
5 KB messages): `parse_headers` runs while syncing; `parse_body` runs
later, in a background task or when a message is first displayed.
"""

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from email import message_from_bytes
from email.header import decode_header
from email import utils as email_utils
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

import nh3

from crm.addresses import normalize_address

SNIPPET_LENGTH = 200
_SURROGATES = re.compile("[\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
_FOLDING = re.compile(r"\r?\n(?=[ \t])")
_MSGID_IN_BRACKETS = re.compile(r"<([^<>]*)>")
_LEADING_JUNK = re.compile(rb"\A(?:[ \t]*\r?\n)+")
# An mbox "From " envelope line is not a header; Python's parser keeps it
# aside as the "unixfrom", but only when it is the very first line.
_MBOX_FROM = re.compile(rb"\AFrom [^\r\n]*\r?\n")


def clean_text(value):
    """Make text storable in any database: no NUL, no lone surrogates.

    PostgreSQL rejects NUL in text columns and psycopg cannot encode a lone
    surrogate, which Python's email package produces for undecodable bytes.
    """
    if not value:
        return ""
    if "\x00" in value:
        value = value.replace("\x00", "")
    return _SURROGATES.sub("\ufffd", value)


def _recover_bytes(value):
    """Undo compat32's surrogateescape so raw 8-bit header bytes can be decoded."""
    return value.encode("ascii", "surrogateescape")


def decode_8bit(data, problems, charset_hint=None):
    """Decode header bytes that should have been ASCII: UTF-8, the hint, or cp1252.

    Text that is mostly valid UTF-8 with a few damaged sequences stays
    UTF-8, with U+FFFD in place of the damage: Yahoo Mail cuts long file
    names by bytes, inside a character.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    damaged = text.count("\ufffd")
    multibyte = sum(1 for char in text if ord(char) > 127 and char != "\ufffd")
    if multibyte >= 4 * damaged:
        problems.add("damaged-utf8")
        return text
    if charset_hint:
        try:
            return data.decode(charset_hint)
        except (LookupError, UnicodeDecodeError):
            pass
    problems.add("8bit-header-not-utf8")
    return data.decode("cp1252", "replace")


def header_text(value, problems, charset_hint=None):
    """Return an unfolded header value as text, raw 8-bit bytes decoded."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = _FOLDING.sub("", value)
    if _SURROGATES.search(value):
        value = decode_8bit(_recover_bytes(value), problems, charset_hint)
    return value


def decode_words(value, problems):
    """Decode RFC 2047 encoded words in already unfolded header text.

    Adjacent encoded words of one charset are joined as bytes before
    decoding, so a character split across two words comes out whole.
    """
    if "=?" not in value:
        return value.strip()
    try:
        parts = decode_header(value)
    except Exception:  # noqa: BLE001 - email.header raises several types on bad base64
        problems.add("rfc2047-undecodable")
        return value.strip()

    pieces = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            pieces.append(chunk)
            continue
        pieces.append(_decode_chunk(chunk, charset, problems))
    # decode_header drops the space between an encoded word and plain text;
    # join the way email.header.make_header does.
    text = ""
    for index, piece in enumerate(pieces):
        if index and parts[index - 1][1] is not None and parts[index][1] is None and not piece.startswith(" "):
            text += " "
        elif index and parts[index - 1][1] is None and parts[index][1] is not None and not text.endswith(" "):
            text += " "
        text += piece
    return _WHITESPACE.sub(" ", text).strip()


def _decode_chunk(chunk, charset, problems):
    if charset is None or charset in ("unknown-8bit", "us-ascii"):
        try:
            return chunk.decode("ascii")
        except UnicodeDecodeError:
            return decode_8bit(chunk, problems)
    charset = charset.strip().lower()
    try:
        return chunk.decode(charset)
    except LookupError:
        problems.add("unknown-charset")
    except UnicodeDecodeError:
        problems.add("mislabelled-charset")
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return chunk.decode("cp1252", "replace")


def normalize_message_id(value):
    """Return a Message-ID without brackets, folding or surrounding space.

    "<a@b>", "a@b" and "<a@b >" written over two lines all become "a@b".
    """
    if not value:
        return ""
    value = _WHITESPACE.sub("", str(value))
    match = _MSGID_IN_BRACKETS.search(value)
    if match and match.group(1):
        value = match.group(1)
    else:
        value = value.strip("<>")
    return clean_text(value)[:998]


def normalize_references(value):
    """Return the message ids of a References or In-Reply-To header, in order."""
    if not value:
        return []
    ids = [normalize_message_id(item) for item in _MSGID_IN_BRACKETS.findall(str(value))]
    if not ids:
        ids = [normalize_message_id(item) for item in str(value).split()]
    return [item for item in ids if item]


def parse_date(value, problems):
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.add("malformed-date")
        return None
    if parsed is None:
        problems.add("malformed-date")
        return None
    if parsed.tzinfo is None:
        # RFC 5322 3.3: "-0000" means the local time zone is unknown; the
        # time itself is UTC.
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    if not 1970 <= parsed.year <= 2200:
        problems.add("implausible-date")
        return None
    return parsed


@dataclass
class Address:
    address: str  # normalised
    display_name: str
    original: str

    def display(self):
        if self.display_name and self.display_name != self.original:
            return f"{self.display_name} <{self.original}>"
        return self.original


# Address lists without quotes, comments, groups or escapes are split by
# these patterns; anything else goes to email.utils.getaddresses, which is
# about ten times slower.
_SIMPLE_ADDRESS_LIST = re.compile(r'^[^"():;\\\[\]]*$')
_NAMED_ADDRESS = re.compile(r"^\s*(.*?)\s*<\s*([^<>\s]+@[^<>\s]+?)\s*>\s*$")
_BARE_ADDRESS = re.compile(r"^\s*([^<>\s]+@[^<>\s]+)\s*$")


def _split_simple(value):
    """Return (name, address) pairs for a simple list, or None if not simple."""
    if not _SIMPLE_ADDRESS_LIST.match(value):
        return None
    pairs = []
    for item in value.split(","):
        if not item.strip():
            continue
        match = _NAMED_ADDRESS.match(item) or _BARE_ADDRESS.match(item)
        if match is None:
            return None
        pairs.append((match.group(1), match.group(2)) if match.lastindex == 2 else ("", match.group(1)))
    return pairs


def parse_addresses(value, problems):
    """Parse an address header into Address items, skipping groups' empties."""
    if not value:
        return []
    pairs = _split_simple(value)
    if pairs is None:
        try:
            pairs = getaddresses([value])
        except Exception:  # noqa: BLE001 - the parser can fail on pathological input
            problems.add("malformed-address")
            return []
    result = []
    seen = set()
    for name, address in pairs:
        address = clean_text(address.strip())
        if "@" not in address:
            if address:
                problems.add("malformed-address")
            continue
        normalized = normalize_address(address)
        if normalized in seen:
            continue
        seen.add(normalized)
        name = clean_text(decode_words(name, problems)) if name else ""
        result.append(Address(normalized[:320], name[:300], address[:320]))
    return result


@dataclass
class ParsedHeaders:
    message_id: str = ""
    in_reply_to: str = ""
    references: list = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    sender: list = field(default_factory=list)
    to: list = field(default_factory=list)
    cc: list = field(default_factory=list)
    bcc: list = field(default_factory=list)
    problems: set = field(default_factory=set)


def _strip_framing(raw, problems):
    """Drop an mbox envelope line or leading blank lines before the headers."""
    stripped = _LEADING_JUNK.sub(b"", raw, count=1)
    if stripped is not raw and len(stripped) != len(raw):
        problems.add("leading-blank-line")
    if _MBOX_FROM.match(stripped):
        problems.add("mbox-from-line")
        stripped = _MBOX_FROM.sub(b"", stripped, count=1)
    return stripped


_HEADER_END = re.compile(rb"\r?\n\r?\n")


_FIELD_LINE = re.compile(r"^([!-9;-~]+):[ \t]*(.*)$", re.S)
_LINE_BREAK = re.compile(r"\r?\n")
_CHARSET_PARAMETER = re.compile(r'charset\s*=\s*"?([^";\s]+)', re.I)


def _split_clean_header(head):
    """Return {lower-case name: [raw values]} for a well-formed header block.

    Returns None as soon as a line is neither a field nor a continuation,
    so that email.parser (about five times slower) deals with anything odd
    and records its defects. Values keep raw 8-bit bytes as surrogate
    escapes, as compat32's raw_items does.
    """
    fields = {}
    name = None
    for line in _LINE_BREAK.split(head.decode("ascii", "surrogateescape")):
        if line[:1] in (" ", "\t") and name is not None:
            fields[name][-1] += "\n" + line
            continue
        match = _FIELD_LINE.match(line)
        if match is None:
            return None
        name = match.group(1).lower()
        fields.setdefault(name, []).append(match.group(2))
    return fields


def _read_header_fields(data, problems):
    """Return (raw values by lower-case name, charset of Content-Type or None)."""
    end = _HEADER_END.search(data)
    fields = _split_clean_header(data[:end.start()]) if end else None
    if fields is not None:
        match = _CHARSET_PARAMETER.search(fields.get("content-type", [""])[0])
        return fields, (match.group(1).lower() if match else None)

    # Hand the parser only the header section: it reads every line it is
    # given, and the body is most of the message.
    message = BytesHeaderParser(policy=compat32).parsebytes(data[:end.end()] if end else data)
    for defect in message.defects:
        problems.add(type(defect).__name__)
    fields = {}
    for name, value in message.raw_items():
        # raw_items keeps 8-bit bytes as surrogate escapes; get() would turn
        # them into U+FFFD before header_text could decode them.
        fields.setdefault(name.lower(), []).append(value)
    charset = message.get_content_charset() if message.get("content-type") else None
    return fields, charset


def parse_headers(raw):
    """Read the headers the CRM needs for lists and matching, recording parse problems instead of raising."""
    problems = set()
    data = _strip_framing(raw, problems)
    raw_values, charset_hint = _read_header_fields(data, problems)
    if not raw_values:
        problems.add("no-headers")

    def text_of(name):
        values = raw_values.get(name)
        return header_text(values[0], problems, charset_hint) if values else ""

    def joined(name):
        return ", ".join(header_text(value, problems, charset_hint) for value in raw_values.get(name, []))

    for name in ("message-id", "from", "subject", "date"):
        if len(raw_values.get(name, [])) > 1:
            problems.add(f"duplicate-{name}")

    headers = ParsedHeaders(problems=problems)
    headers.message_id = normalize_message_id(text_of("message-id"))
    in_reply_to = normalize_references(text_of("in-reply-to"))
    headers.in_reply_to = in_reply_to[0] if in_reply_to else ""
    headers.references = normalize_references(text_of("references"))
    headers.subject = clean_text(decode_words(text_of("subject"), problems))
    headers.date = parse_date(text_of("date"), problems)
    headers.sender = parse_addresses(text_of("from"), problems)
    headers.to = parse_addresses(joined("to"), problems)
    headers.cc = parse_addresses(joined("cc"), problems)
    headers.bcc = parse_addresses(joined("bcc"), problems)
    return headers


# --- Bodies -------------------------------------------------------------


@dataclass
class Attachment:
    part: str  # position in the MIME tree, e.g. "2.1"
    filename: str
    content_type: str
    size: int
    content_id: str
    is_inline: bool

    def as_dict(self):
        return {
            "part": self.part, "filename": self.filename, "content_type": self.content_type,
            "size": self.size, "content_id": self.content_id, "inline": self.is_inline,
        }


@dataclass
class ParsedBody:
    text: str = ""
    html: str = ""
    snippet: str = ""
    attachments: list = field(default_factory=list)
    problems: set = field(default_factory=set)


def load_message(raw):
    """Parse the whole raw message with compat32 (lenient, never raises on input)."""
    problems = set()
    data = _strip_framing(raw, problems)
    return message_from_bytes(data, policy=compat32), problems


def iter_leaf_parts(message, prefix=""):
    """Yield (position, part) for every non-multipart part, depth first.

    Positions follow IMAP's BODYSTRUCTURE numbering: "1", "2.1", ...; a
    single-part message is part "1".
    """
    if not message.is_multipart() or _is_enclosed_message(message):
        yield prefix or "1", message
        return
    payload = message.get_payload()
    if not isinstance(payload, list):
        return
    for index, part in enumerate(payload, start=1):
        position = f"{prefix}.{index}" if prefix else str(index)
        if part.is_multipart() and not _is_enclosed_message(part):
            yield from iter_leaf_parts(part, position)
        else:
            yield position, part


def _is_enclosed_message(part):
    """True for a forwarded message (message/rfc822), kept whole as an attachment."""
    return part.get_content_type() == "message/rfc822"


def find_part(message, position):
    for candidate, part in iter_leaf_parts(message):
        if candidate == position:
            return part
    return None


def decode_part_text(part, problems):
    """Return a text part's content as str, whatever its declared charset."""
    payload = part_bytes(part, problems)
    charset = part.get_content_charset() or ""
    charset = charset.strip().strip('"').lower()
    if charset:
        try:
            return payload.decode(charset)
        except LookupError:
            problems.add("unknown-charset")
        except UnicodeDecodeError:
            problems.add("mislabelled-charset")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        if not charset:
            problems.add("8bit-no-charset")
        return payload.decode("cp1252", "replace")


def part_bytes(part, problems):
    """Return a leaf part's decoded payload, noting transfer-encoding damage."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - uu/base64 decoders raise assorted errors
        problems.add("transfer-encoding-error")
        payload = None
    if payload is None:
        raw = part.get_payload()
        if isinstance(raw, str):
            payload = raw.encode("utf-8", "surrogateescape")
        elif isinstance(raw, list) and raw:
            payload = _enclosed_bytes(raw[0], problems)
        else:
            payload = b""
    for defect in getattr(part, "defects", []):
        problems.add(type(defect).__name__)
    return payload


def _enclosed_bytes(message, problems):
    try:
        return message.as_bytes()
    except Exception:  # noqa: BLE001 - re-serialising broken MIME can fail in many ways
        problems.add("enclosed-message-unreadable")
        return b""


def attachment_filename(part, problems):
    """Return a part's file name, decoding RFC 2231, RFC 2047 and raw 8-bit forms.

    The name comes from Content-Disposition's filename, else Content-Type's
    name (RFC 2183 section 2.3). Headers with raw 8-bit bytes are decoded
    before their parameters are read, because compat32 would turn those
    bytes into U+FFFD first.
    """
    source = _headers_with_8bit_decoded(part, problems)
    missing = object()
    try:
        name = source.get_param("filename", missing, "content-disposition")
        if name is missing:
            name = source.get_param("name", missing, "content-type")
    except Exception:  # noqa: BLE001 - malformed RFC 2231 parameters
        problems.add("malformed-filename")
        return ""
    if name is missing or not name:
        return ""
    name = _collapse_rfc2231(name, problems)
    name = header_text(name, problems)
    return clean_text(decode_words(name, problems))[:255]


def _headers_with_8bit_decoded(part, problems):
    """Return `part`, or a copy of its two naming headers when they carry raw 8-bit bytes."""
    raw = {name.lower(): value for name, value in part.raw_items() if name.lower() in _NAMING_HEADERS}
    if not any(isinstance(value, str) and _SURROGATES.search(value) for value in raw.values()):
        return part
    hint = part.get_content_charset() if "content-type" in raw else None
    copy = EmailMessage(policy=compat32)
    for name, value in raw.items():
        text = str(value)
        if _SURROGATES.search(text):
            text = decode_8bit(_recover_bytes(text), problems, hint)
        copy[name] = text
    return copy


_NAMING_HEADERS = ("content-disposition", "content-type")


def _collapse_rfc2231(value, problems):
    """Decode an RFC 2231 (charset, language, text) parameter; leave plain text as it is.

    Unlike email.utils.collapse_rfc2231_value, a name whose bytes do not fit
    the declared charset is read as UTF-8, then cp1252, and the problem noted.
    """
    if not isinstance(value, tuple):
        return _unquote(value)
    charset, _language, text = value
    data = bytes(_unquote(text), "raw-unicode-escape")
    return _decode_chunk(data, charset or "us-ascii", problems)


def _unquote(value):
    return email_utils.unquote(value) if isinstance(value, str) else str(value)


def _disposition(part):
    """Return the Content-Disposition type ("attachment", "inline" or "")."""
    value = part.get("content-disposition")
    if value is None:
        return ""
    # compat32 returns a Header object for values with raw 8-bit bytes.
    return str(value).split(";", 1)[0].strip().lower()


def _is_attachment(part, content_type):
    disposition = _disposition(part)
    if disposition == "attachment":
        return True
    if content_type.startswith("text/") and content_type in ("text/plain", "text/html"):
        return False
    return True


def parse_body(raw):
    """Find the text and HTML bodies and the attachments. Never raises."""
    message, problems = load_message(raw)
    for defect in message.defects:
        problems.add(type(defect).__name__)

    body = ParsedBody(problems=problems)
    try:
        parts = list(iter_leaf_parts(message))
    except RecursionError:
        problems.add("mime-too-deep")
        parts = []

    for position, part in parts:
        content_type = (part.get_content_type() or "text/plain").lower()
        filename = attachment_filename(part, problems)
        if not filename and not _is_attachment(part, content_type):
            if content_type == "text/plain" and not body.text:
                body.text = decode_part_text(part, problems)
                continue
            if content_type == "text/html" and not body.html:
                body.html = decode_part_text(part, problems)
                continue
        size = len(part_bytes(part, problems))
        body.attachments.append(Attachment(
            part=position,
            filename=filename,
            content_type=content_type,
            size=size,
            content_id=normalize_message_id(header_text(part.get("content-id"), problems)),
            is_inline=_disposition(part) == "inline",
        ))

    body.text = clean_text(body.text)
    body.html = clean_text(body.html)
    body.snippet = make_snippet(body.text or html_to_text(body.html))
    return body


def html_to_text(markup):
    if not markup:
        return ""
    return html.unescape(nh3.clean(markup, tags=set()))


def make_snippet(text):
    return clean_text(_WHITESPACE.sub(" ", text or "").strip())[:SNIPPET_LENGTH]


def ensure_body_parsed(message, raw=None):
    """Fill the body fields of a Message from its raw bytes, once.

    Loads the raw bytes with one query unless given. Saves only the body
    fields, so it is safe beside a concurrent sync.
    """
    if message.is_body_parsed:
        return message
    if raw is None:
        raw = bytes(message.raw.data)
    parsed = parse_body(raw)
    message.text_body = parsed.text
    message.html_body = parsed.html
    message.snippet = parsed.snippet
    message.attachments = [item.as_dict() for item in parsed.attachments]
    message.has_attachments = any(not item.is_inline or item.filename for item in parsed.attachments)
    message.parse_problems = sorted(set(message.parse_problems or []) | parsed.problems)
    message.is_body_parsed = True
    message.save(update_fields=[
        "text_body", "html_body", "snippet", "attachments", "has_attachments",
        "parse_problems", "is_body_parsed",
    ])
    return message


def to_utc(value):
    return value.astimezone(dt_timezone.utc) if value else None
