"""The page of a connected mailbox: status, progress endpoint, Sync now."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from emailsync import errors, owner_status as status
from emailsync.accounts import record_error
from emailsync.errors import MailError
from emailsync.models import MailAccount, SyncFailure
from emailsync.owner_status import mailbox_status
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db

MAILBOX_URL = reverse("emailsync:mailbox")
PROGRESS_URL = reverse("emailsync:progress")
SYNC_NOW_URL = reverse("emailsync:sync_now")


def update(account, **fields):
    MailAccount.objects.filter(pk=account.pk).update(**fields)
    return MailAccount.objects.get(pk=account.pk)


def test_settings_opens_mailbox_page_when_connected(owner_client, account):
    response = owner_client.get(reverse("emailsync:settings"))

    assert response.url == MAILBOX_URL


def test_mailbox_page_shows_address_and_actions(owner_client, account):
    content = owner_client.get(MAILBOX_URL).content.decode()

    assert account.email_address in content
    assert f'action="{SYNC_NOW_URL}"' in content
    assert f'href="{reverse("emailsync:server_details")}"' in content


def test_mailbox_page_links_to_deactivate(owner_client, account):
    content = owner_client.get(MAILBOX_URL).content.decode()

    assert f'href="{reverse("emailsync:deactivate", args=[account.pk])}"' in content


def test_mailbox_page_loads_progress_script(owner_client, account):
    content = owner_client.get(MAILBOX_URL).content.decode()

    assert 'src="/static/emailsync/progress.js"' in content
    assert f'data-progress-url="{PROGRESS_URL}"' in content
    assert "<script>" not in content


def test_progress_returns_json_without_cache(owner_client, account):
    update(account, lease_owner="worker-1", lease_expires_at=timezone.now() + timedelta(minutes=5),
           progress_done=5, progress_total=20, sync_requested_at=timezone.now())

    response = owner_client.get(PROGRESS_URL)

    data = response.json()
    assert response["Cache-Control"] == "no-store"
    assert (data["state"], data["done"], data["total"], data["percent"]) == ("syncing", 5, 20, 25)
    assert data["progress_text"] == "5 of 20 messages"
    assert data["is_changing"] is True


def test_progress_lists_folders(owner_client, account, mailbox_user, dovecot, inline_tasks):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw()])
    owner_client.post(SYNC_NOW_URL)

    folders = owner_client.get(PROGRESS_URL).json()["folders"]

    assert [folder["name"] for folder in folders] == ["INBOX", "Sent"]
    assert all(folder["last_synced"] for folder in folders)


def test_progress_needs_get(owner_client, account):
    assert owner_client.post(PROGRESS_URL).status_code == 405


def test_sync_now_runs_sync(owner_client, account, mailbox_user, dovecot, inline_tasks):
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject="Nuevo")])

    response = owner_client.post(SYNC_NOW_URL)

    assert response.url == MAILBOX_URL
    assert account.messages.filter(subject="Nuevo").exists()


def test_sync_now_needs_post(owner_client, account):
    assert owner_client.get(SYNC_NOW_URL).status_code == 405


def test_sync_now_paused_account_not_queued(owner_client, account):
    update(account, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED)

    response = owner_client.post(SYNC_NOW_URL, follow=True)

    assert "is paused" in response.content.decode()
    assert MailAccount.objects.get(pk=account.pk).sync_requested_at is None


def test_sync_now_twice_queues_once(owner_client, account):
    requested = timezone.now() - timedelta(seconds=30)
    update(account, sync_requested_at=requested)

    owner_client.post(SYNC_NOW_URL)

    assert MailAccount.objects.get(pk=account.pk).sync_requested_at == requested


def test_sync_now_requeues_lost_request(owner_client, account, inline_tasks):
    requested = timezone.now() - timedelta(minutes=30)
    update(account, sync_requested_at=requested)

    owner_client.post(SYNC_NOW_URL)

    assert MailAccount.objects.get(pk=account.pk).sync_requested_at > requested


# --- Status wording --------------------------------------------------------------


def test_status_setup_before_first_request(account):
    assert mailbox_status(account).state == status.SETUP


def test_status_queued_after_request(account):
    account = update(account, sync_requested_at=timezone.now())

    assert mailbox_status(account).state == status.QUEUED


def test_status_syncing_without_total(account):
    account = update(account, lease_owner="w", lease_expires_at=timezone.now() + timedelta(minutes=1),
                     sync_requested_at=timezone.now())

    result = mailbox_status(account)

    assert result.state == status.SYNCING
    assert result.percent is None


def test_status_expired_lease_not_syncing(account):
    account = update(account, lease_owner="w", lease_expires_at=timezone.now() - timedelta(minutes=1),
                     sync_requested_at=timezone.now() - timedelta(hours=1),
                     sync_started_at=timezone.now() - timedelta(minutes=50), first_synced_at=timezone.now())

    assert mailbox_status(account).state == status.UP_TO_DATE


def test_status_paused_says_why_in_plain_words(account):
    for _attempt in range(3):
        record_error(account, MailError(errors.AUTH_FAILED, "NO [AUTHENTICATIONFAILED]"))
    account = MailAccount.objects.get(pk=account.pk)

    result = mailbox_status(account)

    assert result.state == status.PAUSED
    assert result.message == str(errors.message_for(errors.AUTH_FAILED))


def test_status_problem_shows_plain_error_not_detail(account):
    account = update(account, sync_requested_at=timezone.now() - timedelta(hours=1),
                     sync_started_at=timezone.now(), last_error_code=errors.TIMED_OUT,
                     last_error_detail="socket.timeout: timed out")

    result = mailbox_status(account)

    assert result.state == status.PROBLEM
    assert "socket.timeout" not in result.last_error
    assert account.incoming_host in result.last_error


def test_status_counts_unresolved_failures(account):
    SyncFailure.objects.create(account=account, reason_code="parse", uid=1)
    SyncFailure.objects.create(account=account, reason_code="parse", uid=2, resolved_at=timezone.now())

    assert mailbox_status(account).failed_count == 1


def test_status_percent_capped_at_hundred(account):
    account = update(account, progress_done=12, progress_total=10)

    assert mailbox_status(account).percent == 100
