"""Emails about the cleanup policy, in each user's language."""

from emailsync.notifications import send_to_user


def send_cleanup_warning(user, rule, applies_on, counts):
    """Tell `user` that `rule` deletes their synced mail on `applies_on`, and how to avoid it.

    `counts` is the DeactivationResult preview of what would be deleted.
    Returns a Delivery.
    """
    licence = getattr(user, "licence", None)
    return send_to_user(user, "retention/email/cleanup_warning", {
        "rule": rule,
        "applies_on": applies_on,
        "counts": counts,
        "licence_expires_on": licence.expires_on if licence else None,
    }, mailbox_address=counts.email_address)


def send_cleanup_done(user, event):
    """Tell `user` what a cleanup deleted and how to get it back, and return a Delivery.

    The mailbox is gone by then, so the address it had comes from the event.
    """
    return send_to_user(user, "retention/email/cleanup_done", {"event": event},
                        mailbox_address=event.mailbox_address)
