"""Plain-language texts for sends and Sent copies that failed.

The general texts in errors.py are written for the sync ("the next sync
tries again"). A send that failed, or a Sent copy that could not be
saved, needs these instead.
"""

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _, gettext_lazy

from . import errors

SEND_FAILURE_MESSAGES = {
    errors.CONNECTION_LOST: gettext_lazy(
        "The connection to the outgoing server %(host)s was cut before the server "
        "confirmed the message, so it is not recorded as sent. Send it again."
    ),
    errors.TIMED_OUT: gettext_lazy(
        "The outgoing server %(host)s did not answer in time, so the message is not "
        "recorded as sent. Try again in a moment."
    ),
    errors.AUTH_FAILED: gettext_lazy(
        "The outgoing server rejected your mailbox's username or password. If you "
        "changed your password, enter the new one in the mailbox's server details."
    ),
}


def send_failure_message(error):
    """Return the user's text for a MailError raised while sending."""
    params = dict(error.params)
    params.setdefault("host", "")
    params.setdefault("port", "")
    if error.code == errors.MESSAGE_TOO_LARGE and isinstance(params.get("limit"), int):
        params["limit"] = filesizeformat(params["limit"])
    template = SEND_FAILURE_MESSAGES.get(error.code)
    if template is None:
        return errors.message_for(error.code, **params)
    return str(template) % params


COPY_FAILURE_REASONS = {
    errors.SENT_FOLDER_NOT_FOUND: errors.MESSAGES[errors.SENT_FOLDER_NOT_FOUND],
    errors.PROTOCOL_ERROR: gettext_lazy(
        "The server refused to store it, for example because the mailbox is full."
    ),
}


def copy_failure_message(code, host=""):
    """Return the user's text for a Sent copy that could not be saved."""
    if code in COPY_FAILURE_REASONS:
        reason = str(COPY_FAILURE_REASONS[code])
    elif code in errors.AUTH_CODES:
        reason = errors.message_for(code)
    else:
        reason = _("The connection to the incoming server %(host)s failed.") % {"host": host}
    return _(
        "The email was sent, but its copy could not be saved in the Sent folder "
        "on your mail server. %(reason)s"
    ) % {"reason": reason}
