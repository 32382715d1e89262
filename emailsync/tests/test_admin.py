"""The operators' admin: what each kind of staff user may see and do."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models.signals import pre_save
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf

from conftest import add_mailbox_user
from emailsync import errors
from emailsync.key_rotation import encrypted_field_names
from crm.models import Lead
from emailsync.models import GroupSharingPolicy, MailAccount, Message, SharingExclusion, SyncFailure, SyncRun
from emailsync.sync import sync_account
from tests.support.faults import reject_raw_message
from tests.support.mail import make_raw

from .admin_helpers import (  # noqa: F401  (fixtures)
    INCOMING_PASSWORD, SMTP_PASSWORD, login, make_failure, make_folder, make_mailbox, operator, queued_syncs,
    secrets_of, superuser, viewer,
)
from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:emailsync_mailaccount_changelist")


def change_url(account):
    return reverse("admin:emailsync_mailaccount_change", args=[account.pk])


def run_action(client, action, accounts):
    return client.post(CHANGELIST, {
        "action": action, "_selected_action": [account.pk for account in accounts],
    }, follow=True)


# --- Mailbox list ---------------------------------------------------------


def test_account_list_shows_backlog_failures_and_error(client, superuser, owner):
    account = make_mailbox(owner, last_error_code=errors.AUTH_FAILED)
    inbox = make_folder(account, backlog=7)
    make_folder(account, "Sent", backlog=5)
    make_failure(account, inbox, uid=1)
    make_failure(account, inbox, uid=2, resolved_at=timezone.now())

    response = login(client, superuser).get(CHANGELIST)

    row = response.context["cl"].result_list[0]
    assert row.backlog_total == 12
    assert row.failed_total == 1
    assert "rejected the username or password" in response.content.decode()


def test_account_list_shows_pause_reason_in_plain_words(client, superuser, owner):
    make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.APP_PASSWORD_NEEDED)

    response = login(client, superuser).get(CHANGELIST)

    assert "requires an app-specific password" in response.content.decode()


@pytest.mark.parametrize(("query", "expected"), [
    ({"status__exact": "paused"}, ["paused@crm.example"]),
    ({"error": "yes"}, ["failing@crm.example"]),
    ({"failed": "yes"}, ["active@crm.example"]),
    ({"provider": "gmail"}, ["failing@crm.example"]),
    ({"incoming_protocol__exact": "pop3"}, ["paused@crm.example"]),
    ({"q": "failing"}, ["failing@crm.example"]),
])
def test_account_list_filters(client, superuser, django_user_model, query, expected):
    users = [django_user_model.objects.create_user(name) for name in ("active", "paused", "failing")]
    active = make_mailbox(users[0], email_address="active@crm.example")
    make_failure(active, make_folder(active), uid=3)
    make_mailbox(users[1], email_address="paused@crm.example", status="paused", incoming_protocol="pop3")
    make_mailbox(users[2], email_address="failing@crm.example", last_error_code="timed_out", provider="gmail")

    response = login(client, superuser).get(CHANGELIST, query)

    assert [account.email_address for account in response.context["cl"].result_list] == expected


def test_account_list_denied_without_permission(client, django_user_model):
    staff = django_user_model.objects.create_user("nobody", is_staff=True)

    response = login(client, staff).get(CHANGELIST)

    assert response.status_code == 403


# --- Mailbox actions ------------------------------------------------------


def test_sync_now_queues_active_accounts(client, operator, owner, teammate):
    active = make_mailbox(owner)
    paused = make_mailbox(teammate, status=MailAccount.Status.PAUSED)

    response = run_action(login(client, operator), "sync_now", [active, paused])

    assert queued_syncs() == [active.pk]
    assert "resume them first" in response.content.decode() or "resume it first" in response.content.decode()


def test_pause_action_pauses_with_operator_reason(client, operator, owner):
    account = make_mailbox(owner)

    run_action(login(client, operator), "pause_sync", [account])

    account.refresh_from_db()
    assert account.status == MailAccount.Status.PAUSED
    assert account.pause_reason == errors.PAUSED_BY_OPERATOR


def test_resume_action_clears_reason_and_counters(client, operator, owner):
    account = make_mailbox(
        owner, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED, consecutive_auth_failures=3,
    )

    run_action(login(client, operator), "resume_sync", [account])

    account.refresh_from_db()
    assert account.status == MailAccount.Status.ACTIVE
    assert account.pause_reason == ""
    assert account.consecutive_auth_failures == 0


def test_viewer_has_no_actions(client, viewer, owner):
    account = make_mailbox(owner)

    response = run_action(login(client, viewer), "pause_sync", [account])

    account.refresh_from_db()
    assert account.status == MailAccount.Status.ACTIVE
    assert response.context["action_form"] is None


@pytest.mark.parametrize(("button", "status", "expected_status"), [
    ("sync", "active", "active"),
    ("pause", "active", "paused"),
    ("resume", "paused", "active"),
])
def test_change_page_buttons_run_actions(client, operator, owner, button, status, expected_status):
    account = make_mailbox(owner, status=status)
    url = reverse(f"admin:emailsync_mailaccount_{button}", args=[account.pk])

    response = login(client, operator).post(url)

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.status == expected_status


def test_change_page_button_queues_sync(client, operator, owner):
    account = make_mailbox(owner)

    login(client, operator).post(reverse("admin:emailsync_mailaccount_sync", args=[account.pk]))

    assert queued_syncs() == [account.pk]


def test_change_page_button_refuses_get(client, operator, owner):
    account = make_mailbox(owner)

    response = login(client, operator).get(reverse("admin:emailsync_mailaccount_pause", args=[account.pk]))

    account.refresh_from_db()
    assert response.status_code == 405
    assert account.status == MailAccount.Status.ACTIVE


def test_change_page_button_denied_to_viewer(client, viewer, owner):
    account = make_mailbox(owner)

    response = login(client, viewer).post(reverse("admin:emailsync_mailaccount_pause", args=[account.pk]))

    account.refresh_from_db()
    assert response.status_code == 403
    assert account.status == MailAccount.Status.ACTIVE


def test_change_page_shows_buttons_to_operator_only(client, operator, viewer, owner):
    account = make_mailbox(owner)

    as_operator = login(client, operator).get(change_url(account)).content.decode()
    as_viewer = login(client, viewer).get(change_url(account)).content.decode()

    pause_url = reverse("admin:emailsync_mailaccount_pause", args=[account.pk])
    assert pause_url in as_operator
    assert pause_url not in as_viewer


# --- Mailbox form ---------------------------------------------------------


def change_form_data(account, **fields):
    data = {
        "email_address": account.email_address, "provider": account.provider,
        "incoming_protocol": account.incoming_protocol, "incoming_host": account.incoming_host,
        "incoming_port": account.incoming_port, "incoming_security": account.incoming_security,
        "incoming_login": account.incoming_login, "auth_method": account.auth_method,
        "smtp_host": account.smtp_host, "smtp_port": account.smtp_port, "smtp_security": account.smtp_security,
        "smtp_login": account.smtp_login, "sharing_mode": account.sharing_mode,
        "sharing_level": account.sharing_level, "new_incoming_password": "", "new_smtp_password": "",
    }
    if account.smtp_same_credentials:
        data["smtp_same_credentials"] = "on"
    for prefix in ("from_addresses", "sharing_exclusions", "folders"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(fields)
    return data


def test_change_form_keeps_passwords_when_left_empty(client, operator, owner):
    account = make_mailbox(owner)
    before = secrets_of(account)

    response = login(client, operator).post(change_url(account), change_form_data(account, sync_window_days=30))

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.sync_window_days == 30
    assert secrets_of(account) == before


def test_change_form_encrypts_new_passwords(client, operator, owner):
    account = make_mailbox(owner)
    old_ciphertext = account.incoming_password_encrypted

    login(client, operator).post(change_url(account), change_form_data(
        account, new_incoming_password="new-in-pass", new_smtp_password="new-out-pass",
    ))

    account.refresh_from_db()
    assert account.get_incoming_password() == "new-in-pass"
    assert account.get_smtp_password() == "new-out-pass"
    assert account.incoming_password_encrypted != old_ciphertext


def test_change_form_new_password_resumes_login_pause(client, operator, owner):
    account = make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED)

    login(client, operator).post(change_url(account), change_form_data(account, new_incoming_password="fixed"))

    account.refresh_from_db()
    assert account.status == MailAccount.Status.ACTIVE


def test_change_form_new_password_keeps_operator_pause(client, operator, owner):
    account = make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.PAUSED_BY_OPERATOR)

    login(client, operator).post(change_url(account), change_form_data(account, new_incoming_password="fixed"))

    account.refresh_from_db()
    assert account.status == MailAccount.Status.PAUSED


def test_change_form_rejects_plaintext_when_not_allowed(client, operator, owner, settings):
    settings.EMAILSYNC_ALLOW_PLAINTEXT = False
    account = make_mailbox(owner)

    response = login(client, operator).post(change_url(account), change_form_data(account, incoming_security="plain"))

    account.refresh_from_db()
    assert response.status_code == 200
    assert "EMAILSYNC_ALLOW_PLAINTEXT" in str(response.context["adminform"].form.errors["incoming_security"])
    assert account.incoming_security == "ssl"


def test_change_form_status_is_read_only(client, operator, owner):
    account = make_mailbox(owner)

    login(client, operator).post(change_url(account), change_form_data(account, status="paused", owner=operator.pk))

    account.refresh_from_db()
    assert account.status == MailAccount.Status.ACTIVE
    assert account.owner == owner


def test_change_page_lists_folders_read_only(client, viewer, owner):
    account = make_mailbox(owner)
    make_folder(account, "Archivo/2025", backlog=3, last_error_code=errors.FOLDER_NOT_FOUND)

    page = login(client, viewer).get(change_url(account)).content.decode()

    assert "Archivo/2025" in page
    assert "no longer exists on the server" in page
    assert 'name="folders-0-name"' not in page


def test_add_and_delete_are_not_offered(client, superuser, owner):
    account = make_mailbox(owner)
    client = login(client, superuser)

    add = client.get(reverse("admin:emailsync_mailaccount_add"))
    delete = client.get(reverse("admin:emailsync_mailaccount_delete", args=[account.pk]))

    assert add.status_code == 403
    assert delete.status_code == 403


# --- Secrets --------------------------------------------------------------


def admin_pages(account):
    """Return the URL of every admin page that could show the account or its rows."""
    pages = [reverse("admin:index"), reverse("health")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:%s_%s_changelist" % info))
        if model_admin.has_add_permission is not None:
            pages.append(reverse("admin:%s_%s_add" % info))
    pages += [
        change_url(account),
        reverse("admin:emailsync_mailaccount_history", args=[account.pk]),
        reverse("admin:auth_user_change", args=[account.owner_id]),
    ]
    return pages


def test_no_secret_on_any_admin_page(client, superuser, owner):
    account = make_mailbox(owner, last_error_code=errors.AUTH_FAILED, last_error_detail="[AUTHENTICATIONFAILED]")
    make_folder(account)
    client = login(client, superuser)
    # An edit through the form leaves a history entry to render too.
    client.post(change_url(account), change_form_data(account, new_incoming_password=INCOMING_PASSWORD))
    secrets = secrets_of(account)

    for url in admin_pages(account):
        page = client.get(url).content.decode()
        for secret in secrets:
            assert secret not in page, f"a secret appears on {url}"


def test_change_page_says_whether_a_password_is_stored(client, viewer, owner):
    account = make_mailbox(owner)

    page = login(client, viewer).get(change_url(account)).content.decode()

    assert "Stored (encrypted)" in page
    assert SMTP_PASSWORD not in page


def secret_lookup_paths(model, depth=3, prefix="", visited=()):
    """Yield each lookup path from `model` to an encrypted field through at most `depth` relations."""
    for field in model._meta.get_fields():
        path = f"{prefix}{field.name}"
        if field.name.endswith("_encrypted"):
            yield path
        elif field.related_model is not None and field.related_model not in visited and depth > 0:
            yield from secret_lookup_paths(field.related_model, depth - 1, f"{path}__", (*visited, model))


@pytest.mark.parametrize("field", encrypted_field_names())
@pytest.mark.parametrize(("lookup", "value"), [("", "gAAAA"), ("__startswith", "g"), ("__gt", ""), ("__isnull", "0")])
@pytest.mark.parametrize("user_fixture", ["superuser", "operator"])
def test_secret_lookup_rejected(client, request, owner, field, lookup, value, user_fixture):
    make_mailbox(owner)

    response = login(client, request.getfixturevalue(user_fixture)).get(CHANGELIST, {f"{field}{lookup}": value})

    assert response.status_code == 400


def test_no_admin_allows_secret_lookup(rf, superuser):
    request = rf.get("/")
    request.user = superuser
    checked = 0

    for model, model_admin in admin.site._registry.items():
        for path in secret_lookup_paths(model):
            lookup = f"{path}__startswith"
            assert not model_admin.lookup_allowed(lookup, "g", request), f"{type(model_admin).__name__}: {lookup}"
            checked += 1

    assert checked >= len(encrypted_field_names())


# --- Failed messages ------------------------------------------------------


def test_retry_makes_failures_due_and_queues_sync(client, operator, owner):
    account = make_mailbox(owner)
    failure = make_failure(account, make_folder(account), uid=9, next_retry_at=timezone.now() + timedelta(days=1))

    login(client, operator).post(reverse("admin:emailsync_syncfailure_changelist"), {
        "action": "retry_failures", "_selected_action": [failure.pk],
    })

    failure.refresh_from_db()
    assert failure.next_retry_at <= timezone.now()
    assert queued_syncs() == [account.pk]


def test_retry_not_offered_to_viewer(client, viewer, owner):
    account = make_mailbox(owner)
    failure = make_failure(account, make_folder(account), uid=9, next_retry_at=timezone.now() + timedelta(days=1))

    login(client, viewer).post(reverse("admin:emailsync_syncfailure_changelist"), {
        "action": "retry_failures", "_selected_action": [failure.pk],
    })

    assert SyncFailure.objects.get(pk=failure.pk).next_retry_at == failure.next_retry_at
    assert queued_syncs() == []


@pytest.mark.parametrize(("user_fixture", "shows_detail"), [("superuser", True), ("operator", False)])
def test_failure_detail_shown_to_superuser_only(client, request, owner, user_fixture, shows_detail):
    account = make_mailbox(owner)
    failure = make_failure(account, make_folder(account), uid=9, detail="Failing row contains (Asunto secreto)")
    user = request.getfixturevalue(user_fixture)

    page = login(client, user).get(reverse("admin:emailsync_syncfailure_change", args=[failure.pk])).content.decode()

    assert ("Asunto secreto" in page) is shows_detail
    assert "could not be saved in the database" in page


def test_failure_detail_lookup_refused_to_operator(client, operator, owner):
    account = make_mailbox(owner)
    make_failure(account, make_folder(account), uid=9)

    response = login(client, operator).get(reverse("admin:emailsync_syncfailure_changelist"), {"detail__contains": "x"})

    assert response.status_code == 400


def test_failure_list_filters_unresolved(client, viewer, owner):
    account = make_mailbox(owner)
    folder = make_folder(account)
    failing = make_failure(account, folder, uid=1)
    make_failure(account, folder, uid=2, resolved_at=timezone.now())

    response = login(client, viewer).get(reverse("admin:emailsync_syncfailure_changelist"), {"resolved": "no"})

    assert list(response.context["cl"].result_list) == [failing]


# --- Sharing --------------------------------------------------------------


def sharing_takeover_data(account, operator):
    """Return a change form that shares the mailbox with `operator` and deletes its exclusions."""
    exclusions = list(account.sharing_exclusions.order_by("pk"))
    data = change_form_data(account, sharing_mode="custom", sharing_level="full", shared_users=[operator.pk])
    data.update({
        "sharing_exclusions-TOTAL_FORMS": str(len(exclusions)),
        "sharing_exclusions-INITIAL_FORMS": str(len(exclusions)),
    })
    for index, exclusion in enumerate(exclusions):
        data.update({
            f"sharing_exclusions-{index}-id": exclusion.pk, f"sharing_exclusions-{index}-account": account.pk,
            f"sharing_exclusions-{index}-value": exclusion.value, f"sharing_exclusions-{index}-DELETE": "on",
        })
    return data


def test_operator_cannot_share_mailbox_with_self(client, operator, owner):
    account = make_mailbox(owner)
    SharingExclusion.objects.create(account=account, value="acme.example")
    message = store_raw(account, raw_with_attachment(
        "Oferta", "lucia@acme.example", account.email_address, "Precio confidencial", message_id="<a-1@acme.example>",
    ))
    Lead.objects.create(owner=operator, last_name="Acme", email="lucia@acme.example")
    client = login(client, operator)

    response = client.post(change_url(account), sharing_takeover_data(account, operator))
    detail = client.get(reverse("emailsync:message_detail", args=[message.pk]))

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.sharing_mode == "private"
    assert list(account.shared_users.all()) == []
    assert list(account.sharing_exclusions.values_list("value", flat=True)) == ["acme.example"]
    assert "Precio confidencial" not in detail.content.decode()


def test_operator_sees_sharing_read_only(client, operator, owner):
    account = make_mailbox(owner, sharing_mode="public")
    SharingExclusion.objects.create(account=account, value="acme.example")

    page = login(client, operator).get(change_url(account)).content.decode()

    for field in ("sharing_mode", "sharing_level", "shared_users", "shared_groups"):
        assert f'name="{field}"' not in page
    assert 'name="sharing_exclusions-0-value"' not in page
    assert 'name="sharing_exclusions-0-DELETE"' not in page
    assert "acme.example" in page
    assert "Public: everyone who can see the record" in page


def test_superuser_changes_sharing(client, superuser, operator, owner):
    account = make_mailbox(owner)
    SharingExclusion.objects.create(account=account, value="acme.example")

    response = login(client, superuser).post(change_url(account), sharing_takeover_data(account, operator))

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.sharing_mode == "custom"
    assert list(account.shared_users.all()) == [operator]
    assert not account.sharing_exclusions.exists()


# --- Sync history and sharing policies ------------------------------------


def test_sync_run_list_is_read_only(client, operator, owner):
    account = make_mailbox(owner)
    run = SyncRun.objects.create(
        account=account, worker="web1:42:abc", started_at=timezone.now(), finished_at=timezone.now(),
        outcome=SyncRun.Outcome.ERROR, error_code=errors.TIMED_OUT,
    )
    client = login(client, operator)

    listing = client.get(reverse("admin:emailsync_syncrun_changelist"), {"account__id__exact": account.pk})
    change = client.post(reverse("admin:emailsync_syncrun_change", args=[run.pk]), {"outcome": "ok"})

    assert list(listing.context["cl"].result_list) == [run]
    assert "did not answer on port" in listing.content.decode()
    assert change.status_code == 403
    assert SyncRun.objects.get(pk=run.pk).outcome == SyncRun.Outcome.ERROR


def test_group_sharing_policy_added_by_superuser(client, superuser):
    group = Group.objects.create(name="Ventas")

    response = login(client, superuser).post(reverse("admin:emailsync_groupsharingpolicy_add"), {
        "group": group.pk, "sharing_mode": "public", "sharing_level": "metadata", "priority": 5,
    })

    assert response.status_code == 302
    assert GroupSharingPolicy.objects.get(group=group).sharing_level == "metadata"


def test_group_sharing_policy_add_denied_to_viewer(client, viewer):
    response = login(client, viewer).get(reverse("admin:emailsync_groupsharingpolicy_add"))

    assert response.status_code == 403


def test_message_str_is_not_the_subject():
    assert str(Message(pk=5, subject="Contrato confidencial")) == "#5"


def test_retry_stores_failed_message_from_real_server(client, operator, owner, dovecot, connect_account, monkeypatch):
    login_name, password = add_mailbox_user(dovecot)
    account = connect_account(owner, login_name, password)
    dovecot.append(login_name, "INBOX", [make_raw(subject="fine"), make_raw(subject="poison", body="POISON")])

    with connection.execute_wrapper(reject_raw_message(b"POISON")):
        sync_account(account.pk)
    failure = SyncFailure.objects.get(account=account)
    # The task cluster runs queued tasks in this process, as a worker would.
    monkeypatch.setattr(Conf, "SYNC", True)

    login(client, operator).post(reverse("admin:emailsync_syncfailure_changelist"), {
        "action": "retry_failures", "_selected_action": [failure.pk],
    })

    failure.refresh_from_db()
    assert failure.resolved_at is not None
    assert sorted(Message.objects.filter(account=account).values_list("subject", flat=True)) == ["fine", "poison"]


def test_change_form_keeps_state_written_during_save(client, operator, owner):
    # A sync that pauses the account while the form is saved keeps its pause.
    account = make_mailbox(owner)

    def sync_pauses_meanwhile(sender, instance, **kwargs):
        MailAccount.objects.filter(pk=instance.pk).update(
            status=MailAccount.Status.PAUSED, pause_reason=errors.AUTH_FAILED, last_error_code=errors.AUTH_FAILED,
        )

    pre_save.connect(sync_pauses_meanwhile, sender=MailAccount)
    try:
        login(client, operator).post(change_url(account), change_form_data(account, sync_window_days=30))
    finally:
        pre_save.disconnect(sync_pauses_meanwhile, sender=MailAccount)

    account.refresh_from_db()
    assert account.sync_window_days == 30
    assert account.status == MailAccount.Status.PAUSED
    assert account.last_error_code == errors.AUTH_FAILED


def test_resume_skips_account_being_deactivated(client, operator, owner):
    account = make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.DEACTIVATING)

    response = run_action(login(client, operator), "resume_sync", [account])

    account.refresh_from_db()
    assert account.status == MailAccount.Status.PAUSED
    assert "being deactivated" in response.content.decode()


def test_change_page_hides_resume_while_deactivating(client, operator, owner):
    account = make_mailbox(owner, status=MailAccount.Status.PAUSED, pause_reason=errors.DEACTIVATING)

    page = login(client, operator).get(change_url(account)).content.decode()

    assert reverse("admin:emailsync_mailaccount_resume", args=[account.pk]) not in page


def test_deactivate_action_offered_with_delete_permission(client, operator, superuser, owner):
    make_mailbox(owner)

    as_operator = login(client, operator).get(CHANGELIST).content.decode()
    as_superuser = login(client, superuser).get(CHANGELIST).content.decode()

    assert 'value="deactivate_mailboxes"' not in as_operator
    assert 'value="deactivate_mailboxes"' in as_superuser


def test_oauth_account_page_has_no_password_fields(client, operator, owner):
    account = make_mailbox(owner, auth_method=MailAccount.AuthMethod.OAUTH2)

    page = login(client, operator).get(change_url(account)).content.decode()

    assert 'name="new_incoming_password"' not in page
    assert "Provider sign-in" in page
    assert "Stored (encrypted)" in page
