"""A heartbeat that proves the task cluster runs tasks, and its schedule.

django-q2 publishes each cluster's own status, but a cluster whose
scheduler or workers are stuck still reports itself as idle. A scheduled
task that stamps a time in the database shows that the whole chain works:
the scheduler creates the task, the broker delivers it, a worker runs it
and can write to the database.
"""

import logging
import os
import socket
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from .models import Heartbeat

logger = logging.getLogger(__name__)

TASKS = "tasks"
# Stamped by `manage.py watch_mail` each time it looks for accounts to watch.
IDLE_WATCHER = "idle_watcher"
HEARTBEAT_FUNC = "emailsync.tasks.record_heartbeat"
HEARTBEAT_SCHEDULE_NAME = "Task cluster heartbeat"
# django-q2 schedules count in whole minutes, and its scheduler looks for
# due schedules every 30 seconds, so a healthy cluster stamps at least
# every 90 seconds.
HEARTBEAT_MINUTES = 1


def record_heartbeat(scheduled_for=None):
    """Stamp the "tasks" heartbeat; return the seconds the task waited in the queue.

    `scheduled_for` is the ISO 8601 time the schedule meant the task to run,
    as django-q2 passes it through the schedule's intended_date_kwarg.
    """
    intended = datetime.fromisoformat(scheduled_for) if scheduled_for else None
    if intended is not None and timezone.is_naive(intended):
        intended = timezone.make_aware(intended)
    now = stamp(TASKS, intended)
    delay = (now - intended).total_seconds() if intended else 0.0
    logger.debug("Heartbeat recorded: delay_seconds=%.1f", delay)
    return delay


def stamp(name, scheduled_for=None):
    """Record that the process named `name` is alive now, with its host and PID."""
    now = timezone.now()
    Heartbeat.objects.update_or_create(
        name=name,
        defaults={"beat_at": now, "scheduled_for": scheduled_for, "host": socket.gethostname(), "pid": os.getpid()},
    )
    return now


def latest_heartbeat(name=TASKS):
    """Return the Heartbeat row named `name`, or None before its first beat."""
    return Heartbeat.objects.filter(name=name).first()


def ensure_heartbeat_schedule():
    """Create or repair the schedule that runs record_heartbeat every minute.

    Found by its function, so a renamed schedule is repaired rather than
    doubled; extra copies are deleted. Returns "created", "updated" or
    "unchanged".
    """
    expected = {
        "name": HEARTBEAT_SCHEDULE_NAME, "schedule_type": Schedule.MINUTES, "minutes": HEARTBEAT_MINUTES,
        "repeats": -1, "intended_date_kwarg": "scheduled_for",
    }
    with transaction.atomic():
        existing = list(Schedule.objects.select_for_update().filter(func=HEARTBEAT_FUNC).order_by("pk"))
        if not existing:
            Schedule.objects.create(func=HEARTBEAT_FUNC, next_run=timezone.now(), **expected)
            logger.info("Heartbeat schedule created: minutes=%s", HEARTBEAT_MINUTES)
            return "created"

        schedule, duplicates = existing[0], existing[1:]
        Schedule.objects.filter(pk__in=[duplicate.pk for duplicate in duplicates]).delete()
        if not duplicates and all(getattr(schedule, field) == value for field, value in expected.items()):
            return "unchanged"
        for field, value in expected.items():
            setattr(schedule, field, value)
        schedule.save()
    logger.info("Heartbeat schedule updated: duplicates_deleted=%s", len(duplicates))
    return "updated"
