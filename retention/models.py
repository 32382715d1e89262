from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Rule(models.TextChoices):
    INACTIVITY = "inactivity", _("No email sent for 3 months and no interaction for 6 months")
    PAID_EXPIRED = "paid_expired", _("Paid licence expired at least 1 month ago")
    TRIAL_EXPIRED = "trial_expired", _("Trial expired at least 1 month ago")


class CleanupEvent(models.Model):
    """A record of one cleanup: whose data, under which rule, what was deleted.

    It never holds message contents.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="cleanup_events", verbose_name=_("user"),
    )
    username = models.CharField(_("username"), max_length=150)
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    applied_at = models.DateTimeField(_("applied at"))
    mailbox_address = models.CharField(_("mailbox"), max_length=254, blank=True)
    messages_deleted = models.PositiveIntegerField(_("messages deleted"), default=0)
    folders_deleted = models.PositiveIntegerField(_("folders deleted"), default=0)
    accounts_deleted = models.PositiveIntegerField(_("mailbox configurations deleted"), default=0)
    is_user_notified = models.BooleanField(_("user notified"), default=False)

    class Meta:
        verbose_name = _("cleanup event")
        verbose_name_plural = _("cleanup events")
        ordering = ["-applied_at"]

    def __str__(self):
        return f"{self.username} {self.rule} {self.applied_at:%Y-%m-%d}"


class CleanupWarning(models.Model):
    """The start of a rule's warning period, one per rule and date.

    The warning email went out at `sent_at`, unless neither the user nor the
    mailbox had an address. The period starts all the same, and the
    cleanup run's output and log report that no one was warned.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cleanup_warnings")
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    applies_on = models.DateField(_("applies on"))
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("cleanup warning")
        verbose_name_plural = _("cleanup warnings")
        constraints = [
            models.UniqueConstraint(fields=["user", "rule", "applies_on"], name="cleanup_warning_once"),
        ]
