"""Admin actions on mailboxes, for any ModelAdmin that lists them.

Kept apart from an admin module so that the mailbox admin and the user
admin can both offer deactivation with the same confirmation page.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from .deactivation import DeactivationBusy, deactivate_mailbox, preview_deactivation

# The permission an operator needs to deactivate mailboxes from the admin.
DEACTIVATE_PERMISSION = "emailsync.delete_mailaccount"


@admin.action(description=gettext_lazy("Deactivate the selected mailboxes"), permissions=["deactivate_mailbox"])
def deactivate_mailboxes(modeladmin, request, queryset):
    """Deactivate the selected MailAccount rows after a confirmation page.

    The ModelAdmin must define `has_deactivate_mailbox_permission(self,
    request)`, which can return this module's function of that name.
    """
    return confirm_and_deactivate(modeladmin, request, queryset.select_related("owner"))


def has_deactivate_mailbox_permission(request):
    return request.user.has_perm(DEACTIVATE_PERMISSION)


def confirm_and_deactivate(modeladmin, request, accounts):
    """Show what deactivating `accounts` deletes, then deactivate them once confirmed.

    The first POST comes from the changelist's action form and returns the
    confirmation page. That page posts the same action and selection again,
    with `confirmed`, as Django's "delete selected" action does.
    """
    accounts = list(accounts)
    if not accounts:
        modeladmin.message_user(request, _("None of the selected users has a mailbox."), messages.WARNING)
        return None
    if request.POST.get("confirmed") != "yes":
        return _confirmation_page(modeladmin, request, accounts)

    deactivated = busy = 0
    for account in accounts:
        try:
            deactivate_mailbox(account, request.user)
            deactivated += 1
        except DeactivationBusy:
            busy += 1

    modeladmin.message_user(request, ngettext(
        "%(count)s mailbox was deactivated and its synced messages deleted.",
        "%(count)s mailboxes were deactivated and their synced messages deleted.",
        deactivated,
    ) % {"count": deactivated}, messages.SUCCESS)
    if busy:
        modeladmin.message_user(request, ngettext(
            "%(count)s mailbox was skipped because another deactivation is deleting it now.",
            "%(count)s mailboxes were skipped because another deactivation is deleting them now.",
            busy,
        ) % {"count": busy}, messages.WARNING)
    return None


def _confirmation_page(modeladmin, request, accounts):
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Deactivate mailboxes"),
        "opts": modeladmin.model._meta,
        "previews": [(account, preview_deactivation(account)) for account in accounts],
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/emailsync/deactivate_confirmation.html", context)

