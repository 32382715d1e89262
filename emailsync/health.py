"""What an operator checks first: is the task cluster alive, which mailboxes need help.

`collect_health()` returns plain data that the health page renders and its
JSON variant prints as is. The JSON contains ids, states and counts, never an
address or any message content, because monitoring systems store it.

The task cluster is judged from two sources:
1. The status each django-q2 cluster publishes every half second with a
   3-second expiry (`Stat.get_all()`). No live status means no cluster
   runs: stopped, or killed without a chance to say so.
2. The heartbeat task (emailsync.heartbeat). A live cluster whose last
   heartbeat is older than HEALTH_HEARTBEAT_MAX_AGE_SECONDS runs no tasks:
   stalled.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F, Min, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_q.models import Failure, Schedule

from . import errors
from .annotations import with_sync_counts
from .heartbeat import IDLE_WATCHER, TASKS, latest_heartbeat
from .models import Folder, MailAccount, SyncFailure, SyncRun
from .schedules import HEARTBEAT_FUNC, SYNC_FUNC

logger = logging.getLogger(__name__)

# Rows in the per-account table; the admin lists the rest.
ACCOUNT_ROWS = 500

ERROR = "error"
WARNING = "warning"

# django-q2 1.11 publishes the cluster state as a translated word; these
# are its English forms.
CLUSTER_STATES = {"Starting": "starting", "Working": "working", "Idle": "idle", "Stopping": "stopping",
                  "Stopped": "stopped"}


@dataclass
class Problem:
    code: str
    level: str
    message: str


# --- Task cluster ---------------------------------------------------------


def read_cluster_stats():
    """Return the live clusters' published status as dicts; raise if the broker fails."""
    from django_q.status import Stat

    clusters = []
    for stat in Stat.get_all():
        with translation.override("en"):
            state = CLUSTER_STATES.get(str(stat.status), "unknown")
        uptime = (timezone.now() - stat.tob).total_seconds() if stat.tob else None
        clusters.append({
            "id": str(stat.cluster_id), "host": stat.host, "pid": stat.pid, "state": state,
            "workers": len(stat.workers), "uptime_seconds": round(uptime) if uptime is not None else None,
            "reincarnations": stat.reincarnations,
        })
    return sorted(clusters, key=lambda cluster: (cluster["host"], cluster["pid"]))


def read_queue():
    """Return the broker's queue length, and for the ORM broker the tasks being run."""
    from django_q.brokers import get_broker

    broker = get_broker()
    queue = {"queued": broker.queue_size(), "running": None}
    if "orm" in settings.Q_CLUSTER:
        queue["running"] = broker.lock_size()
    return queue


def heartbeat_status(now, name=TASKS):
    heartbeat = latest_heartbeat(name)
    if heartbeat is None:
        return None
    delay = None
    if heartbeat.scheduled_for:
        delay = max((heartbeat.beat_at - heartbeat.scheduled_for).total_seconds(), 0)
    return {
        "at": heartbeat.beat_at, "age_seconds": round((now - heartbeat.beat_at).total_seconds()),
        "queue_delay_seconds": round(delay) if delay is not None else None,
        "host": heartbeat.host, "pid": heartbeat.pid,
    }


def cluster_state(clusters, heartbeat):
    """Decide "running", "starting", "stalled" or "stopped" from the two sources."""
    alive = [cluster for cluster in clusters if cluster["state"] not in ("stopping", "stopped")]
    if not alive:
        return "stopped"

    max_age = settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS
    if heartbeat is not None and heartbeat["age_seconds"] <= max_age:
        return "running"
    # A cluster that started less than max_age ago may not have beaten yet.
    oldest_uptime = max((cluster["uptime_seconds"] or 0) for cluster in alive)
    return "starting" if oldest_uptime <= max_age else "stalled"


def collect_cluster(now):
    """Return the task cluster's state, live clusters, heartbeat, queue and schedules."""
    heartbeat = heartbeat_status(now)
    from retention.schedules import CLEANUP_FUNC

    functions = [SYNC_FUNC, HEARTBEAT_FUNC, CLEANUP_FUNC]
    schedules = set(Schedule.objects.filter(func__in=functions).values_list("func", flat=True))
    cluster = {
        "state": "unknown", "clusters": [], "heartbeat": heartbeat, "queue": None, "broker_error": "",
        "failed_tasks_24h": Failure.objects.filter(stopped__gte=now - timedelta(hours=24)).count(),
        "has_sync_schedule": SYNC_FUNC in schedules, "has_heartbeat_schedule": HEARTBEAT_FUNC in schedules,
        "has_cleanup_schedule": CLEANUP_FUNC in schedules,
    }
    # Any broker client error (Redis down, a refused connection) means the
    # same to an operator: the cluster's state cannot be read.
    try:
        cluster["clusters"] = read_cluster_stats()
        cluster["queue"] = read_queue()
    except Exception as exc:  # noqa: BLE001
        logger.warning("Task broker unreachable from the health page: error=%s", type(exc).__name__)
        cluster["broker_error"] = type(exc).__name__
        return cluster
    cluster["state"] = cluster_state(cluster["clusters"], heartbeat)
    return cluster


def collect_idle_watcher(now):
    """Return the IDLE watcher's last stamp and whether it runs.

    `manage.py watch_mail` is optional, so a watcher that never ran is
    "not used", while one whose stamp aged is "stopped".
    """
    heartbeat = heartbeat_status(now, IDLE_WATCHER)
    if heartbeat is None:
        state = "not_used"
    elif heartbeat["age_seconds"] <= settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS:
        state = "running"
    else:
        state = "stopped"
    return {"state": state, "heartbeat": heartbeat}


# --- Mailboxes ------------------------------------------------------------


def account_problem(account, now, late_before):
    """Return (code, plain-language reason) when the account needs attention, else None."""
    params = {"host": account.incoming_host, "port": account.incoming_port}
    if account.status == MailAccount.Status.PAUSED:
        return "paused", errors.message_for(account.pause_reason, **params)
    if account.last_error_code:
        return "error", errors.message_for(account.last_error_code, **params)

    # A first sync of a large mailbox holds its lease for hours before it
    # records a success; it is working, not late.
    is_syncing = account.lease_expires_at is not None and account.lease_expires_at > now
    last_success = account.last_synced_at or account.created_at
    if last_success < late_before and not is_syncing:
        return "late", _("No successful sync since %(time)s.") % {
            "time": timezone.localtime(last_success).strftime("%Y-%m-%d %H:%M"),
        }
    if account.failed_total:
        return "failed_messages", ngettext(
            "%(count)s message could not be stored.", "%(count)s messages could not be stored.",
            account.failed_total,
        ) % {"count": account.failed_total}
    return None


def account_row(account, problem, now):
    code, reason = problem or ("ok", "")
    return {
        "id": account.pk, "owner": account.owner.get_username(), "email": account.email_address,
        "protocol": account.incoming_protocol, "status": account.status, "problem": code,
        "reason": str(reason), "error_code": account.last_error_code,
        "pause_reason": account.pause_reason if account.status == MailAccount.Status.PAUSED else "",
        "last_synced_at": account.last_synced_at, "backlog": account.backlog_total,
        "failed": account.failed_total,
        "is_syncing": account.lease_expires_at is not None and account.lease_expires_at > now,
    }


# Problems first, in this order; then the rest by address.
_PROBLEM_ORDER = {"paused": 0, "error": 1, "late": 2, "failed_messages": 3, "ok": 4}


def collect_accounts(now):
    """Return per-state counts and one row per account, problems first (one query)."""
    late_before = now - timedelta(minutes=settings.HEALTH_SYNC_MAX_AGE_MINUTES)
    accounts = with_sync_counts(MailAccount.objects.select_related("owner")).order_by("email_address")

    rows = []
    counts = {"total": 0, "active": 0, "paused": 0, "error": 0, "late": 0, "with_failed_messages": 0}
    for account in accounts:
        problem = account_problem(account, now, late_before)
        rows.append(account_row(account, problem, now))
        counts["total"] += 1
        counts[account.status] = counts.get(account.status, 0) + 1
        if problem and problem[0] in ("error", "late"):
            counts[problem[0]] += 1
        if account.failed_total:
            counts["with_failed_messages"] += 1

    rows.sort(key=lambda row: _PROBLEM_ORDER[row["problem"]])
    return counts, rows


def collect_backlog():
    """Return the total backlog and the folder whose backlog has waited longest.

    "Waited" counts from the folder's last successful sync, or from the
    account's connection when the folder never synced.
    """
    waiting = Folder.objects.filter(
        backlog__gt=0, is_sync_enabled=True, account__status=MailAccount.Status.ACTIVE,
    ).annotate(waiting_since=Coalesce("last_synced_at", "account__created_at"))
    total = waiting.aggregate(total=Sum("backlog"))["total"] or 0
    oldest = waiting.order_by(F("waiting_since").asc()).values(
        "pk", "account_id", "backlog", "waiting_since",
    ).first()
    if oldest is None:
        return {"messages": 0, "oldest": None}
    return {"messages": total, "oldest": {
        "folder": oldest["pk"], "account": oldest["account_id"], "backlog": oldest["backlog"],
        "waiting_since": oldest["waiting_since"],
    }}


def collect_failures():
    """Count the messages not stored yet, the accounts they belong to, and the oldest."""
    unresolved = SyncFailure.objects.filter(resolved_at__isnull=True)
    summary = unresolved.aggregate(oldest=Min("first_failed_at"))
    return {
        "messages": unresolved.count(),
        "accounts": unresolved.values("account").distinct().count(),
        "oldest_at": summary["oldest"],
    }


def collect_sync_runs(now):
    """Count the last hour's syncs by outcome."""
    recent = SyncRun.objects.filter(started_at__gte=now - timedelta(hours=1))
    counts = dict.fromkeys(SyncRun.Outcome.values, 0)
    for row in recent.order_by().values("outcome").annotate(count=Count("pk")):
        counts[row["outcome"]] = row["count"]
    return counts


# --- Verdict --------------------------------------------------------------


def cluster_problems(cluster):
    problems = []
    state = cluster["state"]
    if cluster["broker_error"]:
        problems.append(Problem("broker_unreachable", ERROR, _(
            "The task broker could not be reached (%(error)s), so the state of the task cluster "
            "is unknown. Check Q_REDIS_URL and that Redis is running."
        ) % {"error": cluster["broker_error"]}))
    elif state == "stopped":
        problems.append(Problem("cluster_stopped", ERROR, _(
            "No task cluster is running, so no mailbox syncs. Start one with "
            "“python manage.py qcluster”."
        )))
    elif state == "stalled":
        problems.append(Problem("cluster_stalled", ERROR, _(
            "The task cluster is running but has run no task for more than %(minutes)s minutes. "
            "Check the workers' log and the queued tasks."
        ) % {"minutes": settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS // 60}))

    if cluster["idle_watcher"]["state"] == "stopped":
        problems.append(Problem("idle_watcher_stopped", WARNING, _(
            "The IDLE watcher (“python manage.py watch_mail”) stopped, so new mail waits for "
            "the next scheduled sync."
        )))

    schedules = ("has_sync_schedule", "has_heartbeat_schedule", "has_cleanup_schedule")
    if not all(cluster[name] for name in schedules):
        problems.append(Problem("schedule_missing", ERROR, _(
            "A scheduled task is missing (mailbox sync, heartbeat or cleanup policy). Create them "
            "with “python manage.py setup_schedules”."
        )))
    return problems


def account_problems(counts, failures):
    problems = []
    texts = [
        ("accounts_paused", counts["paused"], ngettext(
            "%(count)s mailbox is paused.", "%(count)s mailboxes are paused.", counts["paused"])),
        ("accounts_failing", counts["error"], ngettext(
            "%(count)s mailbox failed its last sync.", "%(count)s mailboxes failed their last sync.",
            counts["error"])),
        ("accounts_late", counts["late"], ngettext(
            "%(count)s active mailbox has not synced for more than %(minutes)s minutes.",
            "%(count)s active mailboxes have not synced for more than %(minutes)s minutes.", counts["late"])),
        ("messages_failed", failures["messages"], ngettext(
            "%(count)s message could not be stored and waits for a retry.",
            "%(count)s messages could not be stored and wait for a retry.", failures["messages"])),
    ]
    for code, count, text in texts:
        if count:
            params = {"count": count, "minutes": settings.HEALTH_SYNC_MAX_AGE_MINUTES}
            problems.append(Problem(code, WARNING, text % params))
    return problems


def collect_health(now=None):
    """Return the whole health report as a dict of plain values and datetimes."""
    now = now or timezone.now()
    cluster = collect_cluster(now)
    cluster["idle_watcher"] = collect_idle_watcher(now)
    counts, accounts = collect_accounts(now)
    failures = collect_failures()
    problems = cluster_problems(cluster) + account_problems(counts, failures)

    if any(problem.level == ERROR for problem in problems):
        status = ERROR
    elif problems:
        status = WARNING
    else:
        status = "ok"
    return {
        "status": status, "checked_at": now, "problems": [problem.__dict__ for problem in problems],
        "cluster": cluster, "accounts": counts, "account_rows": accounts, "backlog": collect_backlog(),
        "failed_messages": failures, "sync_runs_last_hour": collect_sync_runs(now),
    }
