"""Apply the cleanup policy: warn users, then delete the mail sync brought in.

A run checks every user with a mailbox:
1. Read the user's mailbox, activity, licence and earlier warnings, and let
   policy.plan decide (no writes so far; a dry run stops here).
2. Send each due warning once. The CleanupWarning row is inserted before
   the email, and its unique (user, rule, applies_on) lets only one of two
   concurrent runs send it. The row starts the warning period even when
   neither the user nor the mailbox has an address to email, so the rule
   still acts WARNING_DAYS later, and the output reports that no one was
   warned.
3. When a rule acts today, deactivate the mailbox as its owner would. The
   deactivation claims the account with one conditional UPDATE, so of two
   concurrent runs one deletes and the other skips. The CleanupEvent
   commits in the transaction that deletes the account.
4. Tell the user once. The event is claimed by setting is_user_notified
   before sending and cleared again when sending fails, so a later run
   retries it.

A run also finishes deactivations that stopped midway (the account is
still paused as DEACTIVATING and its claim has expired).
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from emailsync import errors
from emailsync.deactivation import DeactivationBusy, deactivate_mailbox, preview_deactivation
from emailsync.models import MailAccount
from emailsync.notifications import Delivery, notification_address

from . import notifications, policy
from .models import CleanupEvent, CleanupWarning

logger = logging.getLogger(__name__)

# How long a run retries the email about a cleanup whose sending failed.
NOTIFY_RETRY_DAYS = 7


class Action:
    NONE = "none"
    WARN = "warn"
    CLEAN_UP = "clean_up"
    FINISH_DEACTIVATION = "finish_deactivation"
    # Another run or deactivation is acting on the account right now.
    BUSY = "busy"


@dataclass
class Outcome:
    """The result of a run for one user's mailbox, or in a dry run the planned result.

    `counts` contains what would be deleted (dry run, warnings) or what was
    deleted (a cleanup applied). `warnings` lists the (rule, date) pairs
    whose warning period started, or would start in a dry run.
    `recipient` is the address the user's emails go to, "" when there is
    none. `failed_emails` counts the emails whose sending failed in this
    run, which a later run retries.
    """

    account: MailAccount
    plan: policy.Plan
    action: str = Action.NONE
    counts: object = None
    warnings: list = field(default_factory=list)
    event: CleanupEvent | None = None
    recipient: str = ""
    failed_emails: int = 0

    @property
    def username(self):
        return self.account.owner.get_username()


def accounts_to_check(username=None):
    """Return the mailboxes a run checks, with what the policy reads (two queries)."""
    accounts = (
        MailAccount.objects.select_related("owner", "owner__licence", "owner__mail_activity")
        .prefetch_related("owner__cleanup_warnings")
        .order_by("owner__username", "pk")
    )
    if username is not None:
        accounts = accounts.filter(owner__username=username)
    return accounts


def user_state(user, account):
    """Return the policy's view of `user`; `account` is their mailbox or None."""
    activity = _related_or_none(user, "mail_activity")
    licence = _related_or_none(user, "licence")
    return policy.UserState(
        connected_at=account.created_at if account is not None else None,
        last_sent_at=activity.last_sent_at if activity else None,
        last_interaction_at=activity.last_interaction_at if activity else None,
        licence_kind=licence.kind if licence else None,
        licence_expires_on=licence.expires_on if licence else None,
    )


def sent_warnings(user):
    return [policy.SentWarning(item.rule, item.applies_on, item.sent_at) for item in user.cleanup_warnings.all()]


def run_cleanup(*, apply=False, username=None, now=None, progress=None):
    """Check every mailbox, or one user's, and act when `apply`; return the outcomes.

    `progress`, when given, has `start(total)`, called with the number of
    mailboxes to check, and `advance(outcome)`, called after each one.
    """
    started = time.monotonic()
    now = now or timezone.now()
    if apply:
        retry_notifications(now)

    accounts = list(accounts_to_check(username))
    if progress is not None:
        progress.start(len(accounts))
    outcomes = []
    for account in accounts:
        outcomes.append(check_account(account, now, apply=apply))
        if progress is not None:
            progress.advance(outcomes[-1])

    log_run(outcomes, apply, time.monotonic() - started)
    return outcomes


def check_account(account, now, *, apply):
    """Plan for one mailbox and, when `apply`, send warnings or clean up."""
    user = account.owner
    outcome = Outcome(account=account, plan=policy.plan(
        user_state(user, account), policy.site_today(now), sent_warnings(user),
    ), recipient=notification_address(user, account.email_address))

    if account.pause_reason == errors.DEACTIVATING:
        outcome.action = Action.FINISH_DEACTIVATION
        outcome.counts = preview_deactivation(account)
        if apply:
            _finish_deactivation(outcome)
        return outcome

    if outcome.plan.rule is not None:
        outcome.action = Action.CLEAN_UP
        outcome.counts = preview_deactivation(account)
        if apply:
            clean_up(outcome, now)
    elif outcome.plan.warnings:
        outcome.action = Action.WARN
        outcome.counts = preview_deactivation(account)
        if not apply:
            outcome.warnings = list(outcome.plan.warnings)
            return outcome
        for rule, applies_on in outcome.plan.warnings:
            delivery = send_warning(account, rule, applies_on, outcome.counts, now)
            if delivery in (Delivery.SENT, Delivery.NO_ADDRESS):
                outcome.warnings.append((rule, applies_on))
            elif delivery is Delivery.FAILED:
                outcome.failed_emails += 1
        if not outcome.warnings and not outcome.failed_emails:
            # Another run sent them.
            outcome.action = Action.NONE
    return outcome


def send_warning(account, rule, applies_on, counts, now):
    """Start the warning period of `rule`, email the owner and return the Delivery.

    Returns None when another run already started it: the warning row is
    inserted first, so another run sending the same warning fails on the
    unique constraint and sends nothing. When no one can be emailed the row
    stays, so the rule acts on `applies_on` as it would after an unread
    email. When sending fails the row is removed, so the next run retries.
    """
    user = account.owner
    try:
        with transaction.atomic():
            warning = CleanupWarning.objects.create(user=user, rule=rule, applies_on=applies_on, sent_at=now)
    except IntegrityError:
        logger.info("Cleanup warning already sent: user=%s rule=%s applies_on=%s", user.pk, rule, applies_on)
        return None

    delivery = notifications.send_cleanup_warning(user, rule, applies_on, counts)
    if delivery is Delivery.FAILED:
        warning.delete()
    elif delivery is Delivery.NO_ADDRESS:
        logger.warning(
            "Cleanup warning period started without an email, no address for the user or the mailbox: "
            "user=%s account=%s rule=%s applies_on=%s", user.pk, account.pk, rule, applies_on,
        )
    else:
        logger.info("Cleanup warning sent: user=%s account=%s rule=%s applies_on=%s", user.pk, account.pk, rule,
                    applies_on)
    return delivery


def clean_up(outcome, now):
    """Delete the mailbox under the plan's rule, record the event and tell the user."""
    account = outcome.account
    user = account.owner
    rule = outcome.plan.rule

    def record_event(result):
        outcome.event = CleanupEvent.objects.create(
            user=user, username=user.get_username(), rule=rule, applied_at=now,
            mailbox_address=result.email_address, messages_deleted=result.messages,
            folders_deleted=result.folders, accounts_deleted=result.accounts,
        )

    try:
        outcome.counts = deactivate_mailbox(account, None, record_deletion=record_event)
    except DeactivationBusy:
        outcome.action = Action.BUSY
        logger.info("Cleanup skipped, another run is deleting the mailbox: user=%s account=%s",
                    user.pk, account.pk)
        return

    logger.info(
        "Cleanup applied: user=%s account=%s rule=%s event=%s messages_deleted=%s",
        user.pk, account.pk, rule, outcome.event.pk, outcome.counts.messages,
    )
    if notify_event(outcome.event) is Delivery.FAILED:
        outcome.failed_emails += 1


def notify_event(event):
    """Email the user about a cleanup event unless another run did, and return the Delivery.

    Returns None when another run claimed the event or the user is gone.
    Without a Delivery.SENT the event stays unnotified, and runs in the next
    NOTIFY_RETRY_DAYS retry it, for example after the user got an address.
    """
    claimed = CleanupEvent.objects.filter(pk=event.pk, is_user_notified=False).update(is_user_notified=True)
    if not claimed or event.user is None:
        return None

    delivery = notifications.send_cleanup_done(event.user, event)
    if delivery is not Delivery.SENT:
        CleanupEvent.objects.filter(pk=event.pk).update(is_user_notified=False)
        return delivery
    event.is_user_notified = True
    return delivery


def retry_notifications(now):
    """Send the emails of recent cleanup events whose sending failed before."""
    pending = CleanupEvent.objects.filter(
        is_user_notified=False, user__isnull=False, applied_at__gte=now - timedelta(days=NOTIFY_RETRY_DAYS),
    ).select_related("user")
    for event in pending:
        notify_event(event)


def _finish_deactivation(outcome):
    account = outcome.account
    try:
        outcome.counts = deactivate_mailbox(account, None)
    except DeactivationBusy:
        # Still claimed: the deactivation may be running, so it is left alone.
        outcome.action = Action.BUSY
        return
    logger.warning(
        "Interrupted deactivation finished: user=%s account=%s messages_deleted=%s",
        account.owner_id, account.pk, outcome.counts.messages,
    )


def is_user_unreachable(outcome):
    """Return True when the outcome needs an email to the user and there is no address for it."""
    return outcome.action in (Action.WARN, Action.CLEAN_UP) and not outcome.recipient


def log_run(outcomes, apply, seconds):
    counted = {}
    for outcome in outcomes:
        counted[outcome.action] = counted.get(outcome.action, 0) + 1
    logger.info(
        "Cleanup run finished: apply=%s mailboxes=%s warned=%s cleaned=%s busy=%s finished_deactivations=%s "
        "no_address=%s failed_emails=%s seconds=%.2f",
        apply, len(outcomes), counted.get(Action.WARN, 0), counted.get(Action.CLEAN_UP, 0),
        counted.get(Action.BUSY, 0), counted.get(Action.FINISH_DEACTIVATION, 0),
        sum(1 for outcome in outcomes if is_user_unreachable(outcome)),
        sum(outcome.failed_emails for outcome in outcomes), seconds,
    )


def _related_or_none(user, name):
    try:
        return getattr(user, name)
    except ObjectDoesNotExist:
        return None
