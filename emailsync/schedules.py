"""The django-q2 schedules the product needs: the mailbox sync and the heartbeat."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

logger = logging.getLogger(__name__)

SYNC_FUNC = "emailsync.tasks.sync_due_accounts"
SYNC_SCHEDULE_NAME = "Sync due mailboxes"

HEARTBEAT_FUNC = "emailsync.tasks.record_heartbeat"
HEARTBEAT_SCHEDULE_NAME = "Task cluster heartbeat"
# django-q2 schedules count in whole minutes, and its scheduler looks for
# due schedules every 30 seconds, so a healthy cluster stamps the heartbeat
# at least every 90 seconds.
HEARTBEAT_MINUTES = 1


def ensure_sync_schedule(minutes):
    """Create or update the schedule that runs sync_due_accounts every `minutes`."""
    return ensure_schedule(SYNC_FUNC, SYNC_SCHEDULE_NAME, minutes)


def ensure_heartbeat_schedule():
    """Create or update the schedule that stamps the task cluster's heartbeat every minute.

    The task receives the time it was due as `scheduled_for`, so the health
    page can tell how long tasks wait in the queue.
    """
    return ensure_schedule(
        HEARTBEAT_FUNC, HEARTBEAT_SCHEDULE_NAME, HEARTBEAT_MINUTES, intended_date_kwarg="scheduled_for",
    )


def ensure_schedule(func, name, minutes, **options):
    """Create or update the one schedule that runs `func` every `minutes`.

    The schedule is found by its function, so a schedule renamed in the
    admin is still updated, not doubled. Further schedules of the same
    function would queue every run twice, so they are deleted. Schedules
    of other functions are not touched. `options` are more Schedule fields
    to set. Returns "created", "updated" or "unchanged".
    """
    if minutes < 1:
        raise ValueError(f"interval must be at least 1 minute, got {minutes}")
    expected = {"name": name, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1, **options}

    with transaction.atomic():
        existing = list(Schedule.objects.select_for_update().filter(func=func).order_by("pk"))
        if not existing:
            Schedule.objects.create(func=func, **expected)
            logger.info("Schedule created: func=%s minutes=%s", func, minutes)
            return "created"

        schedule, duplicates = existing[0], existing[1:]
        Schedule.objects.filter(pk__in=[duplicate.pk for duplicate in duplicates]).delete()
        if not duplicates and all(getattr(schedule, field) == value for field, value in expected.items()):
            return "unchanged"

        if schedule.minutes != minutes:
            schedule.next_run = timezone.now() + timedelta(minutes=minutes)
        for field, value in expected.items():
            setattr(schedule, field, value)
        schedule.save()
    logger.info("Schedule updated: func=%s minutes=%s duplicates_deleted=%s", func, minutes, len(duplicates))
    return "updated"
