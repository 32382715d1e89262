"""No loss and no duplicate when connections are cut or workers killed."""

import os
import random
import signal
import time

import pytest

from emailsync.models import MailAccount, Message, MessageLocation, RawMessage
from emailsync.sync import sync_account
from tests.support.mail import make_raw
from tests.support.processes import start_python
from tests.support.proxy import Proxy

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = 1000
# Enough that twenty kills, each after about 150 stored messages, end
# before the sync completes.
LARGE = 4000


@pytest.fixture
def loaded_mailbox(mailbox_user, dovecot):
    login, _password = mailbox_user
    rng = random.Random(7)
    messages = [
        make_raw(subject=f"m{index}", body="x" * rng.randint(200, 3000)) for index in range(MESSAGES)
    ]
    dovecot.append(login, "INBOX", messages)
    return login


@pytest.fixture
def large_mailbox(mailbox_user, dovecot):
    login, _password = mailbox_user
    dovecot.append(login, "INBOX", [make_raw(subject=f"k{index}", body="y" * 400) for index in range(LARGE)])
    return login


@pytest.fixture
def account(owner, mailbox_user, connect_account, settings):
    settings.EMAILSYNC_BATCH_SIZE = 25
    return connect_account(owner, *mailbox_user)


def assert_equals_server(account, dovecot, login):
    server = dovecot.server_messages(login, "INBOX")
    stored = dict(
        MessageLocation.objects.filter(message__account=account, folder__name="INBOX").values_list("uid", "message_id")
    )
    raw = dict(RawMessage.objects.filter(message__account=account).values_list("message_id", "data"))
    assert sorted(stored) == sorted(server)
    assert Message.objects.filter(account=account).count() == len(set(server.values()))
    assert all(bytes(raw[stored[uid]]) == server[uid] for uid in server)


def test_cuts_at_random_fetch_offsets_lose_nothing(account, loaded_mailbox, dovecot):
    proxy = Proxy(dovecot.host, dovecot.imap_port).start()
    MailAccount.objects.filter(pk=account.pk).update(
        incoming_host=proxy.host, incoming_port=proxy.port, incoming_security="plain",
    )
    rng = random.Random(2026)
    cut_results = []
    try:
        for _attempt in range(20):
            # The first 2 KB or so are greeting, login and folder listing;
            # a batch of 25 messages is about 40 KB of FETCH data, so each
            # cut stops the sync within its first three batches.
            proxy.cut_after_server_bytes = rng.randint(2500, 100_000)
            cut_results.append(sync_account(account.pk))
            assert MessageLocation.objects.filter(message__account=account).count() <= MESSAGES
        stored_after_cuts = Message.objects.filter(account=account).count()
        final = sync_account(account.pk)
    finally:
        proxy.stop()

    assert all(report.error is not None for report in cut_results)
    assert 0 < stored_after_cuts < MESSAGES
    assert final.error is None
    assert_equals_server(account, dovecot, loaded_mailbox)


def test_sigkill_mid_batch_loses_nothing(account, large_mailbox, dovecot):
    rng = random.Random(11)
    killed = 0
    counts = []
    for _attempt in range(20):
        before = Message.objects.filter(account=account).count()
        worker = start_python(
            f"from emailsync.sync import sync_account; sync_account({account.pk})",
            EMAILSYNC_BATCH_SIZE=5, EMAILSYNC_CA_FILE=dovecot.cafile,
        )
        # Kill once the worker has committed a random number of messages,
        # plus a few milliseconds so that the kill lands inside a batch.
        target = before + rng.randint(1, 150)
        if wait_for_count(account, target, worker):
            time.sleep(rng.uniform(0, 0.03))
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            killed += 1
        worker.wait(timeout=10)
        # A killed worker's lease would expire after EMAILSYNC_LEASE_SECONDS;
        # end it now instead of waiting.
        MailAccount.objects.filter(pk=account.pk).update(lease_owner="", lease_expires_at=None)
        counts.append(Message.objects.filter(account=account).count())

    final = sync_account(account.pk)

    assert killed == 20, counts
    assert counts[-1] < LARGE
    assert final.error is None
    assert_equals_server(account, dovecot, large_mailbox)


def wait_for_count(account, target, worker, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and worker.poll() is None:
        if Message.objects.filter(account=account).count() >= target:
            return True
        time.sleep(0.01)
    return False
