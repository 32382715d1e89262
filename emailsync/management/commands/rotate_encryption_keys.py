"""Re-encrypt the stored mailbox secrets with the newest encryption key."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from emailsync.key_rotation import RotationFailed, encrypted_field_names, rotate_stored_secrets


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored mailbox secret with the first key of "
        "EMAILSYNC_ENCRYPTION_KEYS, in one transaction. Afterwards the other keys "
        "can be removed from the setting."
    )

    def handle(self, *args, **options):
        try:
            result = rotate_stored_secrets()
        except RotationFailed as exc:
            raise CommandError(
                _("Nothing was re-encrypted: the field %(field)s of account %(account)s does not "
                  "decrypt with any key in EMAILSYNC_ENCRYPTION_KEYS. Put back the key that "
                  "encrypted it, or enter that mailbox's password again.")
                % {"field": exc.field_name, "account": exc.account_id}
            ) from None

        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Re-encrypted {result.secrets} secrets in {result.accounts} accounts with the "
                f"first key of EMAILSYNC_ENCRYPTION_KEYS (fields: {', '.join(encrypted_field_names())})."
            )
