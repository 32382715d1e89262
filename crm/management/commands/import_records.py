"""Import Leads or Contacts from a CSV file: every row, or none when any is invalid."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm import importing
from crm.management.progress import Progress


class Command(BaseCommand):
    help = (
        "Import Leads or Contacts from a UTF-8 CSV file whose header names the columns "
        f"{', '.join(importing.COLUMNS)} (last_name and owner are required; owner is a "
        "username; secondary_emails are separated by ';'). Every row is checked first; "
        "when any row is invalid, each error is printed with its line number and nothing "
        "is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True, choices=sorted(importing.MODELS), help="Kind of record to create.")
        parser.add_argument("file", help="Path of the CSV file.")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and import nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        model = importing.MODELS[options["kind"]]
        try:
            with open(path, "rb") as csv_file:
                data = csv_file.read()
        except OSError as exc:
            raise CommandError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}) from None

        try:
            rows = importing.validate_file(model, data)
        except importing.InvalidFile as exc:
            for error in exc.errors:
                self.stderr.write(f"{path}:{error.line}: {error.message}")
            count = len(exc.errors)
            raise CommandError(
                ngettext("%(count)s error found; nothing was imported.",
                         "%(count)s errors found; nothing was imported.", count) % {"count": count}
            ) from None

        kind = options["kind"]
        if options["dry_run"]:
            self.stdout.write(f"{len(rows)} rows are valid; nothing was imported (--dry-run).")
            return
        progress = Progress(self.stdout, f"Importing {kind} records", total=len(rows),
                            verbosity=options["verbosity"], unit="records")
        try:
            created = importing.create_records(model, rows, progress=progress.advance)
        finally:
            progress.close()
        self.stdout.write(self.style.SUCCESS(f"Imported {created} {kind} records."))
