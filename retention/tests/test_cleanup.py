"""The cleanup policy applied to real mailboxes: warnings, deletion, emails,
the dry run and concurrent runs."""

import threading
from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from crm.models import Licence, Profile
from emailsync import errors
from emailsync.models import MailAccount, Message, Participant, RawMessage, UserActivity
from emailsync.sync import sync_account
from retention import cleanup, policy, schedules, tasks
from retention.models import CleanupEvent, CleanupWarning, Rule
from tests.support import threads
from tests.support.crm_mail import store_crm_sent
from tests.support.dovecot import free_port
from tests.support.mail import mail_to, make_raw

MADRID = ZoneInfo("Europe/Madrid")
START = datetime(2027, 1, 10, 12, 0, tzinfo=MADRID)
# A trial that expired on 15 January is cleaned up from 15 February.
TRIAL_ENDS = date(2027, 1, 15)
RULE_DAY = date(2027, 2, 15)
WARNING_DAY = date(2027, 2, 8)
SUBJECTS = ["quote for march", "meeting notes", "invoice 42"]
NAV_ES = "Configuración > Canales > Correo electrónico > Configuración de correo electrónico"


@pytest.fixture(autouse=True)
def site_time_zone(settings):
    settings.TIME_ZONE = "Europe/Madrid"


@pytest.fixture
def clock():
    """Start every test on START; tests move the clock forward to later days."""
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def fill_mailbox(dovecot, login, account):
    """Put received and sent mail on the server, sync it, and return the CRM-sent message."""
    own = account.email_address
    dovecot.append(login, "INBOX", [
        make_raw(subject=subject, sender="ana@example.com", to=own, cc="carol@example.com")
        for subject in SUBJECTS
    ])
    dovecot.append(login, "Sent", [make_raw(subject="reply", sender=own, to="ana@example.com")])
    crm_sent = store_crm_sent(account, make_raw(subject="sent from the CRM", sender=own, to="ana@example.com"))
    sync_account(account.pk)
    return crm_sent


@pytest.fixture
def owner_account(clock, owner, mailbox_user, connect_account, dovecot, mailoutbox):
    account = connect_account(owner, *mailbox_user)
    fill_mailbox(dovecot, mailbox_user[0], account)
    Licence.objects.create(user=owner, kind=Licence.Kind.TRIAL, expires_on=TRIAL_ENDS)
    mailoutbox.clear()
    return account


@pytest.fixture
def idle_account(clock, owner, mailbox_user, connect_account, dovecot):
    """A mailbox connected on 10 January whose owner never sends nor opens mail.

    The inactivity rule applies to it from 10 July.
    """
    account = connect_account(owner, *mailbox_user)
    fill_mailbox(dovecot, mailbox_user[0], account)
    return account


def move_to(clock, day, hour=12):
    clock.move_to(datetime(day.year, day.month, day.day, hour, 0, tzinfo=MADRID))


def run_policy(*arguments):
    output = StringIO()
    call_command("apply_cleanup_policy", *arguments, stdout=output)
    return output.getvalue()


def row_counts():
    """Count the rows of every model, so a test can see that nothing changed."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def warn_and_reach_rule_day(clock):
    move_to(clock, WARNING_DAY)
    run_policy("--apply")
    move_to(clock, RULE_DAY)


# --- On the right day -----------------------------------------------------


@pytest.mark.django_db
def test_cleanup_nothing_eight_days_before(owner_account, clock, mailoutbox):
    move_to(clock, WARNING_DAY - timedelta(days=1))

    run_policy("--apply")

    assert mailoutbox == []
    assert CleanupWarning.objects.count() == 0
    assert MailAccount.objects.filter(pk=owner_account.pk).exists()


@pytest.mark.django_db
def test_cleanup_warns_seven_days_before(owner_account, clock, owner, mailoutbox):
    move_to(clock, WARNING_DAY)

    run_policy("--apply")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [owner.email]
    warning = CleanupWarning.objects.get()
    assert (warning.user, warning.rule, warning.applies_on) == (owner, Rule.TRIAL_EXPIRED, RULE_DAY)
    assert MailAccount.objects.filter(pk=owner_account.pk, status=MailAccount.Status.ACTIVE).exists()


@pytest.mark.django_db
def test_cleanup_warning_sent_once(owner_account, clock, mailoutbox):
    move_to(clock, WARNING_DAY)
    run_policy("--apply")

    for offset in range(1, 7):
        move_to(clock, WARNING_DAY + timedelta(days=offset))
        run_policy("--apply")

    assert len(mailoutbox) == 1
    assert CleanupWarning.objects.count() == 1
    assert MailAccount.objects.filter(pk=owner_account.pk).exists()


@pytest.mark.django_db
def test_cleanup_acts_on_rule_day(owner_account, clock, owner):
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    assert MailAccount.objects.filter(owner=owner).count() == 0
    event = CleanupEvent.objects.get()
    assert event.rule == Rule.TRIAL_EXPIRED
    assert policy.local_date(event.applied_at) == RULE_DAY


@pytest.mark.django_db
def test_cleanup_inactivity_reset_by_interaction(idle_account, clock, owner):
    move_to(clock, date(2027, 7, 3))
    run_policy("--apply")
    UserActivity.objects.create(user=owner, last_interaction_at=datetime(2027, 7, 5, 9, tzinfo=MADRID))

    move_to(clock, date(2027, 7, 10))
    run_policy("--apply")

    assert CleanupWarning.objects.get().rule == Rule.INACTIVITY
    assert MailAccount.objects.filter(pk=idle_account.pk).exists()
    assert CleanupEvent.objects.count() == 0


@pytest.mark.django_db
def test_cleanup_inactivity_applies_after_warning(idle_account, clock):
    move_to(clock, date(2027, 7, 3))
    run_policy("--apply")

    move_to(clock, date(2027, 7, 10))
    run_policy("--apply")

    assert CleanupEvent.objects.get().rule == Rule.INACTIVITY
    assert MailAccount.objects.filter(pk=idle_account.pk).count() == 0


@pytest.mark.django_db
def test_cleanup_renewed_licence_keeps_mailbox(owner_account, clock, owner):
    move_to(clock, WARNING_DAY)
    run_policy("--apply")
    Licence.objects.filter(user=owner).update(kind=Licence.Kind.PAID, expires_on=date(2028, 1, 15))

    move_to(clock, RULE_DAY)
    run_policy("--apply")

    assert MailAccount.objects.filter(pk=owner_account.pk).exists()
    assert CleanupEvent.objects.count() == 0


@pytest.mark.django_db
def test_cleanup_without_warning_waits_a_week(owner_account, clock, mailoutbox):
    # The daily run never ran in the week before the rule day.
    move_to(clock, RULE_DAY)
    run_policy("--apply")
    warning = CleanupWarning.objects.get()

    move_to(clock, RULE_DAY + timedelta(days=6))
    run_policy("--apply")
    kept = MailAccount.objects.filter(pk=owner_account.pk).exists()
    move_to(clock, RULE_DAY + timedelta(days=7))
    run_policy("--apply")

    assert warning.applies_on == RULE_DAY + timedelta(days=7)
    assert kept
    assert MailAccount.objects.filter(pk=owner_account.pk).count() == 0


@pytest.mark.django_db
def test_cleanup_reconnected_mailbox_gets_new_warning(owner_account, clock, owner, mailbox_user,
                                                      connect_account):
    warn_and_reach_rule_day(clock)
    run_policy("--apply")
    move_to(clock, RULE_DAY + timedelta(days=1))
    again = connect_account(owner, *mailbox_user)
    sync_account(again.pk)

    run_policy("--apply")

    assert MailAccount.objects.filter(pk=again.pk).exists()
    assert CleanupWarning.objects.latest("sent_at").applies_on == RULE_DAY + timedelta(days=8)
    assert Message.objects.filter(account=again).count() == 5


@pytest.mark.django_db
def test_cleanup_user_without_mailbox_untouched(clock, outsider, mailoutbox):
    Licence.objects.create(user=outsider, kind=Licence.Kind.TRIAL, expires_on=date(2026, 1, 1))
    before = row_counts()

    output = run_policy("--apply", "--user", "outsider")

    assert "outsider: no connected mailbox" in output
    assert row_counts() == before
    assert mailoutbox == []


# --- What is deleted and what stays ---------------------------------------


@pytest.mark.django_db
def test_cleanup_deletes_synced_mail_and_password(owner_account, clock, owner):
    crm_ids = list(Message.objects.filter(origin=Message.Origin.CRM).values_list("pk", flat=True))
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    assert Message.objects.filter(owner=owner, origin=Message.Origin.SYNC).count() == 0
    assert RawMessage.objects.exclude(message_id__in=crm_ids).count() == 0
    assert Participant.objects.filter(owner=owner).exclude(message_id__in=crm_ids).count() == 0
    assert MailAccount.objects.filter(owner=owner).count() == 0
    assert MailAccount.objects.exclude(incoming_password_encrypted="").count() == 0


@pytest.mark.django_db
def test_cleanup_keeps_crm_sent_messages(owner_account, clock, owner):
    crm_sent = Message.objects.get(origin=Message.Origin.CRM)
    participants = sorted(crm_sent.participants.values_list("role", "address"))
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    kept = Message.objects.get(pk=crm_sent.pk)
    assert kept.account is None
    assert sorted(kept.participants.values_list("role", "address")) == participants


@pytest.mark.django_db
def test_cleanup_leaves_other_mailboxes(owner_account, clock, teammate, mailbox_user, connect_account,
                                        dovecot):
    other_login = f"{mailbox_user[0]}-other"
    dovecot.add_user(other_login, "other-pw")
    other = connect_account(teammate, other_login, "other-pw")
    dovecot.append(other_login, "INBOX", [make_raw(subject="teammate's")])
    sync_account(other.pk)
    UserActivity.objects.create(user=teammate, last_sent_at=START, last_interaction_at=START)
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    assert MailAccount.objects.filter(pk=other.pk).exists()
    assert Message.objects.filter(account=other).count() == 1


@pytest.mark.django_db
def test_cleanup_event_records_counts(owner_account, clock, owner):
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    event = CleanupEvent.objects.get()
    assert event.user == owner
    assert event.username == "owner"
    assert event.mailbox_address == owner_account.email_address
    assert event.messages_deleted == 4
    assert event.folders_deleted >= 2
    assert event.accounts_deleted == 1
    assert event.is_user_notified


@pytest.mark.django_db
def test_cleanup_event_holds_no_contents(owner_account, clock):
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    values = " ".join(str(value) for value in CleanupEvent.objects.values().get().values())
    for subject in SUBJECTS:
        assert subject not in values
    assert "ana@example.com" not in values


# --- Emails to the user ---------------------------------------------------


@pytest.mark.django_db
def test_cleanup_emails_user_after_deletion(owner_account, clock, owner, mailoutbox):
    warn_and_reach_rule_day(clock)
    mailoutbox.clear()

    run_policy("--apply")

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [owner.email]
    assert owner_account.email_address in mailoutbox[0].subject
    assert "/settings/email/" in mailoutbox[0].body


@pytest.mark.django_db
@pytest.mark.parametrize("language, warning_words, done_words", [
    ("en", "will be deleted from the CRM on Feb. 15, 2027", "To get your emails back"),
    ("es", "se eliminarán del CRM el 15 de febrero de 2027", "Para recuperar sus correos"),
])
def test_cleanup_emails_in_user_language(owner_account, clock, owner, mailoutbox, language, warning_words,
                                         done_words):
    Profile.objects.create(user=owner, language=language)
    warn_and_reach_rule_day(clock)

    run_policy("--apply")

    warning, done = mailoutbox
    assert warning_words in warning.subject
    assert done_words in done.body


@pytest.mark.django_db
def test_cleanup_emails_spanish_by_default(owner_account, clock, mailoutbox):
    move_to(clock, WARNING_DAY)

    run_policy("--apply")

    body = mailoutbox[0].body
    assert "eliminará los 4 mensajes que sincronizó" in body
    assert "su prueba caducó el 15 de enero de 2027" in body
    assert NAV_ES in body


@pytest.mark.django_db
def test_cleanup_warning_lists_counts_and_remedy(owner_account, clock, owner, mailoutbox):
    Profile.objects.create(user=owner, language="en")
    move_to(clock, WARNING_DAY)

    run_policy("--apply")

    body = mailoutbox[0].body
    assert "delete the 4 messages it synced" in body
    assert "your trial expired on Jan. 15, 2027" in body
    assert "ask your administrator for a licence before that date" in body


@pytest.mark.django_db
def test_cleanup_failed_email_retried_next_run(owner_account, clock, mailoutbox, settings):
    warn_and_reach_rule_day(clock)
    mailoutbox.clear()
    # A port that was just free on loopback: the connection is refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    run_policy("--apply")
    unsent = CleanupEvent.objects.get()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    move_to(clock, RULE_DAY + timedelta(days=1))
    run_policy("--apply")

    assert not unsent.is_user_notified
    assert CleanupEvent.objects.get().is_user_notified
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_cleanup_failed_warning_reported_and_retried(owner_account, clock, mailoutbox, settings):
    move_to(clock, WARNING_DAY)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    output = run_policy("--apply")

    assert "warn that a rule applies (trial_expired on 2027-02-15)" in output
    assert "sending the email failed (see the log), a later run retries it" in output
    assert CleanupWarning.objects.count() == 0


# --- Users without an email address ----------------------------------------
# Email is optional on Django users: `make run`'s admin has none.

# A paid licence that expired on 1 December 2026 is due for cleanup from 1
# January 2027, before START, so the warning goes out at once and the rule
# acts a week later.
PAID_ENDED = date(2026, 12, 1)
LATE_RULE_DAY = date(2027, 1, 17)


@pytest.fixture
def no_email_account(clock, django_user_model, mailbox_user, connect_account, dovecot):
    """The mailbox of "bea", a user without an email address whose paid licence expired."""
    bea = django_user_model.objects.create_user(username="bea", password="secret-pass-1")
    bea.user_permissions.add(Permission.objects.get(codename="integrate_email"))
    account = connect_account(bea, *mailbox_user)
    fill_mailbox(dovecot, mailbox_user[0], account)
    Licence.objects.create(user=bea, kind=Licence.Kind.PAID, expires_on=PAID_ENDED)
    return account


def remove_mailbox_address(account):
    MailAccount.objects.filter(pk=account.pk).update(email_address="")


@pytest.mark.django_db
def test_no_email_user_warned_at_mailbox(no_email_account, clock, site_mail):
    received_before = len(site_mail.messages)

    run_policy("--apply")

    [warning_email] = mail_to(site_mail, no_email_account.email_address, since=received_before)
    assert warning_email["Subject"].strip() == "Sus correos sincronizados se eliminarán del CRM el 17 de enero de 2027"
    assert CleanupWarning.objects.get().applies_on == LATE_RULE_DAY


@pytest.mark.django_db
def test_no_email_user_dry_run_matches_apply(no_email_account, clock, mailoutbox):
    expected = "bea ({}): warn that a rule applies (paid_expired on 2027-01-17)".format(
        no_email_account.email_address,
    )

    dry_run = run_policy("--user", "bea", "--verbosity", "2")
    applied = run_policy("--apply", "--user", "bea", "--verbosity", "2")

    assert expected in dry_run
    assert expected in applied
    assert "0 would be cleaned up, 1 would be warned" in dry_run
    assert "0 cleaned up, 1 warned" in applied
    assert mailoutbox[0].to == [no_email_account.email_address]
    assert CleanupWarning.objects.filter(user__username="bea", applies_on=LATE_RULE_DAY).exists()


@pytest.mark.django_db
def test_no_email_user_cleaned_up_after_warning(no_email_account, clock, mailoutbox):
    run_policy("--apply")
    move_to(clock, LATE_RULE_DAY)

    output = run_policy("--apply")

    assert "bea (" in output
    assert "rule paid_expired: 4 synced messages" in output
    assert not MailAccount.objects.filter(pk=no_email_account.pk).exists()
    assert CleanupEvent.objects.get().is_user_notified
    assert [item.to for item in mailoutbox] == [[no_email_account.email_address]] * 2


@pytest.mark.django_db
def test_no_address_warning_reported_in_dry_run(no_email_account, clock, mailoutbox):
    remove_mailbox_address(no_email_account)

    output = run_policy()

    assert "warn that a rule applies (paid_expired on 2027-01-17)" in output
    assert "the warning cannot be emailed: the user and the mailbox have no email address" in output
    assert "Users who cannot be emailed: 1." in output


@pytest.mark.django_db
def test_no_address_warning_period_still_starts(no_email_account, clock, mailoutbox, caplog):
    remove_mailbox_address(no_email_account)
    user_id = no_email_account.owner_id

    output = run_policy("--apply")

    assert "warn that a rule applies (paid_expired on 2027-01-17)" in output
    assert "the warning cannot be emailed: the user and the mailbox have no email address" in output
    assert "Users who could not be emailed: 1." in output
    assert mailoutbox == []
    assert CleanupWarning.objects.get().applies_on == LATE_RULE_DAY
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert f"No address to notify: user={user_id} template=retention/email/cleanup_warning" in warnings
    [period_line] = [line for line in warnings if line.startswith("Cleanup warning period started without an email")]
    assert f"user={user_id} " in period_line


@pytest.mark.django_db
def test_no_address_cleanup_acts_and_reports(no_email_account, clock, mailoutbox):
    remove_mailbox_address(no_email_account)
    run_policy("--apply")
    move_to(clock, LATE_RULE_DAY)

    output = run_policy("--apply")

    assert "rule paid_expired: 4 synced messages" in output
    assert "the user cannot be told: the user and the mailbox have no email address" in output
    assert not MailAccount.objects.filter(pk=no_email_account.pk).exists()
    assert not CleanupEvent.objects.get().is_user_notified
    assert mailoutbox == []


# --- Dry run ----------------------------------------------------------------


@pytest.mark.django_db
def test_dry_run_changes_nothing(owner_account, clock, mailoutbox):
    warn_and_reach_rule_day(clock)
    mailoutbox.clear()
    before = row_counts()
    account_before = MailAccount.objects.values().get(pk=owner_account.pk)

    run_policy()

    assert row_counts() == before
    assert MailAccount.objects.values().get(pk=owner_account.pk) == account_before
    assert mailoutbox == []


@pytest.mark.django_db
def test_dry_run_prints_rule_and_counts(owner_account, clock):
    warn_and_reach_rule_day(clock)

    output = run_policy()

    assert "owner (" in output
    assert "rule trial_expired: 4 synced messages" in output
    assert "1 CRM-sent messages kept" in output
    assert "Dry run: nothing was changed" in output


@pytest.mark.django_db
def test_dry_run_prints_warning_to_come(owner_account, clock, mailoutbox):
    move_to(clock, WARNING_DAY)

    output = run_policy()

    assert "warn that a rule applies (trial_expired on 2027-02-15)" in output
    assert CleanupWarning.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.django_db
def test_dry_run_verbose_prints_next_dates(owner_account, clock):
    output = run_policy("--verbosity", "2")

    assert "no rule applies; next: trial_expired on 2027-02-15, inactivity on 2027-07-10" in output


@pytest.mark.django_db
def test_command_quiet_prints_nothing(owner_account, clock):
    warn_and_reach_rule_day(clock)

    assert run_policy("--verbosity", "0") == ""


@pytest.mark.django_db
def test_command_plain_progress_lines(clock, django_user_model):
    # The policy reads only the database, so these mailboxes need no server.
    for index in range(10):
        user = django_user_model.objects.create_user(username=f"rep{index}", email=f"rep{index}@example.test")
        MailAccount.objects.create(
            owner=user, email_address=f"rep{index}@example.test", incoming_host="127.0.0.1", incoming_port=1,
            incoming_login=f"rep{index}", smtp_host="127.0.0.1", smtp_port=1,
        )

    output = run_policy()

    assert "Checked 10/10 mailboxes" in output
    assert "\r" not in output


class Terminal(StringIO):
    def isatty(self):
        return True


@pytest.mark.django_db
def test_command_progress_bar_on_terminal(owner_account, clock):
    warn_and_reach_rule_day(clock)
    output = Terminal()

    call_command("apply_cleanup_policy", stdout=output)

    assert "mailboxes/s" in output.getvalue()
    assert "\r" in output.getvalue()
    assert "rule trial_expired: 4 synced messages" in output.getvalue()


@pytest.mark.django_db
def test_command_unknown_user_fails(clock):
    with pytest.raises(CommandError):
        run_policy("--user", "nobody")


# --- Concurrent runs ----------------------------------------------------------


def run_twice_at_once(monkeypatch, *arguments):
    """Run the command in two threads that both plan before either acts."""
    barrier = threading.Barrier(2, timeout=20)
    plan = policy.plan

    def plan_then_wait(*args, **kwargs):
        result = plan(*args, **kwargs)
        barrier.wait()
        return result

    monkeypatch.setattr(policy, "plan", plan_then_wait)
    runs = [threads.start(run_policy, *arguments) for _ in range(2)]
    return [run.outcome() for run in runs]


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_delete_and_notify_once(owner_account, clock, mailoutbox, monkeypatch):
    warn_and_reach_rule_day(clock)
    mailoutbox.clear()

    outputs = run_twice_at_once(monkeypatch, "--apply")

    assert CleanupEvent.objects.count() == 1
    assert len(mailoutbox) == 1
    assert sum("skipped, another run" in output for output in outputs) == 1
    assert MailAccount.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_warn_once(owner_account, clock, mailoutbox, monkeypatch):
    move_to(clock, WARNING_DAY)

    run_twice_at_once(monkeypatch, "--apply")

    assert CleanupWarning.objects.count() == 1
    assert len(mailoutbox) == 1


# --- Interrupted deactivations, task and schedule -----------------------------


@pytest.mark.django_db
def test_run_finishes_interrupted_deactivation(owner_account, clock, owner):
    MailAccount.objects.filter(pk=owner_account.pk).update(
        status=MailAccount.Status.PAUSED, pause_reason=errors.DEACTIVATING,
        lease_owner="deactivation:dead", lease_expires_at=START - timedelta(hours=1),
    )

    output = run_policy("--apply")

    assert "finish an interrupted deactivation: 4 synced messages" in output
    assert MailAccount.objects.filter(owner=owner).count() == 0
    assert CleanupEvent.objects.count() == 0


@pytest.mark.django_db
def test_task_returns_summary(owner_account, clock):
    warn_and_reach_rule_day(clock)

    summary = tasks.apply_cleanup_policy_task()

    assert summary == {"mailboxes": 1, "cleaned": 1, "warned": 0, "busy": 0}


@pytest.mark.django_db
def test_setup_schedules_creates_cleanup_schedule(clock):
    output = StringIO()

    call_command("setup_schedules", stdout=output)

    schedule = Schedule.objects.get(func=schedules.CLEANUP_FUNC)
    assert schedule.schedule_type == Schedule.DAILY
    assert schedule.repeats == -1
    assert schedule.next_run == datetime(2027, 1, 11, 3, 30, tzinfo=MADRID)
    assert "“Apply the cleanup policy”: created, daily at 03:30" in output.getvalue()


@pytest.mark.django_db
def test_setup_schedules_keeps_edited_cleanup_schedule(clock):
    call_command("setup_schedules", stdout=StringIO())
    Schedule.objects.filter(func=schedules.CLEANUP_FUNC).update(name="Nightly cleanup", next_run=START)

    outcome = schedules.ensure_cleanup_schedule()

    schedule = Schedule.objects.get(func=schedules.CLEANUP_FUNC)
    assert outcome == "unchanged"
    assert (schedule.name, schedule.next_run) == ("Nightly cleanup", START)


@pytest.mark.parametrize("now, expected", [
    (datetime(2027, 3, 1, 2, 0, tzinfo=MADRID), datetime(2027, 3, 1, 3, 30, tzinfo=MADRID)),
    (datetime(2027, 3, 1, 3, 30, tzinfo=MADRID), datetime(2027, 3, 2, 3, 30, tzinfo=MADRID)),
    (datetime(2027, 3, 1, 23, 0, tzinfo=MADRID), datetime(2027, 3, 2, 3, 30, tzinfo=MADRID)),
])
def test_schedule_next_run_at_local_time(now, expected):
    assert schedules.next_run_at(now) == expected


@pytest.mark.django_db
def test_accounts_to_check_two_queries(clock, django_user_model, django_assert_num_queries):
    for index in range(3):
        user = django_user_model.objects.create_user(username=f"rep{index}", email=f"rep{index}@example.test")
        MailAccount.objects.create(
            owner=user, email_address=f"rep{index}@example.test", incoming_host="127.0.0.1", incoming_port=1,
            incoming_login=f"rep{index}", smtp_host="127.0.0.1", smtp_port=1,
        )
        if index:
            Licence.objects.create(user=user, kind=Licence.Kind.PAID, expires_on=TRIAL_ENDS)
            UserActivity.objects.create(user=user, last_sent_at=START)
            CleanupWarning.objects.create(
                user=user, rule=Rule.PAID_EXPIRED, applies_on=RULE_DAY, sent_at=START + timedelta(hours=1),
            )

    with django_assert_num_queries(2):
        plans = [
            policy.plan(cleanup.user_state(account.owner, account), RULE_DAY, cleanup.sent_warnings(account.owner))
            for account in cleanup.accounts_to_check()
        ]

    assert [plan.rule for plan in plans] == [None, Rule.PAID_EXPIRED, Rule.PAID_EXPIRED]
