"""Reader-facing descriptions of the codes in Message.parse_problems.

emailsync.parsing stores short codes, plus the class names of the defects
that Python's email package reports (such as "StartBoundaryNotFoundDefect").
The message page shows each one as a sentence in the reader's language.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PROBLEM_TEXTS = {
    "8bit-header-not-utf8": gettext_lazy(
        "A header contains 8-bit text that is not UTF-8, so some characters may look wrong."
    ),
    "8bit-no-charset": gettext_lazy(
        "Some text does not declare its character set, so some characters may look wrong."
    ),
    "enclosed-message-unreadable": gettext_lazy("A message enclosed in this one could not be read."),
    "implausible-date": gettext_lazy("The Date header contains an implausible date."),
    "leading-blank-line": gettext_lazy("The message starts with blank lines before its headers."),
    "malformed-address": gettext_lazy("An address header is malformed, so some addresses may be missing."),
    "malformed-date": gettext_lazy("The Date header could not be read."),
    "malformed-filename": gettext_lazy("The file name of an attachment is malformed."),
    "mbox-from-line": gettext_lazy("The message starts with an mbox “From ” line."),
    "mime-too-deep": gettext_lazy("The message nests its parts too deeply, so its text and attachments are not shown."),
    "mislabelled-charset": gettext_lazy(
        "Some text does not match the character set it declares, so some characters may look wrong."
    ),
    "no-headers": gettext_lazy("The message has no headers."),
    "rfc2047-undecodable": gettext_lazy("An encoded header could not be decoded and is shown as received."),
    "damaged-utf8": gettext_lazy("A header contains damaged UTF-8 text; the damaged characters show as �."),
    "transfer-encoding-error": gettext_lazy(
        "The transfer encoding of a part is damaged, so its content may be incomplete."
    ),
    "unknown-charset": gettext_lazy(
        "Some text uses an unknown character set, so some characters may look wrong."
    ),
}


def describe_parse_problem(code):
    """Return the sentence for one parse problem code, in the active language."""
    if code in PROBLEM_TEXTS:
        return str(PROBLEM_TEXTS[code])
    if code.startswith("duplicate-"):
        header = code.removeprefix("duplicate-").title()
        return _("The message has more than one %(header)s header.") % {"header": header}
    return _("The MIME structure has a defect (%(code)s).") % {"code": code}
