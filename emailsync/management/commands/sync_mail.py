"""Sync mailboxes now, in this process, with progress on a terminal."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.management.progress import Progress
from emailsync import errors
from emailsync.models import MailAccount
from emailsync.sync import sync_account
from emailsync.tasks import parse_bodies_task


class FolderProgress:
    """Adapt sync_account's `progress(done, total)` calls to one Progress.

    sync_account reports each batch with the size of the batch and the
    number of messages to fetch from the current folder. Its first batch
    from the next folder is the one that would overrun the current
    folder's total, so that call grows the overall total.
    """

    def __init__(self, progress):
        self.progress = progress
        self.folder_done = 0
        self.folder_total = 0

    def __call__(self, done, total):
        if self.folder_done >= self.folder_total or self.folder_done + done > self.folder_total:
            self.progress.add_total(total)
            self.folder_total = total
            self.folder_done = 0
        self.folder_done += done
        self.progress.advance(done)


class Command(BaseCommand):
    help = (
        "Sync mailboxes now, in this process, and print one summary line per account. "
        "Exits with status 1 when any account fails."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--account", type=int, help="Id of the account to sync.")
        target.add_argument("--user", help="Sync the mailbox of the user with this username.")
        target.add_argument("--all", action="store_true", help="Sync every active account.")
        parser.add_argument(
            "--full", action="store_true",
            help="Compare every message on the server again instead of fetching only new ones.",
        )

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        accounts = self._select_accounts(options)
        failures = 0
        for account in accounts:
            if not self._sync_one(account, options["full"], explicit=not options["all"]):
                failures += 1

        if failures:
            raise CommandError(
                ngettext("Sync failed for %(failed)s account (of %(total)s).",
                         "Sync failed for %(failed)s accounts (of %(total)s).", failures)
                % {"failed": failures, "total": len(accounts)}
            )

    def _select_accounts(self, options):
        accounts = MailAccount.objects.select_related("owner").order_by("pk")
        if options["account"] is not None:
            selected = list(accounts.filter(pk=options["account"]))
            if not selected:
                raise CommandError(_("Account %(id)s not found.") % {"id": options["account"]})
            return selected

        if options["user"] is not None:
            username = options["user"]
            if not get_user_model().objects.filter(username=username).exists():
                raise CommandError(_("User “%(username)s” not found.") % {"username": username})
            selected = list(accounts.filter(owner__username=username))
            if not selected:
                raise CommandError(
                    _("User “%(username)s” has no connected mailbox.") % {"username": username}
                )
            return selected

        paused = accounts.exclude(status=MailAccount.Status.ACTIVE).count()
        if paused and self.verbosity >= 1:
            self.stdout.write(f"Skipping {paused} paused accounts; `mail_status` shows why.")
        return list(accounts.filter(status=MailAccount.Status.ACTIVE))

    def _sync_one(self, account, full, explicit):
        """Sync one account and print its summary; return False when it failed."""
        label = f"account {account.pk} ({account.email_address})"
        progress = Progress(self.stdout, label, verbosity=self.verbosity)
        try:
            report = sync_account(account.pk, full=full, progress=FolderProgress(progress))
        finally:
            progress.close()
        if report.ok:
            parse_bodies_task(account.pk)

        summary = (
            f"{label}: created {report.created}, linked {report.linked}, "
            f"failed {report.failed}, {report.seconds:.1f} s"
        )
        failed = bool(report.error or report.failed or report.folder_errors)
        if report.error:
            summary += f", error: {report.error.user_message()}"
        for folder_name, code in report.folder_errors:
            summary += f", folder {folder_name!r}: {errors.message_for(code, folder=folder_name)}"
        if report.skipped_reason:
            summary += f", skipped: {self._skip_reason(account, report.skipped_reason)}"
            # Another worker syncing the account right now is not a failure.
            failed = failed or (explicit and report.skipped_reason != "busy")

        if failed:
            self.stderr.write(summary)
        elif self.verbosity >= 1:
            self.stdout.write(summary)
        return not failed

    def _skip_reason(self, account, reason):
        if reason == "paused":
            account.refresh_from_db(fields=["pause_reason"])
            if not account.pause_reason:
                return _("the account is paused. Resume it in the admin.")
            cause = errors.message_for(account.pause_reason, host=account.incoming_host, port=account.incoming_port)
            return _("the account is paused: %(cause)s Resume it in the admin.") % {"cause": cause}
        if reason == "busy":
            return _("another worker is syncing this account now.")
        if reason == "deleted":
            return _("the account was deleted.")
        return _("the sync stopped because another worker took the account over, or it was paused or deleted.")
