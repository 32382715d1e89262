"""Apply the cleanup policy now, or show what it would do."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from retention import cleanup
from retention.cleanup import Action


class Command(BaseCommand):
    help = (
        "Apply the cleanup policy: warn users a week before a rule applies to them, and "
        "delete the synced messages and mailbox settings of users a rule applies to today. "
        "Without --apply this is a dry run that changes nothing and sends no email."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply", action="store_true",
            help="Send the warnings and delete. Without it, only print what would happen.",
        )
        parser.add_argument("--user", metavar="USERNAME", help="Check only the user with this username.")

    def handle(self, *args, **options):
        username = options["user"]
        if username is not None and not get_user_model().objects.filter(username=username).exists():
            raise CommandError(_("User “%(username)s” not found.") % {"username": username})

        report = Report(self, options["verbosity"], show_every_user=username is not None)
        try:
            outcomes = cleanup.run_cleanup(apply=options["apply"], username=username, progress=report)
        finally:
            report.close()

        if username is not None and not outcomes:
            report.write(f"{username}: no connected mailbox, nothing to delete.")
        report.write_summary(outcomes, options["apply"])


class Report:
    """Per-user lines and progress: a tqdm bar on a terminal, plain lines elsewhere.

    At verbosity 1 a line is written for each user with something to do;
    at verbosity 2, or for a single --user, for every user. Off a terminal a
    progress line is written each time another tenth of the mailboxes is
    checked, because a redrawn bar would fill a log with carriage returns.
    """

    def __init__(self, command, verbosity, show_every_user):
        self.stdout = command.stdout
        self.verbosity = verbosity
        self.show_every_user = show_every_user or verbosity >= 2
        self.total = 0
        self.done = 0
        self.bar = None

    def start(self, total):
        self.total = total
        if self.verbosity >= 1 and self.stdout.isatty() and total:
            # tqdm needs the raw stream: OutputWrapper adds a newline to
            # every write, which breaks the redraw with "\r".
            self.bar = tqdm(total=total, unit=" mailboxes", file=self.stdout._out, leave=False)

    def advance(self, outcome):
        previous_tenth = 10 * self.done // self.total
        self.done += 1
        if outcome.action != Action.NONE or self.show_every_user:
            self.write(describe(outcome))

        if self.bar is not None:
            self.bar.update(1)
        elif self.verbosity >= 1 and 10 * self.done // self.total > previous_tenth and self.total >= 10:
            self.write(f"Checked {self.done}/{self.total} mailboxes")

    def write(self, line):
        if self.verbosity < 1:
            return
        if self.bar is not None:
            self.bar.write(line, file=self.stdout._out)
        else:
            self.stdout.write(line)

    def write_summary(self, outcomes, apply):
        counted = {}
        for outcome in outcomes:
            counted[outcome.action] = counted.get(outcome.action, 0) + 1
        verb = "" if apply else "would be "
        self.write(
            f"{len(outcomes)} mailboxes checked: {counted.get(Action.CLEAN_UP, 0)} {verb}cleaned up, "
            f"{counted.get(Action.WARN, 0)} {verb}warned, "
            f"{counted.get(Action.FINISH_DEACTIVATION, 0)} interrupted deactivations {verb}finished, "
            f"{counted.get(Action.BUSY, 0)} skipped as busy."
        )
        unreachable = sum(1 for outcome in outcomes if cleanup.is_user_unreachable(outcome))
        if unreachable:
            could = "could not" if apply else "cannot"
            self.write(
                f"Users who {could} be emailed: {unreachable}. Neither they nor their mailboxes have an email "
                "address; add one to each user in the admin."
            )
        if not apply:
            self.write("Dry run: nothing was changed and no email was sent. Run with --apply to act.")

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def describe(outcome):
    """Return one line about a user: the rule, the counts and the next rule dates."""
    plan = outcome.plan
    counts = outcome.counts
    label = f"{outcome.username} ({outcome.account.email_address})"
    if outcome.action == Action.CLEAN_UP:
        text = f"rule {plan.rule}: {describe_counts(counts)}"
    elif outcome.action == Action.WARN:
        warned = ", ".join(f"{rule} on {day:%Y-%m-%d}" for rule, day in outcome.warnings or plan.warnings)
        text = f"warn that a rule applies ({warned}); it would delete {describe_counts(counts)}"
    elif outcome.action == Action.FINISH_DEACTIVATION:
        text = f"finish an interrupted deactivation: {describe_counts(counts)}"
    elif outcome.action == Action.BUSY:
        text = "skipped, another run or deactivation is deleting this mailbox now"
    else:
        text = "no rule applies"
    return f"{label}: {text}{describe_delivery(outcome)}; next: {describe_dates(plan)}"


def describe_delivery(outcome):
    """Return why the user gets no email about the outcome, or "" when they do."""
    if cleanup.is_user_unreachable(outcome):
        if outcome.action == Action.WARN:
            return (
                "; the warning cannot be emailed: the user and the mailbox have no email address, "
                "so the rule acts on that date without one"
            )
        return "; the user cannot be told: the user and the mailbox have no email address"
    if outcome.failed_emails:
        return "; sending the email failed (see the log), a later run retries it"
    return ""


def describe_counts(counts):
    return (
        f"{counts.messages} synced messages, {counts.folders} folders, "
        f"{counts.accounts} mailbox settings; {counts.crm_messages_kept} CRM-sent messages kept"
    )


def describe_dates(plan):
    if not plan.action_dates:
        return "no rule can apply"
    ordered = sorted(plan.action_dates.items(), key=lambda item: item[1])
    return ", ".join(f"{rule} on {day:%Y-%m-%d}" for rule, day in ordered)
