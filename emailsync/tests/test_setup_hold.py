"""A new mailbox waits for its owner to finish the setup wizard before it syncs."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from emailsync.idle import Supervisor
from emailsync.models import MailAccount
from emailsync.sync_options import queue_sync_now
from emailsync.tasks import sync_due_accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_account(owner, mailbox_user, connect_account):
    return connect_account(owner, *mailbox_user, hold_first_sync=True)


def test_held_account_skipped_by_scheduler(held_account):
    assert sync_due_accounts() == 0


def test_held_account_synced_after_hold(held_account, settings):
    later = timezone.now() + timedelta(minutes=settings.EMAILSYNC_SETUP_HOLD_MINUTES + 1)

    with time_machine.travel(later):
        queued = sync_due_accounts()

    assert queued == 1


def test_held_account_not_watched_by_idle(held_account):
    assert Supervisor(on_change=lambda account_id: None).refresh() == 0


def test_queue_sync_now_ends_hold(held_account, inline_tasks):
    queue_sync_now(held_account)

    account = MailAccount.objects.get(pk=held_account.pk)
    assert account.next_attempt_at is None
    assert account.first_synced_at is not None
