"""Attachments and inline images served from a stored message's raw bytes.

Parts are addressed by their IMAP-style position ("2", "1.3.2"), the same
numbering as Message.attachments. Nothing here checks who may see the
message: the views do that through emailsync.sharing before calling in.

Every response is built so that a browser never runs what a stranger sent:
downloads carry `Content-Disposition: attachment`, active types (HTML, SVG,
XML, scripts) go out as application/octet-stream, `nosniff` stops type
guessing, and a sandboxing Content-Security-Policy covers anything opened
anyway.
"""

import mimetypes
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from django.http import HttpResponse

from .parsing import attachment_filename, find_part, load_message, part_bytes

# Image types a browser shows without running code; SVG is left out because
# it can carry script.
INLINE_IMAGE_TYPES = {
    "image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif", "image/webp", "image/bmp", "image/avif",
}

# Types a browser would render or execute if it ever displayed the file.
ACTIVE_TYPES = {
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
    "text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript",
    "application/x-shockwave-flash", "application/pdf+html", "multipart/x-mixed-replace",
}

_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_UNSAFE_NAME_CHARACTERS = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')
MAX_FILENAME_LENGTH = 180

# Every part response, whatever its type: no script, no plugin, no framing.
PART_RESPONSE_POLICY = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


@dataclass(frozen=True)
class PartFile:
    filename: str
    content_type: str
    data: bytes


def read_part(message, position):
    """Return the PartFile at `position` in `message`, or None when there is no such part.

    Loads the raw bytes (one query) and parses the whole message.
    """
    message_tree, problems = load_message(bytes(message.raw.data))
    part = find_part(message_tree, position)
    if part is None:
        return None
    content_type = (part.get_content_type() or "application/octet-stream").lower()
    filename = attachment_filename(part, problems)
    return PartFile(filename=filename, content_type=content_type, data=part_bytes(part, problems))


def safe_filename(name, position, content_type):
    """Return a file name safe to offer for saving.

    Removes path separators, control and reserved characters and leading
    dots, keeps the extension when shortening, and invents
    "attachment-<position><extension>" for a part without a name.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE_NAME_CHARACTERS.sub("_", name).strip(" ._")
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        return f"attachment-{position.replace('.', '-')}{extension}"
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[:MAX_FILENAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH]
    return name


def content_disposition(disposition, filename):
    """Return a Content-Disposition value with an ASCII fallback and the exact UTF-8 name.

    RFC 6266 section 4.3: `filename` carries an ASCII approximation for old
    clients, `filename*` (RFC 5987 encoding) the real name.
    """
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = fallback.replace("\\", "_").replace('"', "_").strip()
    stem, dot, extension = fallback.rpartition(".")
    if not dot:
        stem, extension = fallback, ""
    if not stem.strip(" ._-,;"):
        fallback = "attachment" + (dot + extension if extension else "")
    value = f'{disposition}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def download_content_type(declared):
    """Return the Content-Type to send: the declared type, unless it is active or malformed."""
    declared = (declared or "").strip().lower()
    if declared in ACTIVE_TYPES or not _TOKEN.match(declared):
        return "application/octet-stream"
    return declared


def download_response(part_file, position):
    """Return the response that saves a part as a file, never rendering it."""
    filename = safe_filename(part_file.filename, position, part_file.content_type)
    response = HttpResponse(part_file.data, content_type=download_content_type(part_file.content_type))
    response["Content-Disposition"] = content_disposition("attachment", filename)
    return protect_part_response(response)


def inline_image_response(part_file, position):
    """Return the response that shows an inline image, or None for a type that is not a plain image."""
    if part_file.content_type not in INLINE_IMAGE_TYPES:
        return None
    content_type = "image/jpeg" if part_file.content_type in ("image/jpg", "image/pjpeg") else part_file.content_type
    response = HttpResponse(part_file.data, content_type=content_type)
    filename = safe_filename(part_file.filename, position, content_type)
    response["Content-Disposition"] = content_disposition("inline", filename)
    response["Cache-Control"] = "private, max-age=3600"
    return protect_part_response(response)


def protect_part_response(response):
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PART_RESPONSE_POLICY
    response["Referrer-Policy"] = "no-referrer"
    return response
