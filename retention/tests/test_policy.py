"""The cleanup policy's dates, boundary by boundary, in the site's time zone."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from retention import policy
from retention.models import Rule
from retention.policy import SentWarning, UserState

MADRID = ZoneInfo("Europe/Madrid")
UTC = ZoneInfo("UTC")
LONG_AGO = datetime(2024, 1, 1, 12, 0, tzinfo=MADRID)


@pytest.fixture(autouse=True)
def site_time_zone(settings):
    settings.TIME_ZONE = "Europe/Madrid"


def at(day, hour=12, minute=0, second=0, tz=MADRID):
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz)


def inactive(sent=None, interacted=None, connected=LONG_AGO):
    return UserState(connected_at=connected, last_sent_at=sent, last_interaction_at=interacted)


def licensed(kind, expires_on, connected=LONG_AGO):
    # Recent activity keeps the inactivity rule out of the licence cases.
    recent = datetime(2030, 1, 1, tzinfo=MADRID)
    return UserState(connected_at=connected, last_sent_at=recent, last_interaction_at=recent,
                     licence_kind=kind, licence_expires_on=expires_on)


D = date
BOUNDARY_CASES = [
    # Sent 3 months before, interaction long enough ago.
    ("sent 3 months minus a day", inactive(at(D(2026, 1, 15)), at(D(2025, 9, 1))), D(2026, 4, 14), None),
    ("sent exactly 3 months", inactive(at(D(2026, 1, 15)), at(D(2025, 9, 1))), D(2026, 4, 15), Rule.INACTIVITY),
    # Interaction 6 months before, sent long enough ago.
    ("interaction 6 months minus a day", inactive(at(D(2025, 12, 1)), at(D(2025, 10, 15))), D(2026, 4, 14), None),
    ("interaction exactly 6 months", inactive(at(D(2025, 12, 1)), at(D(2025, 10, 15))), D(2026, 4, 15),
     Rule.INACTIVITY),
    ("interaction resets the clock", inactive(at(D(2025, 1, 1)), at(D(2026, 4, 14))), D(2026, 4, 15), None),
    ("send resets the clock", inactive(at(D(2026, 4, 14)), at(D(2025, 1, 1))), D(2026, 4, 15), None),
    # A user who never sent nor interacted counts from the connection.
    ("never active, 6 months minus a day", inactive(connected=at(D(2026, 1, 10))), D(2026, 7, 9), None),
    ("never active, exactly 6 months", inactive(connected=at(D(2026, 1, 10))), D(2026, 7, 10), Rule.INACTIVITY),
    ("reconnected, old activity", inactive(at(D(2025, 1, 1)), at(D(2025, 1, 1)), at(D(2026, 3, 1))),
     D(2026, 8, 31), None),
    ("reconnected, 6 months later", inactive(at(D(2025, 1, 1)), at(D(2025, 1, 1)), at(D(2026, 3, 1))),
     D(2026, 9, 1), Rule.INACTIVITY),
    # Month ends: 30 November + 3 months and 31 August + 6 months end on 28 February.
    ("month end, day before", inactive(at(D(2025, 11, 30)), at(D(2025, 8, 31))), D(2026, 2, 27), None),
    ("month end, last day of February", inactive(at(D(2025, 11, 30)), at(D(2025, 8, 31))), D(2026, 2, 28),
     Rule.INACTIVITY),
    ("month end, leap year, day before", inactive(at(D(2027, 11, 30)), at(D(2027, 8, 31))), D(2028, 2, 28), None),
    ("month end, leap year", inactive(at(D(2027, 11, 30)), at(D(2027, 8, 31))), D(2028, 2, 29), Rule.INACTIVITY),
    # 23:30 UTC on 31 January is 00:30 on 1 February in Madrid.
    ("local date of a late send", inactive(at(D(2026, 1, 31), 23, 30, tz=UTC), at(D(2025, 1, 1))),
     D(2026, 4, 30), None),
    ("local date of a late send, next day", inactive(at(D(2026, 1, 31), 23, 30, tz=UTC), at(D(2025, 1, 1))),
     D(2026, 5, 1), Rule.INACTIVITY),
    ("local date of an earlier send", inactive(at(D(2026, 1, 31), 22, 30, tz=UTC), at(D(2025, 1, 1))),
     D(2026, 4, 30), Rule.INACTIVITY),
    # Licences: 1 month after the expiry date.
    ("paid, 1 month minus a day", licensed("paid", D(2026, 3, 15)), D(2026, 4, 14), None),
    ("paid, exactly 1 month", licensed("paid", D(2026, 3, 15)), D(2026, 4, 15), Rule.PAID_EXPIRED),
    ("trial, 1 month minus a day", licensed("trial", D(2026, 3, 15)), D(2026, 4, 14), None),
    ("trial, exactly 1 month", licensed("trial", D(2026, 3, 15)), D(2026, 4, 15), Rule.TRIAL_EXPIRED),
    ("trial expired 31 January, 27 February", licensed("trial", D(2026, 1, 31)), D(2026, 2, 27), None),
    ("trial expired 31 January, 28 February", licensed("trial", D(2026, 1, 31)), D(2026, 2, 28),
     Rule.TRIAL_EXPIRED),
    ("paid expired 31 January, leap year, 28 February", licensed("paid", D(2028, 1, 31)), D(2028, 2, 28), None),
    ("paid expired 31 January, leap year, 29 February", licensed("paid", D(2028, 1, 31)), D(2028, 2, 29),
     Rule.PAID_EXPIRED),
    ("paid expired 31 December", licensed("paid", D(2026, 12, 31)), D(2027, 1, 31), Rule.PAID_EXPIRED),
    ("renewed licence", licensed("paid", D(2027, 3, 15)), D(2026, 4, 15), None),
    ("licence without expiry", licensed("paid", None), D(2026, 4, 15), None),
    ("no licence", licensed(None, None), D(2026, 4, 15), None),
    # Nothing to delete without a mailbox, whatever the dates.
    ("no mailbox, trial expired", licensed("trial", D(2025, 1, 1), connected=None), D(2026, 4, 15), None),
    ("no mailbox, never active", UserState(connected_at=None), D(2026, 4, 15), None),
]


@pytest.mark.parametrize(
    "state, today, expected",
    [case[1:] for case in BOUNDARY_CASES],
    ids=[case[0] for case in BOUNDARY_CASES],
)
def test_applicable_rule_boundaries(state, today, expected):
    with time_machine.travel(at(today), tick=False):
        assert policy.applicable_rule(state, policy.site_today()) == expected


@pytest.mark.parametrize("moment, expected", [
    (datetime(2026, 4, 14, 23, 59, 59, tzinfo=MADRID), None),
    (datetime(2026, 4, 15, 0, 0, 0, tzinfo=MADRID), Rule.PAID_EXPIRED),
    # 22:30 UTC on 14 April is already 15 April in Madrid (UTC+2 in summer).
    (datetime(2026, 4, 14, 22, 30, tzinfo=UTC), Rule.PAID_EXPIRED),
])
def test_applicable_rule_changes_at_local_midnight(moment, expected):
    state = licensed("paid", D(2026, 3, 15))

    with time_machine.travel(moment, tick=False):
        assert policy.applicable_rule(state, policy.site_today()) == expected


def test_applicable_rule_earliest_wins():
    state = UserState(
        connected_at=LONG_AGO, last_sent_at=at(D(2025, 1, 1)), last_interaction_at=at(D(2025, 1, 1)),
        licence_kind="trial", licence_expires_on=D(2026, 3, 1),
    )

    assert policy.applicable_rule(state, D(2026, 4, 15)) == Rule.INACTIVITY


def test_applicable_rule_tie_prefers_licence():
    state = UserState(
        connected_at=LONG_AGO, last_sent_at=at(D(2025, 10, 15)), last_interaction_at=at(D(2025, 10, 15)),
        licence_kind="paid", licence_expires_on=D(2026, 3, 15),
    )

    assert policy.applicable_rule(state, D(2026, 4, 15)) == Rule.PAID_EXPIRED


@pytest.mark.parametrize("day, months, expected", [
    (D(2026, 1, 31), 1, D(2026, 2, 28)),
    (D(2028, 1, 31), 1, D(2028, 2, 29)),
    (D(2026, 3, 31), 1, D(2026, 4, 30)),
    (D(2026, 1, 15), 1, D(2026, 2, 15)),
    (D(2025, 11, 30), 3, D(2026, 2, 28)),
    (D(2025, 8, 31), 6, D(2026, 2, 28)),
    (D(2026, 12, 31), 1, D(2027, 1, 31)),
    (D(2026, 10, 31), 3, D(2027, 1, 31)),
    (D(2026, 2, 28), 1, D(2026, 3, 28)),
])
def test_add_months_clamps_month_end(day, months, expected):
    assert policy.add_months(day, months) == expected


def test_rule_dates_lists_each_rule():
    state = UserState(
        connected_at=LONG_AGO, last_sent_at=at(D(2026, 1, 15)), last_interaction_at=at(D(2025, 12, 20)),
        licence_kind="trial", licence_expires_on=D(2026, 5, 31),
    )

    assert policy.rule_dates(state) == {Rule.INACTIVITY: D(2026, 6, 20), Rule.TRIAL_EXPIRED: D(2026, 6, 30)}


# --- Warnings and the day a rule acts ---------------------------------------

RULE_DAY = D(2026, 4, 15)
TRIAL = licensed("trial", D(2026, 3, 15))
# After LONG_AGO, when these users connected their mailboxes.
SENT = datetime(2026, 1, 1, 9, tzinfo=MADRID)


def test_plan_no_warning_eight_days_before():
    result = policy.plan(TRIAL, RULE_DAY - timedelta(days=8))

    assert result.warnings == []
    assert result.rule is None


def test_plan_warns_seven_days_before():
    result = policy.plan(TRIAL, RULE_DAY - timedelta(days=7))

    assert result.warnings == [(Rule.TRIAL_EXPIRED, RULE_DAY)]
    assert result.rule is None


def test_plan_warned_waits_quietly():
    warned = [SentWarning(Rule.TRIAL_EXPIRED, RULE_DAY, SENT)]

    result = policy.plan(TRIAL, RULE_DAY - timedelta(days=1), warned)

    assert result.warnings == []
    assert result.rule is None


def test_plan_acts_on_announced_day():
    warned = [SentWarning(Rule.TRIAL_EXPIRED, RULE_DAY, SENT)]

    result = policy.plan(TRIAL, RULE_DAY, warned)

    assert result.rule == Rule.TRIAL_EXPIRED
    assert result.action_dates[Rule.TRIAL_EXPIRED] == RULE_DAY


def test_plan_without_warning_warns_and_waits_a_week():
    result = policy.plan(TRIAL, RULE_DAY + timedelta(days=30))

    assert result.rule is None
    assert result.warnings == [(Rule.TRIAL_EXPIRED, RULE_DAY + timedelta(days=37))]


def test_plan_late_warning_acts_a_week_later():
    announced = RULE_DAY + timedelta(days=3)
    warned = [SentWarning(Rule.TRIAL_EXPIRED, announced, SENT)]

    before = policy.plan(TRIAL, announced - timedelta(days=1), warned)
    on_day = policy.plan(TRIAL, announced, warned)

    assert before.rule is None
    assert before.warnings == []
    assert on_day.rule == Rule.TRIAL_EXPIRED


def test_plan_ignores_warning_of_earlier_period():
    # Warned for an inactivity period that the user ended by sending mail.
    state = inactive(at(D(2026, 1, 15)), at(D(2025, 9, 1)))
    warned = [SentWarning(Rule.INACTIVITY, D(2026, 1, 10), SENT)]

    result = policy.plan(state, RULE_DAY, warned)

    assert result.rule is None
    assert result.warnings == [(Rule.INACTIVITY, RULE_DAY + timedelta(days=7))]


def test_plan_warning_of_other_rule_does_not_count():
    warned = [SentWarning(Rule.INACTIVITY, RULE_DAY, SENT)]

    result = policy.plan(TRIAL, RULE_DAY, warned)

    assert result.rule is None
    assert result.warnings == [(Rule.TRIAL_EXPIRED, RULE_DAY + timedelta(days=7))]


def test_plan_cleanup_day_sends_no_other_warning():
    state = UserState(
        connected_at=LONG_AGO, last_sent_at=at(D(2026, 1, 16)), last_interaction_at=at(D(2025, 1, 1)),
        licence_kind="trial", licence_expires_on=D(2026, 3, 15),
    )
    warned = [SentWarning(Rule.TRIAL_EXPIRED, RULE_DAY, SENT)]

    result = policy.plan(state, RULE_DAY, warned)

    assert result.rule == Rule.TRIAL_EXPIRED
    assert result.warnings == []


def test_plan_warns_for_two_rules():
    state = UserState(
        connected_at=LONG_AGO, last_sent_at=at(D(2026, 1, 17)), last_interaction_at=at(D(2025, 1, 1)),
        licence_kind="paid", licence_expires_on=D(2026, 3, 15),
    )

    result = policy.plan(state, RULE_DAY - timedelta(days=5))

    assert result.warnings == [
        (Rule.PAID_EXPIRED, RULE_DAY + timedelta(days=2)),
        (Rule.INACTIVITY, RULE_DAY + timedelta(days=2)),
    ]


def test_plan_ignores_warning_about_earlier_mailbox():
    # Cleaned up, then connected again on 20 April with the trial still expired.
    state = licensed("trial", D(2026, 3, 15), connected=at(D(2026, 4, 20)))
    warned = [SentWarning(Rule.TRIAL_EXPIRED, RULE_DAY, at(D(2026, 4, 8)))]

    result = policy.plan(state, D(2026, 4, 21), warned)

    assert result.rule is None
    assert result.warnings == [(Rule.TRIAL_EXPIRED, D(2026, 4, 28))]


def test_plan_without_mailbox_is_empty():
    state = licensed("trial", D(2025, 1, 1), connected=None)

    result = policy.plan(state, RULE_DAY)

    assert result.rule is None
    assert result.warnings == []
    assert result.rule_dates == {Rule.TRIAL_EXPIRED: D(2025, 2, 1)}
