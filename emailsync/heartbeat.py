"""Heartbeats: times that prove a background process works.

django-q2 publishes each cluster's own status, but a cluster whose
scheduler or workers are stuck still reports itself as idle. A scheduled
task that stamps a time in the database shows that the whole chain works:
the scheduler creates the task, the broker delivers it, a worker runs it
and can write to the database. emailsync.schedules creates the schedule.
"""

import logging
import os
import socket
from datetime import datetime

from django.utils import timezone

from .models import Heartbeat

logger = logging.getLogger(__name__)

TASKS = "tasks"
# Stamped by `manage.py watch_mail` each time it looks for accounts to watch.
IDLE_WATCHER = "idle_watcher"


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
