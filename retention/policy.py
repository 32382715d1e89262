"""Decide which cleanup rule applies to a user, and when each rule would.

Pure functions of dates and activity: nothing here reads the database, so
the daily run, the dry run, the warning emails and the admin pages share
one set of decisions.

The rules, for a user with a connected mailbox:
- INACTIVITY: no email sent from the CRM for at least 3 months and no
  interaction with incoming mail in the CRM for at least 6 months. Each
  clock starts at the later of the last activity and the connection of
  the current mailbox, so a user who never did either counts from the
  connection, and a mailbox connected again gets full periods.
- PAID_EXPIRED and TRIAL_EXPIRED: at least 1 month since the licence of
  that kind expired. The licence's `expires_on` date is the day it
  expired.

Months are calendar months in the site's time zone (settings.TIME_ZONE).
A rule "N months after day D" applies from the start of the day with D's
day of the month, N months later, or from that month's last day when the
month is shorter. So a licence that expired on 31 January is cleaned up
from 28 February, or 29 February in a leap year, and the 3 months after a
last email sent on 30 November end on 28 February. A time stamp counts on
its local date: an email sent at 23:30 UTC on 31 January, which is 00:30
on 1 February in Madrid, counts from 1 February on a Madrid site.

Warnings: a user is warned WARNING_DAYS before a rule applies, once per
rule and period. A rule never acts before a warning for it is
WARNING_DAYS old. So when a rule is found due without one, as after a
licence expiry entered in the past or a missed daily run, the warning
goes out at once and the rule acts WARNING_DAYS later.
"""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils import timezone

from .models import Rule

WARNING_DAYS = 7
SENT_MONTHS = 3
INTERACTION_MONTHS = 6
LICENCE_MONTHS = 1

# The order in which rules are named when several act on the same day.
RULE_ORDER = [Rule.PAID_EXPIRED, Rule.TRIAL_EXPIRED, Rule.INACTIVITY]
LICENCE_RULES = {"paid": Rule.PAID_EXPIRED, "trial": Rule.TRIAL_EXPIRED}


@dataclass(frozen=True)
class UserState:
    """A user's mailbox, mail activity and licence, as the policy reads them.

    `connected_at` is None when the user has no mailbox. Time stamps are
    aware datetimes.
    """

    connected_at: datetime | None
    last_sent_at: datetime | None = None
    last_interaction_at: datetime | None = None
    licence_kind: str | None = None
    licence_expires_on: date | None = None

    @property
    def has_mailbox(self):
        return self.connected_at is not None


@dataclass(frozen=True)
class SentWarning:
    """A warning already sent: its rule, the day it announced and when it went out."""

    rule: str
    applies_on: date
    sent_at: datetime


@dataclass
class Plan:
    """The policy's decision for one user on one day.

    `rule_dates`: the first day each rule applies under the policy, for the
    rules that can apply. `action_dates`: the day each rule acts, which is
    later than its rule date when the warning came late. `warnings`: the
    (rule, action date) pairs to warn about today. `rule`: the rule to act
    on today, or None.
    """

    today: date
    rule_dates: dict = field(default_factory=dict)
    action_dates: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    rule: str | None = None


def site_today(now=None):
    """Return today's date in the site's time zone."""
    return local_date(now or timezone.now())


def local_date(value):
    """Return the date of an aware datetime in the site's time zone."""
    return timezone.localtime(value, timezone.get_default_timezone()).date()


def add_months(day, months):
    """Return the same day of the month `months` later, or that month's last day."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))


def inactivity_date(state):
    """Return the first day the inactivity rule applies, or None without a mailbox."""
    if not state.has_mailbox:
        return None
    connected_on = local_date(state.connected_at)
    sent_on = max(connected_on, local_date(state.last_sent_at)) if state.last_sent_at else connected_on
    interacted_on = (
        max(connected_on, local_date(state.last_interaction_at)) if state.last_interaction_at else connected_on
    )
    return max(add_months(sent_on, SENT_MONTHS), add_months(interacted_on, INTERACTION_MONTHS))


def licence_rule_date(state):
    """Return (rule, first day it applies) for the licence, or (None, None)."""
    rule = LICENCE_RULES.get(state.licence_kind)
    if rule is None or state.licence_expires_on is None:
        return None, None
    return rule, add_months(state.licence_expires_on, LICENCE_MONTHS)


def rule_dates(state):
    """Return {rule: first day it applies} for each rule that can apply to the user."""
    dates = {}
    inactive_on = inactivity_date(state)
    if inactive_on is not None:
        dates[Rule.INACTIVITY] = inactive_on
    rule, expired_on = licence_rule_date(state)
    if rule is not None:
        dates[rule] = expired_on
    return dates


def applicable_rule(state, today):
    """Return the rule that applies to the user on `today`, or None.

    This is the policy alone, before warnings: see plan() for the day a
    rule acts. A user without a mailbox has nothing to delete, so no rule
    applies.
    """
    if not state.has_mailbox:
        return None
    return _first_due(rule_dates(state), today)


def _first_due(dates, today):
    """Return the rule among `dates` that is due first, or None.

    When several are due, the one due earliest wins, then RULE_ORDER.
    """
    due = [rule for rule, day in dates.items() if day <= today]
    if not due:
        return None
    return min(due, key=lambda rule: (dates[rule], RULE_ORDER.index(rule)))


def plan(state, today, sent_warnings=()):
    """Decide what to do for one user today: warn, clean up, or nothing.

    `sent_warnings` are the SentWarning values of the user's earlier
    warnings. A warning belongs to a rule's current period when it
    announced a day on or after the rule's date and went out while the
    current mailbox was connected. An older warning was avoided, because
    the user became active or renewed the licence, or it was about a
    mailbox already deleted, so it counts no more. Per rule:
    1. With a warning in the period, the rule acts on the day it announced.
    2. Without one, a warning is due from WARNING_DAYS before the rule's
       date. It announces the rule's date, or WARNING_DAYS from today when
       that is later.
    A user without a mailbox has nothing to delete, so nothing is planned.
    """
    result = Plan(today=today, rule_dates=rule_dates(state))
    if not state.has_mailbox:
        return result

    warn_from = today + timedelta(days=WARNING_DAYS)
    for rule, rule_date in result.rule_dates.items():
        announced = [
            item.applies_on for item in sent_warnings
            if item.rule == rule and item.applies_on >= rule_date and item.sent_at >= state.connected_at
        ]
        if announced:
            result.action_dates[rule] = min(announced)
        elif rule_date <= warn_from:
            result.action_dates[rule] = max(rule_date, warn_from)
            result.warnings.append((rule, result.action_dates[rule]))
        else:
            result.action_dates[rule] = rule_date

    result.rule = _first_due(result.action_dates, today)
    if result.rule is not None:
        # The data goes today, so a warning about another rule would only confuse.
        result.warnings = []
    result.warnings.sort(key=lambda item: (item[1], RULE_ORDER.index(item[0])))
    return result
