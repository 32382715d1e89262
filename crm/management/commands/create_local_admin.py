"""Create the local development superuser once, with a generated password."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

USERNAME = "admin"


class Command(BaseCommand):
    help = (
        f"Create the superuser “{USERNAME}” with a generated password, allowed to connect a "
        "mailbox. The password is printed once and written to DATA_DIR/admin-credentials.txt "
        "(mode 0600). Does nothing when the user exists."
    )

    def handle(self, *args, **options):
        credentials_file = settings.DATA_DIR / "admin-credentials.txt"
        User = get_user_model()
        if User.objects.filter(username=USERNAME).exists():
            if options["verbosity"] >= 1:
                self.stdout.write(f"User “{USERNAME}” exists; its first password is in {credentials_file}.")
            return

        password = secrets.token_urlsafe(15)
        with transaction.atomic():
            user = User.objects.create_superuser(USERNAME, email="", password=password)
            # Superusers pass every permission check anyway; the explicit
            # grant keeps the account able to connect a mailbox if an
            # operator later removes its superuser status.
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="emailsync", codename="integrate_email")
            )
        write_private_file(credentials_file, f"username: {USERNAME}\npassword: {password}\n")

        self.stdout.write(self.style.SUCCESS(f"Created the superuser “{USERNAME}” with password: {password}"))
        self.stdout.write(f"The credentials are also in {credentials_file} (readable by you alone).")


def write_private_file(path, text):
    """Write text to path, readable and writable by the owner only, replacing any old file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    # O_EXCL with mode 0600 means the file never exists with wider permissions.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as private_file:
        private_file.write(text)
