"""Import Leads or Contacts from a CSV file, all rows or none.

The file is UTF-8, with or without a byte order mark. Its first line is the
header, naming columns from COLUMNS in any order; `last_name` and `owner`
(the owner's username) are required. `secondary_emails` holds addresses
separated by ";". Fields are separated by commas, or by semicolons when the
header contains semicolons and no comma, as spreadsheets set to Spanish
write CSV.

Every row is checked before anything is written. Errors carry the line
number in the file, so a person can find and fix each one.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .addresses import normalize_address, validate_address
from .models import Contact, Lead

COLUMNS = ("first_name", "last_name", "company", "email", "secondary_emails", "phone", "owner")
REQUIRED_COLUMNS = ("last_name", "owner")
# Columns copied as text into the model field of the same name.
TEXT_COLUMNS = ("first_name", "last_name", "company", "phone")
SECONDARY_SEPARATOR = ";"
MODELS = {"lead": Lead, "contact": Contact}


@dataclass
class RowError:
    line: int
    message: str


class InvalidFile(Exception):
    """The file has errors; nothing was imported."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


@dataclass
class ParsedRow:
    line: int
    values: dict
    owner_username: str
    secondary_emails: list = field(default_factory=list)
    owner: object = None


def decode(data):
    """Return the text of UTF-8 bytes, without a leading byte order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InvalidFile([RowError(line, _(
            "The file is not valid UTF-8 (byte 0x%(byte)02x). Save it as UTF-8 "
            "(“CSV UTF-8” in spreadsheet programs) and import it again."
        ) % {"byte": data[exc.start]})]) from None


def read_rows(text):
    """Split CSV text into the header row and the data rows, skipping empty lines.

    Each row is a (line, values) pair, where line is the number of the row's
    first line in the file.
    """
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    line = 1
    try:
        for values in reader:
            if any(value.strip() for value in values):
                rows.append((line, values))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidFile([RowError(line, _("The line is not valid CSV: %(error)s") % {"error": exc})]) from None
    if not rows:
        raise InvalidFile([RowError(1, _("The file is empty. Its first line must be the header: %(columns)s")
                                    % {"columns": ",".join(COLUMNS)})])
    header_line, header = rows[0]
    return (header_line, [name.strip().lower() for name in header]), rows[1:]


def check_header(line, header):
    """Return the errors of the header row: unknown, repeated and missing columns."""
    errors = []
    for name in header:
        if name not in COLUMNS:
            errors.append(_("Unknown column “%(column)s”. The columns are: %(columns)s.")
                          % {"column": name, "columns": ", ".join(COLUMNS)})
    for name in sorted({name for name in header if header.count(name) > 1}):
        errors.append(_("The column “%(column)s” appears more than once.") % {"column": name})
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.append(_("The required column “%(column)s” is missing.") % {"column": name})
    return [RowError(line, message) for message in errors]


def _address_errors(column, value):
    """Return the error messages for one address: none when it is valid."""
    try:
        validate_address(value)
    except ValidationError:
        return [_("%(column)s: “%(value)s” is not a valid email address.") % {"column": column, "value": value}]
    # The limit of the model fields, from RFC 5321's limit on a path.
    if len(value) > 254:
        return [_("%(column)s: “%(value)s” is longer than 254 characters.") % {"column": column, "value": value}]
    return []


def _parse_secondary(text, primary):
    """Return (addresses, error messages) for the secondary_emails cell.

    Repeats, and the primary address repeated here, are dropped.
    """
    addresses, messages = [], []
    seen = {normalize_address(primary)} if primary else set()
    for address in text.split(SECONDARY_SEPARATOR):
        address = address.strip()
        if not address or normalize_address(address) in seen:
            continue
        seen.add(normalize_address(address))
        messages += _address_errors("secondary_emails", address)
        addresses.append(address)
    return addresses, messages


def parse_row(model, header, line, values):
    """Return (ParsedRow, messages) for one data row; messages lists what is wrong."""
    if len(values) != len(header):
        message = _("The row has %(found)s fields, but the header has %(expected)s.") % {
            "found": len(values), "expected": len(header),
        }
        return None, [message]

    cells = {name: value.strip() for name, value in zip(header, values)}
    messages = []
    for column in TEXT_COLUMNS:
        limit = model._meta.get_field(column).max_length
        if len(cells.get(column, "")) > limit:
            messages.append(_("%(column)s is longer than %(limit)s characters.") % {"column": column, "limit": limit})
    if not cells["last_name"]:
        messages.append(_("last_name is empty."))
    if not cells["owner"]:
        messages.append(_("owner is empty."))

    email = cells.get("email", "")
    if email:
        messages += _address_errors("email", email)
    secondary, secondary_messages = _parse_secondary(cells.get("secondary_emails", ""), email)
    messages += secondary_messages

    values = {column: cells.get(column, "") for column in TEXT_COLUMNS}
    values["email"] = email
    return ParsedRow(line, values, cells["owner"], secondary), messages


def _find_owners(usernames):
    """Return {username: user} for the usernames that exist, in bounded queries."""
    usernames = sorted(usernames)
    found = {}
    for start in range(0, len(usernames), 500):
        chunk = usernames[start:start + 500]
        for user in get_user_model().objects.filter(username__in=chunk):
            found[user.get_username()] = user
    return found


def validate_file(model, data):
    """Check every row of the CSV bytes; return ParsedRows with their owners.

    Raises InvalidFile listing every error when any row is invalid.
    """
    (header_line, header), rows = read_rows(decode(data))
    header_errors = check_header(header_line, header)
    if header_errors:
        raise InvalidFile(header_errors)

    parsed, errors = [], []
    for line, values in rows:
        row, messages = parse_row(model, header, line, values)
        errors += [RowError(line, message) for message in messages]
        if row is not None:
            parsed.append(row)

    owners = _find_owners({row.owner_username for row in parsed if row.owner_username})
    for row in parsed:
        if row.owner_username and row.owner_username not in owners:
            errors.append(RowError(row.line, _("owner: user “%(username)s” not found.") % {
                "username": row.owner_username,
            }))
        row.owner = owners.get(row.owner_username)

    if errors:
        raise InvalidFile(sorted(errors, key=lambda error: error.line))
    return parsed


def create_records(model, rows, progress=None):
    """Create a record and its secondary addresses for each row, in one transaction.

    `progress(count)` is called after each record. Returns the number created.
    """
    address_model = model.secondary_emails.rel.related_model
    with transaction.atomic():
        for row in rows:
            record = model.objects.create(owner=row.owner, **row.values)
            for address in row.secondary_emails:
                address_model.objects.create(record=record, address=address)
            if progress:
                progress(1)
    return len(rows)
