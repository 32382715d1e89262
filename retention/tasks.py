"""django-q2 task entry points: thin wrappers around the cleanup services."""

from .cleanup import Action, run_cleanup


def apply_cleanup_policy_task():
    """Apply the cleanup policy to every mailbox; the daily schedule runs this."""
    outcomes = run_cleanup(apply=True)
    actions = [outcome.action for outcome in outcomes]
    return {
        "mailboxes": len(outcomes),
        "cleaned": actions.count(Action.CLEAN_UP),
        "warned": actions.count(Action.WARN),
        "busy": actions.count(Action.BUSY),
    }
