"""The display of a failed connection check: the field it points at, and the help."""

from django.utils.translation import gettext as _

from .. import errors
from ..providers import find_by_host

# The part of a server's fields that each failure points at. Failures
# missing here (a cut connection, IMAP turned off at the provider) belong
# to no single field and show above the form.
_FIELD_PART = {
    errors.HOST_NOT_FOUND: "host",
    errors.PRIVATE_HOST_FORBIDDEN: "host",
    errors.NETWORK_UNREACHABLE: "host",
    errors.CERTIFICATE_FAILED: "host",
    errors.CONNECTION_REFUSED: "port",
    errors.TIMED_OUT: "port",
    errors.PROTOCOL_ERROR: "port",
    errors.TLS_FAILED: "security",
    errors.STARTTLS_NOT_OFFERED: "security",
    errors.PLAINTEXT_FORBIDDEN: "security",
    errors.AUTH_FAILED: "password",
    errors.APP_PASSWORD_NEEDED: "password",
}

# Rejected logins after which the app-specific password help is shown.
APP_PASSWORD_CODES = {errors.AUTH_FAILED, errors.APP_PASSWORD_NEEDED}


def add_check_error(form, field, step):
    """Mark the field a failed step points at, or the whole form when there is none.

    The check panel above the form explains the failure and its fix in
    full. The field only points there, because a paragraph under a narrow
    Port field is hard to read.
    """
    if field is None:
        form.add_error(None, step.message)
    else:
        form.add_error(field, _("The check failed here: the reason and the fix are shown above."))


def custom_error_field(step, same_credentials):
    """Return the field of the server form that a failed step points at, or None."""
    part = _FIELD_PART.get(step.error.code)
    if part is None:
        return None
    server = "incoming" if step.key.startswith("incoming") else "smtp"
    if part == "password" and server == "smtp" and same_credentials:
        server = "incoming"
    return f"{server}_{part}"


def preset_error_field(step):
    """Return "password" for a rejected login; a preset's other fields are not on the page."""
    return "password" if _FIELD_PART.get(step.error.code) == "password" else None


def help_for_failure(verification, provider, form=None):
    """Return what help a failed check calls for: {"app_password"|"imap_access": True, "provider"}.

    For a custom server, the provider is found from the incoming server
    name, so someone who typed imap.gmail.com still gets Gmail's steps.
    """
    step = verification.failed_step if verification is not None else None
    if step is None:
        return {}
    if provider is None and form is not None:
        provider = find_by_host(form.cleaned_data.get("incoming_host", ""))
    return {
        "provider": provider,
        "app_password": step.error.code in APP_PASSWORD_CODES,
        "imap_access": step.error.code == errors.IMAP_DISABLED,
    }
