"""Show every mailbox's sync state: a table, or JSON for scripts."""

import json
from datetime import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from emailsync.status import collect_mail_status


def _local_time(value):
    if not value:
        return "-"
    return timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def _error_text(error):
    return f"{error['code']}: {error['message']}" if error else "-"


class Command(BaseCommand):
    help = (
        "Show each mailbox's status, stored and failed message counts, last error and "
        "folders. --json prints a JSON list with one object per account."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, **options):
        report = collect_mail_status()
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
            return
        if not report:
            self.stdout.write("No mailbox is connected.")
            return
        self._write_table(report, show_detail=options["verbosity"] >= 2)

    def _write_table(self, report, show_detail):
        header = ("ID", "USER", "EMAIL", "STATUS", "MESSAGES", "FAILED", "LAST SYNC")
        rows = [
            (
                str(item["account"]), item["user"], item["email"],
                item["status"] + (f" ({item['pause_reason']['code']})" if item["pause_reason"] else ""),
                str(item["messages"]), str(item["failed"]), _local_time(item["last_synced_at"]),
            )
            for item in report
        ]
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]

        self.stdout.write(self._format_row(header, widths))
        for item, row in zip(report, rows):
            self.stdout.write(self._format_row(row, widths))
            if item["last_error"]:
                self.stdout.write(f"    last error: {_error_text(item['last_error'])}")
                if show_detail and item["last_error"]["detail"]:
                    self.stdout.write(f"    detail: {item['last_error']['detail']}")
            for folder in item["folders"]:
                self.stdout.write(self._format_folder(folder))

    @staticmethod
    def _format_row(values, widths):
        return "  ".join(value.ljust(width) for value, width in zip(values, widths)).rstrip()

    @staticmethod
    def _format_folder(folder):
        state = "synced" if folder["sync_enabled"] else "not synced"
        line = (
            f"    {folder['name']} ({folder['role']}, {state}): {folder['messages']} stored, "
            f"backlog {folder['backlog']}, uidvalidity {folder['uidvalidity'] or '-'}, "
            f"last sync {_local_time(folder['last_synced_at'])}"
        )
        if folder["last_error"]:
            line += f", last error {_error_text(folder['last_error'])}"
        return line
