"""The From addresses of a mailbox: its own address and the aliases its owner adds.

Exactly one of them is the default, which the message form preselects.
The mailbox's own address stays in the list, because the sync recognises
sent mail by these addresses. An alias counts only after its owner
confirms it (see from_address_confirmation).
"""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.addresses import normalize_address

from .models import FromAddress

logger = logging.getLogger(__name__)


def add_from_address(account, address, display_name=""):
    """Add an alias, unconfirmed unless it is the mailbox's own address.

    The first address of an account becomes its default once it is
    confirmed. Raises ValidationError when the address is already in the
    list.
    """
    normalized = normalize_address(address)
    if account.from_addresses.filter(address_normalized=normalized).exists():
        raise _duplicate(address)
    # Connecting the mailbox already proved its own address.
    confirmed_at = timezone.now() if normalized == account.email_normalized else None
    is_default = confirmed_at is not None and not account.from_addresses.exists()
    try:
        with transaction.atomic():
            from_address = FromAddress.objects.create(
                account=account, address=address, display_name=display_name, is_default=is_default,
                confirmed_at=confirmed_at,
            )
    except IntegrityError:
        # The same address added twice at once, e.g. a double click.
        raise _duplicate(address) from None
    logger.info("From address added: account=%s from_address=%s", account.pk, from_address.pk)
    return from_address


def _duplicate(address):
    return ValidationError(
        _("“%(address)s” is already in the list."), code="duplicate", params={"address": address},
    )


def remove_from_address(account, from_address):
    """Remove an alias. The default and the mailbox's own address stay.

    Raises ValidationError naming the reason when the address must stay.
    """
    if from_address.is_default:
        raise ValidationError(
            _("“%(address)s” is the default From address. Make another address the default first."),
            code="default", params={"address": from_address.address},
        )
    if from_address.address_normalized == account.email_normalized:
        raise ValidationError(
            _("“%(address)s” is the mailbox's own address and cannot be removed."),
            code="own", params={"address": from_address.address},
        )
    from_address_id = from_address.pk
    from_address.delete()
    logger.info("From address removed: account=%s from_address=%s", account.pk, from_address_id)


def set_default_from_address(account, from_address):
    """Make from_address the one the message form preselects.

    Raises ValidationError when from_address is not confirmed yet.
    """
    if not from_address.is_confirmed:
        raise ValidationError(
            _("“%(address)s” is waiting for confirmation. Open the link sent to it, then make it the default."),
            code="unconfirmed", params={"address": from_address.address},
        )
    with transaction.atomic():
        account.from_addresses.exclude(pk=from_address.pk).update(is_default=False)
        account.from_addresses.filter(pk=from_address.pk).update(is_default=True)
    from_address.is_default = True
    logger.info("Default From address changed: account=%s from_address=%s", account.pk, from_address.pk)
