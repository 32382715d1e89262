"""Connect a user's mailbox from the command line, checking the servers first."""

import getpass
import os
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from crm.addresses import validate_address
from crm.management.arguments import port_number, positive_int
from emailsync import verify
from emailsync.models import MailAccount, Security
from emailsync.services import PERMISSION, connect_mailbox
from emailsync.verify import ServerSettings

PASSWORD_VARIABLE = "MAILBOX_PASSWORD"
SMTP_PASSWORD_VARIABLE = "SMTP_PASSWORD"


class Command(BaseCommand):
    help = (
        "Connect a user's mailbox. Checks the incoming (IMAP or POP3) and outgoing (SMTP) "
        "logins for real and saves nothing unless both succeed. The password is read from "
        f"the environment variable {PASSWORD_VARIABLE} or from standard input; set "
        f"{SMTP_PASSWORD_VARIABLE} when the SMTP password differs."
    )
    # Tests pass a file-like object as standard input.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        security = Security.values
        parser.add_argument("--user", required=True, help="Username of the mailbox's owner.")
        parser.add_argument("--email", required=True, help="Email address of the mailbox.")
        parser.add_argument(
            "--imap-host", required=True,
            help="Incoming server name (the POP3 server with --pop3).",
        )
        parser.add_argument("--imap-port", required=True, type=port_number, help="Incoming server port.")
        parser.add_argument("--imap-security", required=True, choices=security, help="Incoming connection security.")
        parser.add_argument("--smtp-host", required=True, help="Outgoing (SMTP) server name.")
        parser.add_argument("--smtp-port", required=True, type=port_number, help="Outgoing server port.")
        parser.add_argument("--smtp-security", required=True, choices=security, help="Outgoing connection security.")
        parser.add_argument("--login", help="Username on the incoming server. Default: the email address.")
        parser.add_argument("--smtp-login", help="Username on the outgoing server. Default: the incoming username.")
        parser.add_argument("--pop3", action="store_true", help="The incoming server speaks POP3 instead of IMAP.")
        parser.add_argument(
            "--window-days", type=positive_int,
            help="How many days back the first sync goes. Default: all mail.",
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        user = self._get_user(options["user"])
        self._check_can_connect(user)
        email = options["email"].strip()
        try:
            validate_address(email)
        except ValidationError:
            raise CommandError(_("“%(value)s” is not a valid email address.") % {"value": email}) from None

        incoming, outgoing = self._server_settings(options, email, options.get("stdin") or sys.stdin)
        verification = verify.verify(incoming, outgoing)
        self._print_steps(email, verification)
        if not verification.ok:
            step = verification.failed_step
            raise CommandError(
                _("The mailbox was not saved because the step “%(step)s” failed: %(message)s")
                % {"step": step.label, "message": step.message}
            )

        try:
            account = connect_mailbox(
                user, email, incoming, outgoing,
                smtp_same_credentials=(outgoing.login, outgoing.password) == (incoming.login, incoming.password),
                sync_window_days=options["window_days"],
                check=False,
            )
        except (PermissionDenied, ValidationError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from None
        self._print_saved(account)

    def _get_user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(_("User “%(username)s” not found.") % {"username": username}) from None

    def _check_can_connect(self, user):
        """Raise CommandError before asking for a password that could not be used."""
        if not user.has_perm(PERMISSION):
            raise CommandError(
                _("User “%(username)s” lacks the permission “%(permission)s” needed to connect "
                  "a mailbox. Grant it to the user or one of their groups in the admin.")
                % {"username": user.get_username(), "permission": PERMISSION}
            )
        if MailAccount.objects.filter(owner=user).exists():
            raise CommandError(
                _("User “%(username)s” already has a connected mailbox. Deactivate it before "
                  "connecting another.") % {"username": user.get_username()}
            )

    def _server_settings(self, options, email, stdin):
        password = read_password(stdin, os.environ.get(PASSWORD_VARIABLE), f"Password for {email}: ")
        login = options["login"] or email
        incoming = ServerSettings(
            "pop3" if options["pop3"] else "imap",
            options["imap_host"], options["imap_port"], options["imap_security"], login, password,
        )
        outgoing = ServerSettings(
            "smtp", options["smtp_host"], options["smtp_port"], options["smtp_security"],
            options["smtp_login"] or login, os.environ.get(SMTP_PASSWORD_VARIABLE) or password,
        )
        return incoming, outgoing

    def _print_steps(self, email, verification):
        if self.verbosity < 1:
            return
        self.stdout.write(f"Checking the servers of {email}:")
        for step in verification.steps:
            if step.ok is None:
                self.stdout.write(f"  NOT RUN  {step.label}")
            elif step.ok:
                self.stdout.write(self.style.SUCCESS(f"  OK       {step.label} ({step.seconds:.2f} s)"))
            else:
                self.stdout.write(self.style.ERROR(f"  FAILED   {step.label} ({step.seconds:.2f} s)"))
                self.stdout.write(f"           {step.message}")

    def _print_saved(self, account):
        if self.verbosity < 1:
            self.stdout.write(str(account.pk))
            return
        self.stdout.write(self.style.SUCCESS(
            f"Mailbox saved: account {account.pk} ({account.email_address}, "
            f"user {account.owner.get_username()})."
        ))
        self.stdout.write(f"Sync it now with: python manage.py sync_mail --account {account.pk}")
        self.stdout.write(
            f"The task cluster also syncs it within {settings.EMAILSYNC_SYNC_INTERVAL_MINUTES} "
            "minutes once `manage.py setup_schedules` has run."
        )


def read_password(stdin, from_environment, prompt):
    """Return the password from the environment, else from standard input.

    A terminal gets a prompt without echo; a pipe or file gives one line.
    Raises CommandError when the result is empty.
    """
    if from_environment:
        return from_environment
    if stdin.isatty():
        password = getpass.getpass(prompt)
    else:
        password = stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError(
            _("No password given. Set the environment variable %(variable)s or type the "
              "password on standard input.") % {"variable": PASSWORD_VARIABLE}
        )
    return password
