"""The operators' health page: who may see it, and what it concludes.

A live cluster is simulated by publishing a status exactly as django-q2's
sentinel does, through the broker into the shared cache. The test of a
real cluster that stops is in tests/test_task_cluster.py.
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

from emailsync import errors
from emailsync.heartbeat import record_heartbeat
from emailsync.idle import Supervisor
from emailsync.models import Heartbeat, MailAccount
from emailsync.schedules import HEARTBEAT_FUNC, ensure_heartbeat_schedule, ensure_sync_schedule
from retention.schedules import ensure_cleanup_schedule
from emailsync.tasks import record_heartbeat as record_heartbeat_task

from .admin_helpers import (  # noqa: F401  (fixtures)
    login, make_failure, make_folder, make_mailbox, make_staff, superuser, viewer,
)

pytestmark = pytest.mark.django_db

HEALTH = reverse("health")


@pytest.fixture(autouse=True)
def cluster_cache(settings, tmp_path):
    """Give each test its own cluster status cache when the cache is files."""
    caches = {alias: dict(options) for alias, options in settings.CACHES.items()}
    if caches["task_cluster"]["BACKEND"].endswith("FileBasedCache"):
        caches["task_cluster"]["LOCATION"] = str(tmp_path / "task-cluster")
    settings.CACHES = caches


@pytest.fixture
def schedules():
    ensure_heartbeat_schedule()
    ensure_sync_schedule(5)
    ensure_cleanup_schedule()


def publish_cluster(state=Conf.IDLE, uptime=timedelta(hours=1), host="worker-1"):
    """Publish a cluster status the way django-q2's sentinel does."""
    status = Status(pid=4242, cluster_id=uuid.uuid4())
    status.status = state
    status.tob = timezone.now() - uptime
    status.host = host
    status.workers = [4243, 4244]
    get_broker().set_stat(Stat.get_key(status.cluster_id), SignedPackage.dumps(status, True), 3)


def beat(age=timedelta(seconds=10), name="tasks"):
    Heartbeat.objects.update_or_create(name=name, defaults={
        "beat_at": timezone.now() - age, "scheduled_for": timezone.now() - age - timedelta(seconds=4),
        "host": "worker-1", "pid": 4243,
    })


def health_json(client, **headers):
    response = client.get(HEALTH, {"format": "json"}, headers=headers)
    return response.status_code, json.loads(response.content)


# --- Who may see it -------------------------------------------------------


def test_health_redirects_anonymous_to_login(client):
    response = client.get(HEALTH)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_health_hidden_from_non_staff(client, owner):
    response = login(client, owner).get(HEALTH)

    assert response.status_code == 404


@pytest.mark.parametrize("query", [{}, {"format": "json"}])
def test_health_denied_without_mailbox_permission(client, django_user_model, owner, query):
    make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED)
    staff = make_staff(django_user_model, "staff", ["view_message", "view_syncrun"])

    response = login(client, staff).get(HEALTH, query)

    assert response.status_code == 403
    assert "owner@crm.example" not in response.content.decode()


@pytest.mark.parametrize("codename", ["view_mailaccount", "change_mailaccount"])
def test_health_shown_with_mailbox_permission(client, django_user_model, owner, schedules, codename):
    make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED)
    staff = make_staff(django_user_model, "staff", [codename])
    publish_cluster()
    beat()

    response = login(client, staff).get(HEALTH)

    assert response.status_code == 200
    assert "owner@crm.example" in response.content.decode()


def test_admin_index_links_health_with_permission(client, django_user_model, viewer):
    staff = make_staff(django_user_model, "staff", ["view_message"])

    without_permission = login(client, staff).get(reverse("admin:index")).content.decode()
    with_permission = login(client, viewer).get(reverse("admin:index")).content.decode()

    assert f'href="{HEALTH}"' not in without_permission
    assert f'href="{HEALTH}"' in with_permission


def test_health_shown_to_staff(client, viewer, schedules):
    publish_cluster()
    beat()

    response = login(client, viewer).get(HEALTH)

    assert response.status_code == 200
    assert "Everything works." in response.content.decode()


def test_health_json_with_token(client, settings, schedules):
    settings.HEALTH_TOKEN = "t0ken-for-monitoring-7c1d"
    publish_cluster()
    beat()

    status, data = health_json(client, Authorization="Bearer t0ken-for-monitoring-7c1d")

    assert status == 200
    assert data["status"] == "ok"


@pytest.mark.parametrize(("configured", "sent"), [
    ("t0ken-for-monitoring-7c1d", "Bearer wrong"),
    ("t0ken-for-monitoring-7c1d", "t0ken-for-monitoring-7c1d"),
    ("", "Bearer "),
])
def test_health_json_rejects_bad_token(client, settings, configured, sent):
    settings.HEALTH_TOKEN = configured

    response = client.get(HEALTH, {"format": "json"}, headers={"Authorization": sent})

    assert response.status_code == 302


def test_health_token_does_not_open_html_page(client, settings):
    settings.HEALTH_TOKEN = "t0ken-for-monitoring-7c1d"

    response = client.get(HEALTH, headers={"Authorization": "Bearer t0ken-for-monitoring-7c1d"})

    assert response.status_code == 302


def test_health_json_leaves_out_addresses(client, viewer, owner, schedules):
    make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED)

    response = login(client, viewer).get(HEALTH, {"format": "json"})

    body = response.content.decode()
    assert "owner@crm.example" not in body
    assert json.loads(body)["accounts_needing_attention"][0]["pause_reason"] == errors.AUTH_FAILED


# --- The task cluster -----------------------------------------------------


def test_cluster_without_status_is_stopped(client, viewer, schedules):
    beat()

    status, data = health_json(login(client, viewer))

    assert status == 503
    assert data["cluster"]["state"] == "stopped"
    assert [problem["code"] for problem in data["problems"]] == ["cluster_stopped"]


def test_cluster_reporting_stopped_is_stopped(client, viewer, schedules):
    publish_cluster(state=Conf.STOPPED)
    beat()

    _status, data = health_json(login(client, viewer))

    assert data["cluster"]["state"] == "stopped"


def test_cluster_with_fresh_heartbeat_is_running(client, viewer, schedules):
    publish_cluster()
    beat(age=timedelta(seconds=30))

    _status, data = health_json(login(client, viewer))

    assert data["cluster"]["state"] == "running"
    assert data["cluster"]["clusters"][0]["host"] == "worker-1"
    assert data["cluster"]["clusters"][0]["workers"] == 2
    assert data["cluster"]["heartbeat"]["queue_delay_seconds"] == 4


def test_cluster_with_old_heartbeat_is_stalled(client, viewer, schedules, settings):
    settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS = 300
    publish_cluster(uptime=timedelta(hours=2))
    beat(age=timedelta(minutes=6))

    status, data = health_json(login(client, viewer))

    assert status == 503
    assert data["cluster"]["state"] == "stalled"


def test_cluster_just_started_without_heartbeat_is_starting(client, viewer, schedules):
    publish_cluster(uptime=timedelta(seconds=20))

    status, data = health_json(login(client, viewer))

    assert status == 200
    assert data["cluster"]["state"] == "starting"


def test_missing_schedules_reported(client, viewer):
    publish_cluster()
    beat()

    status, data = health_json(login(client, viewer))

    assert status == 503
    assert "schedule_missing" in [problem["code"] for problem in data["problems"]]


def test_missing_cleanup_schedule_reported(client, viewer):
    ensure_heartbeat_schedule()
    ensure_sync_schedule(5)
    publish_cluster()
    beat()

    _status, data = health_json(login(client, viewer))

    assert data["cluster"]["has_cleanup_schedule"] is False
    assert "schedule_missing" in [problem["code"] for problem in data["problems"]]


def test_queue_length_counts_waiting_tasks(client, viewer, owner, schedules):
    from emailsync.tasks import queue_sync

    account = make_mailbox(owner)
    queue_sync(account.pk)
    queue_sync(account.pk)

    _status, data = health_json(login(client, viewer))

    assert data["cluster"]["queue"]["queued"] == 2


def test_page_shows_stopped_cluster(client, viewer, schedules):
    page = login(client, viewer).get(HEALTH).content.decode()

    assert "No task cluster is running" in page
    assert 'id="cluster-state" class="health-cluster-stopped"' in page


@pytest.mark.parametrize(("age", "state"), [(None, "not_used"), (timedelta(seconds=50), "running"),
                                            (timedelta(minutes=20), "stopped")])
def test_idle_watcher_state(client, viewer, schedules, age, state):
    publish_cluster()
    beat()
    if age is not None:
        beat(age, name="idle_watcher")

    _status, data = health_json(login(client, viewer))

    assert data["cluster"]["idle_watcher"]["state"] == state
    assert ("idle_watcher_stopped" in [problem["code"] for problem in data["problems"]]) is (state == "stopped")


# The supervisor closes its database connection after each refresh, which
# needs a test without a wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_idle_supervisor_stamps_heartbeat():
    Supervisor(on_change=lambda account_id: None).refresh()

    assert Heartbeat.objects.get(name="idle_watcher").pid is not None


# --- Mailboxes ------------------------------------------------------------


def test_accounts_needing_attention_counted(client, viewer, django_user_model, schedules, settings):
    settings.HEALTH_SYNC_MAX_AGE_MINUTES = 60
    publish_cluster()
    beat()
    users = [django_user_model.objects.create_user(f"rep{number}") for number in range(5)]
    make_mailbox(users[0], status=MailAccount.Status.PAUSED, pause_reason=errors.IMAP_DISABLED)
    make_mailbox(users[1], last_error_code=errors.TIMED_OUT, last_synced_at=timezone.now())
    MailAccount.objects.filter(pk=make_mailbox(users[2]).pk).update(created_at=timezone.now() - timedelta(hours=3))
    failing = make_mailbox(users[3], last_synced_at=timezone.now())
    make_failure(failing, make_folder(failing), uid=5)
    make_mailbox(users[4], last_synced_at=timezone.now())

    status, data = health_json(login(client, viewer))

    assert status == 200
    assert data["status"] == "warning"
    assert data["accounts"]["paused"] == 1
    assert data["accounts"]["error"] == 1
    assert data["accounts"]["late"] == 1
    assert data["failed_messages"]["messages"] == 1
    problems = [row["problem"] for row in data["accounts_needing_attention"]]
    assert problems == ["paused", "error", "late", "failed_messages"]


def test_syncing_account_is_not_late(client, viewer, owner, schedules, settings):
    settings.HEALTH_SYNC_MAX_AGE_MINUTES = 60
    account = make_mailbox(owner, lease_owner="worker", lease_expires_at=timezone.now() + timedelta(minutes=4))
    MailAccount.objects.filter(pk=account.pk).update(created_at=timezone.now() - timedelta(hours=3))

    _status, data = health_json(login(client, viewer))

    assert data["accounts"]["late"] == 0


def test_oldest_backlog_is_the_longest_waiting_folder(client, viewer, django_user_model, schedules):
    recent = make_mailbox(django_user_model.objects.create_user("recent"))
    waiting = make_mailbox(django_user_model.objects.create_user("waiting"))
    make_folder(recent, backlog=900, last_synced_at=timezone.now() - timedelta(minutes=2))
    folder = make_folder(waiting, backlog=40, last_synced_at=timezone.now() - timedelta(hours=5))

    _status, data = health_json(login(client, viewer))

    assert data["backlog"]["messages"] == 940
    assert data["backlog"]["oldest"]["folder"] == folder.pk
    assert data["backlog"]["oldest"]["backlog"] == 40


def test_page_lists_every_account_with_reason(client, viewer, owner, schedules):
    make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.APP_PASSWORD_NEEDED)

    page = login(client, viewer).get(HEALTH).content.decode()

    assert "owner@crm.example" in page
    assert "requires an app-specific password" in page


# --- The heartbeat --------------------------------------------------------


def test_heartbeat_task_records_time_and_delay():
    scheduled = timezone.now() - timedelta(seconds=12)

    delay = record_heartbeat_task(scheduled.isoformat())

    heartbeat = Heartbeat.objects.get(name="tasks")
    assert delay >= 12
    assert heartbeat.scheduled_for == scheduled
    assert heartbeat.pid is not None


def test_heartbeat_without_schedule_time():
    record_heartbeat()

    assert Heartbeat.objects.get(name="tasks").scheduled_for is None


def test_heartbeat_schedule_created_once():
    first = ensure_heartbeat_schedule()
    second = ensure_heartbeat_schedule()

    assert (first, second) == ("created", "unchanged")
    assert Schedule.objects.filter(func=HEARTBEAT_FUNC).count() == 1


def test_heartbeat_schedule_repaired():
    Schedule.objects.create(func=HEARTBEAT_FUNC, name="renamed", schedule_type=Schedule.HOURLY)
    Schedule.objects.create(func=HEARTBEAT_FUNC, name="copy", schedule_type=Schedule.HOURLY)

    result = ensure_heartbeat_schedule()

    schedule = Schedule.objects.get(func=HEARTBEAT_FUNC)
    assert result == "updated"
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.intended_date_kwarg == "scheduled_for"
