"""Email address normalisation shared by records and synced messages.

Two addresses are the same when they are equal after removing surrounding
space, folding case and writing the domain in its IDNA (punycode) form.
Folding the local part's case is not what RFC 5321 promises, but every
large provider treats it that way and users expect "Ana@X.com" to match
"ana@x.com".
"""

import re
from email.utils import getaddresses
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

_validate_email = EmailValidator(message=_("Enter a valid email address."))


def normalize_address(value):
    """Return the comparable form of one address, or "" for an empty value."""
    if not value:
        return ""
    return _normalize(str(value))


@lru_cache(maxsize=65536)
def _normalize(value):
    # Cached: a mailbox repeats the same few hundred addresses, and IDNA
    # encoding is the slow part.
    address = value.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address.lower()

    domain = to_idna(domain.strip().rstrip(".").lower())
    return f"{unquote_local_part(local.strip()).lower()}@{domain}"


# RFC 5322 dot-atom: what a local part may be without quotes.
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_QUOTED_PAIR = re.compile(r"\\(.)")


def unquote_local_part(local):
    """Return a quoted local part without its quotes when it needs none.

    '"nominas"' and 'nominas' name the same mailbox, and RFC 5322 (3.4.1)
    prefers the bare form wherever it is possible. A local part that needs its
    quotes, such as '"ana garcía"', keeps them.
    """
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local
    inner = _QUOTED_PAIR.sub(r"\1", local[1:-1])
    return inner if _DOT_ATOM.match(inner) else local


def to_idna(domain):
    """Return a domain name in its IDNA (punycode) form.

    A name that is not valid IDNA (an empty label, a label over 63 octets)
    comes back unchanged, so an address with it still compares equal to
    itself.
    """
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def validate_address(value):
    """Raise ValidationError unless value is one valid address."""
    _validate_email(value.strip())


def split_addresses(text):
    """Split free text of addresses separated by commas, semicolons or lines.

    A separator inside double quotes or angle brackets does not split, so
    '"Moreno, Lucía" <lucia@acme.example>' stays one item. Returns the
    stripped, non-empty items in their order, without duplicates (compared
    in normalised form).
    """
    seen = set()
    result = []
    for part in _split_outside_quotes(str(text or "")):
        item = part.strip()
        if not item:
            continue
        key = normalize_address(item)
        if key in seen:
            continue
        seen.add(key)
        result.append(item)
    return result


def _split_outside_quotes(text):
    items, current = [], []
    is_quoted = is_bracketed = is_escaped = False
    for char in text:
        if is_escaped:
            is_escaped = False
        elif char == "\\" and is_quoted:
            is_escaped = True
        elif char == '"' and not is_bracketed:
            is_quoted = not is_quoted
        elif char in "<>" and not is_quoted:
            is_bracketed = char == "<"
        elif char in ",;\n" and not is_quoted and not is_bracketed:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return items


def parse_address_list(text):
    """Validate a comma-separated list of addresses typed by a user.

    Accepts "Name <a@b.c>" items as well as bare addresses. Returns a list of
    (display name, address) pairs, or raises ValidationError naming every
    invalid item.
    """
    if any(ch in str(text or "") for ch in "\r\n"):
        raise ValidationError(_("Addresses must not contain line breaks."), code="newline")
    result = []
    problems = []
    for item in split_addresses(text):
        pairs = getaddresses([item])
        address = pairs[0][1] if len(pairs) == 1 else ""
        if not _is_valid_address(address):
            problems.append(ValidationError(
                _("“%(value)s” is not a valid email address."), code="invalid", params={"value": item},
            ))
            continue
        result.append((pairs[0][0], address))
    if problems:
        raise ValidationError(problems)
    return result


def _is_valid_address(address):
    if not address:
        return False
    try:
        validate_address(address)
    except ValidationError:
        return False
    return True
