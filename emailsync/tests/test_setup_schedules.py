"""`manage.py setup_schedules` keeps exactly one sync schedule, up to date."""

import pytest
from django_q.models import Schedule

from emailsync.schedules import SYNC_FUNC
from tests.support.commands import run_command

pytestmark = pytest.mark.django_db


def test_setup_schedules_creates_schedule(settings):
    settings.EMAILSYNC_SYNC_INTERVAL_MINUTES = 7

    run_command("setup_schedules")

    schedule = Schedule.objects.get(func=SYNC_FUNC)
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == 7
    assert schedule.repeats == -1


def test_setup_schedules_idempotent(db):
    run_command("setup_schedules")
    first = Schedule.objects.get(func=SYNC_FUNC)

    result = run_command("setup_schedules")

    assert "unchanged" in result.stdout
    assert list(Schedule.objects.filter(func=SYNC_FUNC).values_list("pk", flat=True)) == [first.pk]
    assert Schedule.objects.get(pk=first.pk).next_run == first.next_run


def test_setup_schedules_updates_interval(settings):
    run_command("setup_schedules")
    settings.EMAILSYNC_SYNC_INTERVAL_MINUTES = 30

    result = run_command("setup_schedules")

    assert "updated" in result.stdout
    assert Schedule.objects.get(func=SYNC_FUNC).minutes == 30


def test_setup_schedules_removes_duplicates(db):
    for _ in range(2):
        Schedule.objects.create(func=SYNC_FUNC, schedule_type=Schedule.MINUTES, minutes=1)

    run_command("setup_schedules")

    assert Schedule.objects.filter(func=SYNC_FUNC).count() == 1


def test_setup_schedules_leaves_other_schedules(db):
    other = Schedule.objects.create(
        name="Nightly report", func="reports.tasks.nightly", schedule_type=Schedule.DAILY,
    )

    run_command("setup_schedules")

    assert Schedule.objects.get(pk=other.pk).func == "reports.tasks.nightly"
    assert Schedule.objects.get(pk=other.pk).schedule_type == Schedule.DAILY


def test_setup_schedules_rejects_zero_interval(settings):
    settings.EMAILSYNC_SYNC_INTERVAL_MINUTES = 0

    result = run_command("setup_schedules")

    assert "EMAILSYNC_SYNC_INTERVAL_MINUTES" in str(result.error)
    assert not Schedule.objects.exists()
