"""Settings > Channels > Email > Email sharing settings."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..models import MailAccount
from ..sharing import effective_sharing
from ..sharing_forms import SharingForm

logger = logging.getLogger(__name__)


@login_required
@permission_required("emailsync.integrate_email", raise_exception=True)
def sharing_settings(request):
    """Show and change who sees the user's mailbox.

    When an operator fixed the setting for one of the user's groups, the
    page shows that setting instead of the audience and level fields; the
    exclusion list stays editable because it can only narrow what is shared.
    """
    account = MailAccount.objects.filter(owner=request.user).first()
    if account is None:
        return render(request, "emailsync/sharing_settings.html", {"account": None})

    setting = effective_sharing(account)
    form = SharingForm(request.POST or None, instance=account, exclusions_only=setting.is_fixed)

    if request.method == "POST" and form.is_valid():
        form.save()
        logger.info("Sharing changed: account=%s mode=%s level=%s", account.pk, account.sharing_mode, account.sharing_level)
        messages.success(request, _("Sharing settings saved. They apply to all your messages, earlier ones too."))
        return redirect("emailsync:sharing")

    return render(request, "emailsync/sharing_settings.html", {"account": account, "form": form, "setting": setting})
