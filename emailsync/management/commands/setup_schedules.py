"""Create or update the django-q2 schedules the product needs."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from emailsync.schedules import SYNC_SCHEDULE_NAME, ensure_sync_schedule
from retention.schedules import CLEANUP_RUN_AT, CLEANUP_SCHEDULE_NAME, ensure_cleanup_schedule


class Command(BaseCommand):
    help = (
        "Create or update the schedule that syncs every active mailbox every "
        "EMAILSYNC_SYNC_INTERVAL_MINUTES minutes, and create the daily schedule of "
        "the cleanup policy unless one exists. Safe to run at every start: "
        "schedules of other tasks are left alone."
    )

    def handle(self, *args, **options):
        minutes = settings.EMAILSYNC_SYNC_INTERVAL_MINUTES
        if minutes < 1:
            raise CommandError(
                _("EMAILSYNC_SYNC_INTERVAL_MINUTES must be at least 1, not %(minutes)s.") % {"minutes": minutes}
            )

        action = ensure_sync_schedule(minutes)
        if options["verbosity"] >= 1:
            self.stdout.write(f"Schedule “{SYNC_SCHEDULE_NAME}”: {action}, every {minutes} minutes.")

        action = ensure_cleanup_schedule()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Schedule “{CLEANUP_SCHEDULE_NAME}”: {action}, daily at {CLEANUP_RUN_AT:%H:%M} site time."
            )
