"""Mail server failures as codes, with the text users read for each.

The protocol modules raise MailError with a code from this module; pages,
commands and stored account state keep the code and show its message in
the reader's language. The raw server reply goes to `detail`, which is
logged and shown to operators, never to the user.
"""

import errno
import socket
import ssl

from django.utils.translation import gettext_lazy as _

HOST_NOT_FOUND = "host_not_found"
CONNECTION_REFUSED = "connection_refused"
TIMED_OUT = "timed_out"
NETWORK_UNREACHABLE = "network_unreachable"
TLS_FAILED = "tls_failed"
CERTIFICATE_FAILED = "certificate_failed"
STARTTLS_NOT_OFFERED = "starttls_not_offered"
PLAINTEXT_FORBIDDEN = "plaintext_forbidden"
PRIVATE_HOST_FORBIDDEN = "private_host_forbidden"
AUTH_FAILED = "auth_failed"
APP_PASSWORD_NEEDED = "app_password_needed"
IMAP_DISABLED = "imap_disabled"
OAUTH_REVOKED = "oauth_revoked"
OAUTH_UNAVAILABLE = "oauth_unavailable"
OAUTH_CLIENT_REJECTED = "oauth_client_rejected"
CONNECTION_LOST = "connection_lost"
PROTOCOL_ERROR = "protocol_error"
FOLDER_NOT_FOUND = "folder_not_found"
# Pause reason when an operator paused the account in the admin.
PAUSED_BY_OPERATOR = "paused_by_operator"
SECRET_UNREADABLE = "secret_unreadable"
RECIPIENT_REJECTED = "recipient_rejected"
MESSAGE_TOO_LARGE = "message_too_large"
SENDER_REJECTED = "sender_rejected"
MESSAGE_REJECTED = "message_rejected"
SMTPUTF8_NOT_OFFERED = "smtputf8_not_offered"
SENT_FOLDER_NOT_FOUND = "sent_folder_not_found"
# Pause reason while a deactivation deletes the account's synced messages.
DEACTIVATING = "deactivating"

# Failures that a new password (or a new sign-in) fixes; retrying with the
# same credentials only risks the provider locking the account.
AUTH_CODES = {AUTH_FAILED, APP_PASSWORD_NEEDED, IMAP_DISABLED, OAUTH_REVOKED, SECRET_UNREADABLE}

MESSAGES = {
    HOST_NOT_FOUND: _(
        "The server name “%(host)s” was not found. Check its spelling; "
        "your provider's help pages list the right name."
    ),
    CONNECTION_REFUSED: _(
        "The server %(host)s refused the connection on port %(port)s. "
        "Check the port number and the security setting; the usual ports are "
        "993 (IMAP, SSL/TLS), 143 (IMAP, STARTTLS), 995 (POP3, SSL/TLS), "
        "465 (SMTP, SSL/TLS) and 587 (SMTP, STARTTLS)."
    ),
    TIMED_OUT: _(
        "The server %(host)s did not answer on port %(port)s in time. "
        "Check the server name and port, or try again later if the server is busy."
    ),
    NETWORK_UNREACHABLE: _(
        "The server %(host)s cannot be reached from here. Check the server name, "
        "or try again later."
    ),
    TLS_FAILED: _(
        "The secure connection to %(host)s on port %(port)s failed. The security "
        "setting probably does not match the port: use SSL/TLS for ports 993, 995 "
        "and 465, and STARTTLS for ports 143, 110 and 587."
    ),
    CERTIFICATE_FAILED: _(
        "The certificate of %(host)s could not be verified, so the connection "
        "was stopped to protect your password. Check that the server name is "
        "exactly the one your provider gives; if your company uses its own "
        "certificate authority, ask your administrator to trust it."
    ),
    STARTTLS_NOT_OFFERED: _(
        "The server %(host)s does not offer STARTTLS on port %(port)s. Choose SSL/TLS "
        "security with the SSL port (993 for IMAP, 995 for POP3, 465 for SMTP)."
    ),
    PLAINTEXT_FORBIDDEN: _(
        "Unencrypted connections are not allowed on this site. Choose SSL/TLS or "
        "STARTTLS security."
    ),
    PRIVATE_HOST_FORBIDDEN: _(
        "The server name “%(host)s” points to a private or local network address, "
        "which this site does not allow. Use the public name of your mail server."
    ),
    AUTH_FAILED: _(
        "The server rejected the username or password. Check both; if your "
        "account uses two-factor authentication, you need an app-specific "
        "password instead of your normal one."
    ),
    APP_PASSWORD_NEEDED: _(
        "Your provider requires an app-specific password for this account "
        "(two-factor authentication is on). Create one in your account's "
        "security settings and use it here instead of your normal password."
    ),
    IMAP_DISABLED: _(
        "IMAP access is turned off for this account at your provider. Turn it on "
        "in the provider's mail settings (often under “Forwarding and POP/IMAP”), "
        "then try again."
    ),
    OAUTH_REVOKED: _(
        "Access to your mailbox was withdrawn at your provider. Connect the "
        "mailbox again with the provider's sign-in button."
    ),
    OAUTH_UNAVAILABLE: _(
        "Your provider's sign-in service did not answer, so the CRM could not "
        "renew its access to your mailbox. The next sync tries again automatically."
    ),
    OAUTH_CLIENT_REJECTED: _(
        "Your provider no longer accepts this site's sign-in settings. Nothing "
        "is wrong with your account: an administrator must check the site's "
        "OAuth client (its id and secret)."
    ),
    CONNECTION_LOST: _(
        "The connection to %(host)s was interrupted. The next sync tries again "
        "automatically."
    ),
    PROTOCOL_ERROR: _(
        "The server %(host)s gave an answer the CRM did not expect. Check that the "
        "port belongs to the chosen protocol; the details are in the log."
    ),
    FOLDER_NOT_FOUND: _("The folder “%(folder)s” no longer exists on the server."),
    PAUSED_BY_OPERATOR: _(
        "An administrator paused the sync of this mailbox. Ask them to resume it."
    ),
    SECRET_UNREADABLE: _(
        "The stored password can no longer be read. Enter the password again "
        "in the mailbox's server details."
    ),
    RECIPIENT_REJECTED: _(
        "The outgoing server rejected the recipient %(recipient)s. Check the address."
    ),
    MESSAGE_TOO_LARGE: _(
        "The message is larger than the outgoing server accepts (%(limit)s). "
        "Remove or shrink attachments and send again."
    ),
    SENDER_REJECTED: _(
        "The outgoing server rejected the From address %(sender)s. Use an "
        "address your provider lets you send from."
    ),
    MESSAGE_REJECTED: _(
        "The outgoing server refused the message after receiving it. Check its "
        "content and attachments, or ask your provider why; the details are in the log."
    ),
    SMTPUTF8_NOT_OFFERED: _(
        "The outgoing server cannot send to addresses with accents or other "
        "non-ASCII characters before the @ (%(address)s). Use another address "
        "for this recipient."
    ),
    SENT_FOLDER_NOT_FOUND: _(
        "No Sent folder was found on the server. Create a folder named “Sent” "
        "with your mail program."
    ),
    DEACTIVATING: _(
        "This mailbox is being disconnected: sync has stopped and its synced "
        "messages are being deleted from the CRM."
    ),
}


class MailError(Exception):
    """A failure talking to a mail server, with a code users can read.

    `detail` carries the technical reason for logs and operators; it must
    never contain a password or token.
    """

    def __init__(self, code, detail="", **params):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.params = params

    @property
    def is_auth_failure(self):
        return self.code in AUTH_CODES

    def user_message(self):
        return message_for(self.code, **self.params)


def message_for(code, **params):
    """Return the user's text for an error code, in the active language."""
    template = MESSAGES.get(code)
    if template is None:
        return _("An unexpected error happened; the details are in the log.")
    params.setdefault("host", "")
    params.setdefault("port", "")
    try:
        return str(template) % params
    except (KeyError, ValueError, TypeError):
        return str(template)


def from_os_error(exc, host, port):
    """Translate a socket, DNS or TLS exception into a MailError."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, MailError):
        return exc
    if isinstance(exc, socket.gaierror):
        return MailError(HOST_NOT_FOUND, detail, host=host, port=port)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return MailError(CERTIFICATE_FAILED, detail, host=host, port=port)
    if isinstance(exc, ssl.SSLError):
        return MailError(TLS_FAILED, detail, host=host, port=port)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return MailError(TIMED_OUT, detail, host=host, port=port)
    if isinstance(exc, ConnectionRefusedError):
        return MailError(CONNECTION_REFUSED, detail, host=host, port=port)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, EOFError)):
        return MailError(CONNECTION_LOST, detail, host=host, port=port)
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return MailError(NETWORK_UNREACHABLE, detail, host=host, port=port)
    return MailError(CONNECTION_LOST, detail, host=host, port=port)


# Phrases in login rejections that mean more than "wrong password". Matched
# case-insensitively against the server's reply.
_APP_PASSWORD_HINTS = (
    "application-specific password",
    "app password",
    "application specific password",
    "web login required",
    "please log in via your web browser",
    "webalert",
)
_IMAP_DISABLED_HINTS = (
    "not enabled for imap",
    "imap access is disabled",
    "imap is disabled",
    "user is authenticated but not connected",
    "pop3 access is disabled",
    "not enabled for pop",
)


def classify_login_failure(reply, host="", port=""):
    """Return a MailError for a rejected login, reading hints in the reply."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    lowered = text.lower()
    code = AUTH_FAILED
    if any(hint in lowered for hint in _IMAP_DISABLED_HINTS):
        code = IMAP_DISABLED
    elif any(hint in lowered for hint in _APP_PASSWORD_HINTS):
        code = APP_PASSWORD_NEEDED
    return MailError(code, text[:500], host=host, port=port)
