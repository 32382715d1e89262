"""Connect and change mailboxes. Views and commands call these, never the
models directly, so the same checks apply everywhere."""

import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import accounts, crypto, errors, oauth, verify
from .models import FromAddress, MailAccount, Message

logger = logging.getLogger(__name__)

PERMISSION = "emailsync.integrate_email"

# The MailAccount fields that update_servers changes besides the passwords.
SERVER_FIELDS = (
    "incoming_host", "incoming_port", "incoming_security", "incoming_login",
    "smtp_host", "smtp_port", "smtp_security", "smtp_same_credentials", "smtp_login",
)


def require_permission(user):
    if not user.has_perm(PERMISSION):
        raise PermissionDenied(_("You do not have permission to connect a mailbox."))


class VerificationFailed(Exception):
    """The server check failed; `verification` says at which step."""

    def __init__(self, verification):
        super().__init__(verification.failed_step.key if verification.failed_step else "failed")
        self.verification = verification


def connect_mailbox(owner, email_address, incoming, outgoing, *, provider="custom",
                    smtp_same_credentials=True, store_sent_on_server=False,
                    sync_window_days=None, sharing_mode=None, sharing_level=None,
                    check=True, hold_first_sync=False, oauth_tokens=None):
    """Check the servers for real, then save a new account for owner.

    Nothing is saved unless every step of the check succeeds. With
    oauth_tokens (an oauth.TokenSet) the account signs in with OAuth 2.0,
    and the servers' access_token is checked instead of a password. A sharing
    setting fixed for one of the owner's groups wins over sharing_mode and
    sharing_level. With hold_first_sync, the scheduler leaves the account
    alone for EMAILSYNC_SETUP_HOLD_MINUTES, so the owner can choose the
    first sync's options before it starts; sync_options.queue_sync_now
    ends the hold.
    Raises PermissionDenied, ValidationError (the user already has a
    mailbox) or VerificationFailed.
    """
    require_permission(owner)
    if MailAccount.objects.filter(owner=owner).exists():
        raise _already_connected()

    if check:
        verification = verify.verify(incoming, outgoing)
        if not verification.ok:
            raise VerificationFailed(verification)

    account = _new_account(
        owner, email_address, incoming, outgoing, provider=provider,
        smtp_same_credentials=smtp_same_credentials, store_sent_on_server=store_sent_on_server,
        sync_window_days=sync_window_days,
    )
    if oauth_tokens is not None:
        oauth.store_tokens(account, oauth_tokens)
    account.sharing_mode = sharing_mode or account.sharing_mode
    account.sharing_level = sharing_level or account.sharing_level
    policy = group_sharing_policy(owner)
    if policy is not None:
        account.sharing_mode, account.sharing_level = policy.sharing_mode, policy.sharing_level
    if hold_first_sync:
        account.next_attempt_at = timezone.now() + timedelta(minutes=settings.EMAILSYNC_SETUP_HOLD_MINUTES)

    try:
        with transaction.atomic():
            account.save()
            FromAddress.objects.create(
                account=account, address=email_address, is_default=True, confirmed_at=timezone.now(),
            )
            relinked = Message.objects.filter(
                owner=owner, account__isnull=True, origin=Message.Origin.CRM,
            ).update(account=account)
    except IntegrityError:
        # Two connections of the same user raced past the check above; the
        # one_mailbox_per_user constraint let only the first one in.
        raise _already_connected() from None

    logger.info(
        "Mailbox connected: account=%s user=%s protocol=%s provider=%s auth=%s relinked_crm_messages=%s",
        account.pk, owner.pk, account.incoming_protocol, provider, account.auth_method, relinked,
    )
    return account


def _already_connected():
    return ValidationError(
        _("You already have a connected mailbox. Deactivate it before connecting another."),
        code="exists",
    )


def _new_account(owner, email_address, incoming, outgoing, *, provider, smtp_same_credentials,
                 store_sent_on_server, sync_window_days):
    account = MailAccount(
        owner=owner,
        email_address=email_address,
        provider=provider,
        incoming_protocol=incoming.protocol,
        incoming_host=incoming.host,
        incoming_port=incoming.port,
        incoming_security=incoming.security,
        incoming_login=incoming.login,
        smtp_host=outgoing.host,
        smtp_port=outgoing.port,
        smtp_security=outgoing.security,
        smtp_same_credentials=smtp_same_credentials,
        smtp_login="" if smtp_same_credentials else outgoing.login,
        store_sent_on_server=store_sent_on_server,
        sync_window_days=sync_window_days,
    )
    account.set_incoming_password(incoming.password)
    if not smtp_same_credentials:
        account.set_smtp_password(outgoing.password)
    return account


def group_sharing_policy(user):
    """Return the sharing setting an operator fixed for one of user's groups, or None.

    The same choice the message lists apply (emailsync.sharing decides which
    policy wins when the user is in several groups).
    """
    from .sharing import policy_in_force

    return policy_in_force(user.pk)


def update_servers(account, incoming, outgoing, *, smtp_same_credentials):
    """Check new server details for real, then save them on account.

    An empty password keeps the stored one, unless a field that decides
    where it is sent changes (see accounts.passwords_to_retype). Nothing
    changes unless every step of the check succeeds. An account paused
    because its login kept failing resumes. Raises PermissionDenied,
    ValidationError (a blank password that may not be reused, or whose
    stored value cannot be read) or VerificationFailed.
    """
    require_permission(account.owner)
    missing = missing_passwords(account, incoming, outgoing, smtp_same_credentials=smtp_same_credentials)
    if missing:
        raise next(iter(missing.values()))
    incoming = _with_stored_password(incoming, account.get_incoming_password)
    if smtp_same_credentials:
        outgoing = replace(outgoing, login=incoming.login, password=incoming.password)
    else:
        outgoing = _with_stored_password(outgoing, account.get_smtp_password)

    verification = verify.verify(incoming, outgoing)
    if not verification.ok:
        raise VerificationFailed(verification)

    was_paused = account.status == MailAccount.Status.PAUSED
    with transaction.atomic():
        account.incoming_host, account.incoming_port = incoming.host, incoming.port
        account.incoming_security, account.incoming_login = incoming.security, incoming.login
        account.smtp_host, account.smtp_port, account.smtp_security = outgoing.host, outgoing.port, outgoing.security
        account.smtp_same_credentials = smtp_same_credentials
        account.smtp_login = "" if smtp_same_credentials else outgoing.login
        # An empty SMTP password clears a stale one when the credentials
        # become shared.
        accounts.change_password(
            account, incoming.password, "" if smtp_same_credentials else outgoing.password,
            also_save=SERVER_FIELDS,
        )

    logger.info(
        "Server details changed: account=%s resumed=%s",
        account.pk, was_paused and account.status == MailAccount.Status.ACTIVE,
    )
    return account


def missing_passwords(account, incoming, outgoing, *, smtp_same_credentials):
    """Return the form errors of the passwords that must be typed for these server details.

    The result maps "incoming" and "smtp" to a ValidationError when a field
    that decides where that stored password is sent changes and the
    password is blank. It is empty when the stored passwords may be reused.
    """
    new_values = {
        "incoming_host": incoming.host, "incoming_port": incoming.port, "incoming_security": incoming.security,
        "incoming_login": incoming.login, "smtp_host": outgoing.host, "smtp_port": outgoing.port,
        "smtp_security": outgoing.security, "smtp_same_credentials": smtp_same_credentials,
        "smtp_login": "" if smtp_same_credentials else outgoing.login,
    }
    changed = {name for name, value in new_values.items() if getattr(account, name) != value}
    typed = {"incoming": incoming.password, "smtp": outgoing.password}
    return {
        password: accounts.retype_password_error(fields)
        for password, fields in accounts.passwords_to_retype(changed, smtp_same_credentials).items()
        if not typed[password]
    }


def _with_stored_password(server, read_stored):
    if server.password:
        return server
    try:
        stored = read_stored()
    except crypto.DecryptionError:
        stored = ""
    if not stored:
        raise ValidationError(
            _("The stored password can no longer be read. Enter the password again."),
            code="password_required",
        )
    return replace(server, password=stored)


def reconnect_with_oauth(account, login, tokens):
    """Check the account's servers with a new grant, then make the account use it.

    This is the "Reconnect with Google / Microsoft" button: it renews a
    revoked or expired grant, or moves a password account to OAuth 2.0.
    Stored passwords are dropped, and an account paused for its sign-in
    resumes. Nothing changes unless every step of the check succeeds.
    Raises PermissionDenied or VerificationFailed.
    """
    require_permission(account.owner)
    incoming = verify.ServerSettings(
        account.incoming_protocol, account.incoming_host, account.incoming_port, account.incoming_security,
        login, access_token=tokens.access_token,
    )
    outgoing = verify.ServerSettings(
        "smtp", account.smtp_host, account.smtp_port, account.smtp_security, login,
        access_token=tokens.access_token,
    )
    verification = verify.verify(incoming, outgoing)
    if not verification.ok:
        raise VerificationFailed(verification)

    was_method = account.auth_method
    with transaction.atomic():
        oauth.store_tokens(account, tokens)
        account.incoming_login = login
        account.smtp_same_credentials, account.smtp_login = True, ""
        account.incoming_password_encrypted, account.smtp_password_encrypted = "", ""
        account.save(update_fields=[
            *oauth.TOKEN_FIELDS, "incoming_login", "smtp_same_credentials", "smtp_login",
            "incoming_password_encrypted", "smtp_password_encrypted", "updated_at",
        ])
        if account.status == MailAccount.Status.PAUSED and account.pause_reason in errors.AUTH_CODES:
            accounts.resume(account)

    logger.info(
        "Mailbox reconnected with OAuth: account=%s previous_auth=%s status=%s",
        account.pk, was_method, account.status,
    )
    return account
