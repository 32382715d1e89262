"""Several task clusters on a Redis broker share accounts safely."""

import os
import signal
import time
import uuid

import pytest

from conftest import add_mailbox_user, make_user
from emailsync.models import MailAccount, Message, SyncRun
from tests.support.mail import make_raw
from tests.support.processes import start_manage, start_python

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = 20
PER_MAILBOX = 30


@pytest.fixture
def accounts(django_user_model, dovecot, connect_account):
    result = []
    for index in range(ACCOUNTS):
        user = make_user(django_user_model, f"rep{index}", integrate=True)
        login, password = add_mailbox_user(dovecot)
        dovecot.append(login, "INBOX", [make_raw(subject=f"{login} {n}") for n in range(PER_MAILBOX)])
        result.append(connect_account(user, login, password))
    return result


@pytest.fixture
def cluster_env(dovecot):
    # A cluster name of its own keeps this test's queue apart from anything
    # else on the same Redis.
    return {
        "Q_REDIS_URL": "redis://127.0.0.1:6379/14",
        "Q_CLUSTER_NAME": f"test-{uuid.uuid4().hex[:8]}",
        "Q_WORKERS": 2,
        "EMAILSYNC_LEASE_SECONDS": 3,
        "EMAILSYNC_CA_FILE": dovecot.cafile,
        "EMAILSYNC_BATCH_SIZE": 5,
    }


def queue_all(env, twice=False):
    code = (
        "from emailsync.tasks import queue_sync; from emailsync.models import MailAccount\n"
        f"ids = list(MailAccount.objects.values_list('pk', flat=True)) * {2 if twice else 1}\n"
        "for account_id in ids: queue_sync(account_id)\n"
    )
    process = start_python(code, **env)
    assert process.wait(timeout=60) == 0, process.stdout.read().decode()


def synced_accounts():
    return MailAccount.objects.filter(first_synced_at__isnull=False).count()


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=15)


def assert_no_overlap():
    """No two finished runs of one account overlap in time."""
    for account_id in MailAccount.objects.values_list("pk", flat=True):
        runs = list(
            SyncRun.objects.filter(account_id=account_id, finished_at__isnull=False)
            .order_by("started_at").values_list("started_at", "finished_at")
        )
        for (_start, end), (next_start, _end) in zip(runs, runs[1:]):
            assert end <= next_start, (account_id, runs)


def test_two_clusters_sync_every_account_once_at_a_time(accounts, cluster_env):
    clusters = [start_manage("qcluster", **cluster_env) for _ in range(2)]
    try:
        queue_all(cluster_env, twice=True)
        done = wait_until(lambda: synced_accounts() == ACCOUNTS, 120)
    finally:
        for process in clusters:
            stop(process)

    assert done
    assert Message.objects.count() == ACCOUNTS * PER_MAILBOX
    assert_no_overlap()
    assert SyncRun.objects.values("worker").distinct().count() >= 2


def test_killed_cluster_accounts_finish_on_the_other(accounts, cluster_env):
    victim = start_manage("qcluster", **cluster_env)
    survivor = None
    try:
        queue_all(cluster_env)
        assert wait_until(lambda: SyncRun.objects.exists(), 60)
        stop(victim)
        synced_by_victim = synced_accounts()
        # Whatever the killed cluster held comes back once its leases expire
        # and the schedule queues the accounts again.
        time.sleep(cluster_env["EMAILSYNC_LEASE_SECONDS"] + 1)
        survivor = start_manage("qcluster", **cluster_env)
        process = start_python("from emailsync.tasks import sync_due_accounts; sync_due_accounts()", **cluster_env)
        assert process.wait(timeout=60) == 0
        done = wait_until(lambda: synced_accounts() == ACCOUNTS, 120)
    finally:
        stop(victim)
        if survivor is not None:
            stop(survivor)

    assert done
    assert Message.objects.count() == ACCOUNTS * PER_MAILBOX
    assert_no_overlap()
    assert synced_by_victim < ACCOUNTS
