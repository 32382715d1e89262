"""Re-encrypt every stored secret with the first key of EMAILSYNC_ENCRYPTION_KEYS.

After this has run, keys other than the first one decrypt nothing that is
stored, and the operator may remove them from the setting.
"""

import logging
from dataclasses import dataclass

from django.db import transaction

from . import crypto
from .models import MailAccount

logger = logging.getLogger(__name__)


def encrypted_field_names():
    """Return the names of MailAccount's encrypted fields (those ending in `_encrypted`)."""
    return [field.name for field in MailAccount._meta.concrete_fields if field.name.endswith("_encrypted")]


@dataclass
class RotationResult:
    accounts: int = 0
    secrets: int = 0


class RotationFailed(Exception):
    """A stored secret decrypts with no configured key; nothing was changed."""

    def __init__(self, account_id, field_name):
        super().__init__(f"account={account_id} field={field_name}")
        self.account_id = account_id
        self.field_name = field_name


def rotate_stored_secrets():
    """Re-encrypt all stored secrets in one transaction and return the counts.

    Raises RotationFailed, leaving every row as it was, when any secret
    decrypts with none of the keys.
    """
    names = encrypted_field_names()
    result = RotationResult()
    with transaction.atomic():
        # Rows are locked so that a password changed meanwhile is not
        # overwritten with the re-encrypted old one.
        for account in MailAccount.objects.select_for_update().only("pk", *names).order_by("pk").iterator():
            changed = [name for name in names if getattr(account, name)]
            for name in changed:
                try:
                    setattr(account, name, crypto.rotate(getattr(account, name)))
                except crypto.DecryptionError:
                    raise RotationFailed(account.pk, name) from None
            if changed:
                MailAccount.objects.filter(pk=account.pk).update(
                    **{name: getattr(account, name) for name in changed}
                )
                result.accounts += 1
                result.secrets += len(changed)

    logger.info("Stored secrets re-encrypted: accounts=%s secrets=%s", result.accounts, result.secrets)
    return result
