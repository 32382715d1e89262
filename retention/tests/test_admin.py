"""Operators' admin: read-only cleanup records, the rule dates on a user's
page, and deactivation from the user list."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from crm.models import Licence
from emailsync.models import MailAccount, Message
from emailsync.sync import sync_account
from retention.models import CleanupEvent, CleanupWarning, Rule
from tests.support.mail import make_raw

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture(autouse=True)
def site_time_zone(settings):
    settings.TIME_ZONE = "Europe/Madrid"


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "operator@example.test", "secret-op")


def admin_client(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def event(owner):
    return CleanupEvent.objects.create(
        user=owner, username="owner", rule=Rule.TRIAL_EXPIRED, applied_at=timezone.now(),
        mailbox_address="owner@example.test", messages_deleted=12, folders_deleted=3, accounts_deleted=1,
    )


@pytest.fixture
def warning(owner):
    return CleanupWarning.objects.create(
        user=owner, rule=Rule.INACTIVITY, applies_on=date(2027, 7, 10), sent_at=timezone.now(),
    )


@pytest.fixture
def account(owner, mailbox_user, connect_account, dovecot):
    account = connect_account(owner, *mailbox_user)
    dovecot.append(mailbox_user[0], "INBOX", [make_raw(subject=f"m{i}") for i in range(3)])
    sync_account(account.pk)
    return account


# --- Read-only cleanup records ---------------------------------------------


@pytest.mark.parametrize("name", ["cleanupevent", "cleanupwarning"])
def test_admin_cleanup_changelist_opens(operator, event, warning, name):
    response = admin_client(operator).get(reverse(f"admin:retention_{name}_changelist"))

    assert response.status_code == 200
    assert "owner" in response.content.decode()


@pytest.mark.parametrize("name", ["cleanupevent", "cleanupwarning"])
def test_admin_cleanup_add_forbidden(operator, name):
    response = admin_client(operator).get(reverse(f"admin:retention_{name}_add"))

    assert response.status_code == 403


def test_admin_cleanup_event_page_read_only(operator, event):
    client = admin_client(operator)

    page = client.get(reverse("admin:retention_cleanupevent_change", args=[event.pk]))
    posted = client.post(reverse("admin:retention_cleanupevent_change", args=[event.pk]),
                         {"messages_deleted": 0})
    deleted = client.post(reverse("admin:retention_cleanupevent_delete", args=[event.pk]), {"post": "yes"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert deleted.status_code == 403
    assert CleanupEvent.objects.get(pk=event.pk).messages_deleted == 12


def test_admin_cleanup_warning_cannot_be_deleted(operator, warning):
    response = admin_client(operator).post(
        reverse("admin:retention_cleanupwarning_delete", args=[warning.pk]), {"post": "yes"},
    )

    assert response.status_code == 403
    assert CleanupWarning.objects.filter(pk=warning.pk).exists()


# --- Rule dates on a user's page -------------------------------------------


def test_admin_user_page_shows_rule_dates(operator, owner, account):
    Licence.objects.create(user=owner, kind=Licence.Kind.TRIAL, expires_on=date(2030, 1, 31))
    connected_on = timezone.localdate(account.created_at)

    response = admin_client(operator).get(reverse("admin:auth_user_change", args=[owner.pk]))

    text = response.content.decode()
    assert "When each rule would apply" in text
    assert "Trial expired at least 1 month ago" in text
    assert "Feb. 28, 2030" in text
    assert "No email sent for 3 months and no interaction for 6 months" in text
    assert f"Mailbox connected: {connected_on:%b}" in text


def test_admin_user_page_shows_warning_sent(operator, owner, account):
    connected = timezone.localtime(account.created_at)
    CleanupWarning.objects.create(
        user=owner, rule=Rule.INACTIVITY, applies_on=(connected + timedelta(days=190)).date(),
        sent_at=connected + timedelta(days=1),
    )

    response = admin_client(operator).get(reverse("admin:auth_user_change", args=[owner.pk]))

    with translation.override("en"):
        sent_on = formats.date_format((connected + timedelta(days=1)).date())
    assert f"warning sent on {sent_on}" in response.content.decode()


def test_admin_user_page_ignores_warning_before_connection(operator, owner, account):
    connected = timezone.localtime(account.created_at)
    CleanupWarning.objects.create(
        user=owner, rule=Rule.INACTIVITY, applies_on=(connected + timedelta(days=190)).date(),
        sent_at=connected - timedelta(days=1),
    )

    response = admin_client(operator).get(reverse("admin:auth_user_change", args=[owner.pk]))

    assert "warning sent on" not in response.content.decode()


def test_admin_user_page_without_mailbox(operator, outsider):
    Licence.objects.create(user=outsider, kind=Licence.Kind.PAID, expires_on=date(2026, 1, 15))

    response = admin_client(operator).get(reverse("admin:auth_user_change", args=[outsider.pk]))

    text = response.content.decode()
    assert "no mailbox, so nothing to delete" in text
    assert "Mailbox connected: none, so no rule deletes anything" in text


def test_admin_user_page_acting_today(operator, owner, account):
    Licence.objects.create(user=owner, kind=Licence.Kind.PAID, expires_on=date(2026, 1, 15))
    CleanupWarning.objects.create(
        user=owner, rule=Rule.PAID_EXPIRED, applies_on=date(2026, 2, 15), sent_at=timezone.now(),
    )

    with time_machine.travel(datetime(2026, 2, 15, 12, tzinfo=MADRID), tick=True):
        response = admin_client(operator).get(reverse("admin:auth_user_change", args=[owner.pk]))

    assert "acts today" in response.content.decode()


def test_admin_user_add_page_opens(operator):
    response = admin_client(operator).get(reverse("admin:auth_user_add"))

    assert response.status_code == 200


# --- Deactivating from the user list ---------------------------------------


def post_action(client, users, **extra):
    return client.post(reverse("admin:auth_user_changelist"), {
        "action": "deactivate_user_mailboxes",
        ACTION_CHECKBOX_NAME: [user.pk for user in users],
        **extra,
    })


def test_admin_deactivate_action_asks_first(operator, owner, account):
    response = post_action(admin_client(operator), [owner])

    text = response.content.decode()
    assert response.status_code == 200
    assert account.email_address in text
    assert "<td>3</td>" in text
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_admin_deactivate_action_confirmed(operator, owner, account):
    response = post_action(admin_client(operator), [owner], confirmed="yes")

    assert response.status_code == 302
    assert MailAccount.objects.filter(pk=account.pk).count() == 0
    assert Message.objects.count() == 0


def test_admin_deactivate_action_without_mailbox(operator, outsider):
    response = post_action(admin_client(operator), [outsider], confirmed="yes")

    assert response.status_code == 302


def test_admin_deactivate_action_needs_permission(owner, account, django_user_model):
    staff = django_user_model.objects.create_user("staff", "staff@example.test", "secret", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))

    page = admin_client(staff).get(reverse("admin:auth_user_changelist"))
    post_action(admin_client(staff), [owner], confirmed="yes")

    assert "deactivate_user_mailboxes" not in page.content.decode()
    assert MailAccount.objects.filter(pk=account.pk).exists()


def test_admin_deactivate_action_with_permission(owner, account, django_user_model):
    staff = django_user_model.objects.create_user("staff", "staff@example.test", "secret", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "delete_mailaccount"]))

    post_action(admin_client(staff), [owner], confirmed="yes")

    assert MailAccount.objects.filter(pk=account.pk).count() == 0
