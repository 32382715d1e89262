"""The daily django-q2 schedule of the cleanup policy."""

import logging
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

logger = logging.getLogger(__name__)

CLEANUP_FUNC = "retention.tasks.apply_cleanup_policy_task"
CLEANUP_SCHEDULE_NAME = "Apply the cleanup policy"
# Local time of the daily run: early enough that warnings arrive in the
# morning, and far enough from midnight that a daylight saving change
# cannot move a run to the previous or next date.
CLEANUP_RUN_AT = time(3, 30)


def ensure_cleanup_schedule():
    """Create the daily schedule of the cleanup policy unless one exists.

    The schedule is found by its function, so one that an operator renamed
    or moved to another hour in the admin is kept as it is. Returns
    "created" or "unchanged".
    """
    with transaction.atomic():
        if Schedule.objects.select_for_update().filter(func=CLEANUP_FUNC).exists():
            return "unchanged"
        Schedule.objects.create(
            name=CLEANUP_SCHEDULE_NAME, func=CLEANUP_FUNC, schedule_type=Schedule.DAILY, repeats=-1,
            next_run=next_run_at(timezone.now()),
        )
    logger.info("Cleanup schedule created: func=%s", CLEANUP_FUNC)
    return "created"


def next_run_at(now):
    """Return the next CLEANUP_RUN_AT in the site's time zone after `now`."""
    zone = timezone.get_default_timezone()
    local_now = timezone.localtime(now, zone)
    run = datetime.combine(local_now.date(), CLEANUP_RUN_AT, tzinfo=zone)
    if run <= local_now:
        run = datetime.combine(local_now.date() + timedelta(days=1), CLEANUP_RUN_AT, tzinfo=zone)
    return run
