"""The django-q2 schedule that syncs every active mailbox."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

logger = logging.getLogger(__name__)

SYNC_FUNC = "emailsync.tasks.sync_due_accounts"
SYNC_SCHEDULE_NAME = "Sync due mailboxes"


def ensure_sync_schedule(minutes):
    """Create or update the schedule that runs sync_due_accounts every `minutes`.

    The schedule is found by its function, so a schedule renamed in the
    admin is still updated, not doubled. Further schedules of the same
    function would queue every sync twice, so they are deleted. Schedules
    of other functions are not touched. Returns "created", "updated" or
    "unchanged".
    """
    if minutes < 1:
        raise ValueError(f"interval must be at least 1 minute, got {minutes}")

    with transaction.atomic():
        existing = list(Schedule.objects.select_for_update().filter(func=SYNC_FUNC).order_by("pk"))
        if not existing:
            Schedule.objects.create(
                name=SYNC_SCHEDULE_NAME, func=SYNC_FUNC, schedule_type=Schedule.MINUTES,
                minutes=minutes, repeats=-1,
            )
            logger.info("Sync schedule created: minutes=%s", minutes)
            return "created"

        schedule, duplicates = existing[0], existing[1:]
        Schedule.objects.filter(pk__in=[duplicate.pk for duplicate in duplicates]).delete()
        expected = {"name": SYNC_SCHEDULE_NAME, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        if not duplicates and all(getattr(schedule, field) == value for field, value in expected.items()):
            return "unchanged"

        if schedule.minutes != minutes:
            schedule.next_run = timezone.now() + timedelta(minutes=minutes)
        for field, value in expected.items():
            setattr(schedule, field, value)
        schedule.save()
    logger.info("Sync schedule updated: minutes=%s duplicates_deleted=%s", minutes, len(duplicates))
    return "updated"
