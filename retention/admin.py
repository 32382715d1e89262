from datetime import timedelta

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from emailsync import admin_actions
from emailsync.models import MailAccount

from . import cleanup, policy
from .models import CleanupEvent, CleanupWarning, Rule


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that shows records and never adds, changes or deletes them.

    Cleanup records are the evidence of what the policy did, so not even
    superusers may edit them here.
    """

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CleanupEvent)
class CleanupEventAdmin(ReadOnlyAdmin):
    list_display = [
        "applied_at", "username", "rule", "mailbox_address", "messages_deleted", "folders_deleted",
        "accounts_deleted", "is_user_notified",
    ]
    list_filter = ["rule", "is_user_notified", "applied_at"]
    search_fields = ["username", "mailbox_address"]
    date_hierarchy = "applied_at"


@admin.register(CleanupWarning)
class CleanupWarningAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "user", "rule", "applies_on"]
    list_filter = ["rule", "applies_on"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    date_hierarchy = "sent_at"


User = get_user_model()
RegisteredUserAdmin = type(admin.site.get_model_admin(User))


@admin.action(
    description=gettext_lazy("Deactivate the mailbox of the selected users"), permissions=["deactivate_mailbox"],
)
def deactivate_user_mailboxes(modeladmin, request, queryset):
    accounts = MailAccount.objects.filter(owner__in=queryset).select_related("owner").order_by("pk")
    return admin_actions.confirm_and_deactivate(modeladmin, request, accounts)


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(RegisteredUserAdmin):
    """The user admin already registered, with the cleanup policy's dates on
    each user's page and an action that deactivates their mailboxes."""

    readonly_fields = [*RegisteredUserAdmin.readonly_fields, "cleanup_schedule"]
    actions = [*(RegisteredUserAdmin.actions or []), deactivate_user_mailboxes]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return [*fieldsets, (gettext_lazy("Cleanup policy"), {"fields": ["cleanup_schedule"]})]

    def has_deactivate_mailbox_permission(self, request):
        return admin_actions.has_deactivate_mailbox_permission(request)

    @admin.display(description=gettext_lazy("When each rule would apply"))
    def cleanup_schedule(self, user):
        """Render the policy's dates for `user` (four queries)."""
        account = MailAccount.objects.filter(owner=user).first()
        state = cleanup.user_state(user, account)
        warnings = list(user.cleanup_warnings.all())
        sent = [policy.SentWarning(item.rule, item.applies_on, item.sent_at) for item in warnings]
        result = policy.plan(state, policy.site_today(), sent)
        return render_to_string("admin/retention/cleanup_schedule.html", {
            "rows": schedule_rows(result, state, warnings),
            "connected_at": state.connected_at,
            "last_sent_at": state.last_sent_at,
            "last_interaction_at": state.last_interaction_at,
        })


def schedule_rows(result, state, warnings):
    """Return one row per rule: its label, dates and a status in words, soonest first."""
    rows = []
    for rule, rule_date in result.rule_dates.items():
        action_date = result.action_dates.get(rule)
        rows.append({
            "label": Rule(rule).label,
            "rule_date": rule_date,
            "action_date": action_date,
            "status": rule_status(rule, rule_date, action_date, result, state, warnings),
        })
    return sorted(rows, key=lambda row: row["action_date"] or row["rule_date"])


def rule_status(rule, rule_date, action_date, result, state, warnings):
    if not state.has_mailbox:
        return _("no mailbox, so nothing to delete")
    if result.rule == rule:
        return _("acts today")
    warned = [
        item for item in warnings
        if item.rule == rule and item.applies_on >= rule_date and item.sent_at >= state.connected_at
    ]
    if warned:
        sent_on = policy.local_date(min(item.sent_at for item in warned))
        return _("warning sent on %(date)s") % {"date": formats.date_format(sent_on)}
    warn_on = action_date - timedelta(days=policy.WARNING_DAYS)
    if warn_on <= result.today:
        return _("warning due at the next daily run")
    return _("warning due on %(date)s") % {"date": formats.date_format(warn_on)}
