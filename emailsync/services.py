"""Connect and change mailboxes. Views and commands call these, never the
models directly, so the same checks apply everywhere."""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from . import verify
from .models import FromAddress, MailAccount, Message

logger = logging.getLogger(__name__)

PERMISSION = "emailsync.integrate_email"


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
                    check=True):
    """Check the servers for real, then save a new account for owner.

    Nothing is saved unless every step of the check succeeds. Raises
    PermissionDenied, ValidationError (the user already has a mailbox) or
    VerificationFailed.
    """
    require_permission(owner)
    if MailAccount.objects.filter(owner=owner).exists():
        raise ValidationError(
            _("You already have a connected mailbox. Deactivate it before connecting another."),
            code="exists",
        )

    if check:
        verification = verify.verify(incoming, outgoing)
        if not verification.ok:
            raise VerificationFailed(verification)

    with transaction.atomic():
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
        if sharing_mode:
            account.sharing_mode = sharing_mode
        if sharing_level:
            account.sharing_level = sharing_level
        account.set_incoming_password(incoming.password)
        if not smtp_same_credentials:
            account.set_smtp_password(outgoing.password)
        account.save()
        FromAddress.objects.create(account=account, address=email_address, is_default=True)
        relinked = Message.objects.filter(
            owner=owner, account__isnull=True, origin=Message.Origin.CRM,
        ).update(account=account)

    logger.info(
        "Mailbox connected: account=%s user=%s protocol=%s relinked_crm_messages=%s",
        account.pk, owner.pk, account.incoming_protocol, relinked,
    )
    return account
