"""Access rules and shared helpers of the mailbox setup pages."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _

from ..models import MailAccount
from ..services import PERMISSION

# The steps of the setup wizard, as its progress bar names them. The first
# two happen before the mailbox is saved; the others edit the saved mailbox.
WIZARD_STEPS = [
    ("provider", _("Provider")),
    ("sign_in", _("Sign in")),
    ("from", _("From addresses")),
    ("servers", _("Server details")),
    ("sharing", _("Sharing")),
    ("sync", _("First sync")),
]


def integrate_required(view):
    """Let in only signed-in users with the "integrate email" permission.

    Anonymous users go to the login page; signed-in users without the
    permission get 403.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def account_required(view):
    """Pass the user's own mailbox to view, or send them to connect one.

    A user has at most one mailbox, so these pages never take an id and
    cannot reach another user's mailbox.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        account = MailAccount.objects.filter(owner=request.user).first()
        if account is None:
            return redirect("emailsync:settings")
        return view(request, account, *args, **kwargs)

    return integrate_required(wrapper)


# Session key of the mailbox whose setup wizard the user is in, from the
# successful connection until the first sync is started.
SETUP_ACCOUNT_KEY = "emailsync_setup_account"


def is_setting_up(request, account):
    """Tell whether the owner is still in the setup wizard of account.

    The session marks the wizard from the connection until the owner starts
    the first sync, so a sync that starts meanwhile (new mail seen by the
    IDLE watcher) does not cut the wizard short. A mailbox never synced nor
    asked to sync counts as in setup too, so the owner can resume it from
    another browser.
    """
    if request.session.get(SETUP_ACCOUNT_KEY) == account.pk:
        return True
    return account.sync_requested_at is None and account.first_synced_at is None


def end_setup(request):
    request.session.pop(SETUP_ACCOUNT_KEY, None)


def wizard_context(current, request=None, account=None):
    """Return the template context of the wizard's progress bar, or {} outside the wizard."""
    if account is not None and not is_setting_up(request, account):
        return {}
    keys = [key for key, _label in WIZARD_STEPS]
    position = keys.index(current)
    steps = [
        {"key": key, "label": label, "number": number, "is_current": key == current, "is_done": number <= position}
        for number, (key, label) in enumerate(WIZARD_STEPS, start=1)
    ]
    return {"wizard_steps": steps, "wizard_position": position + 1, "wizard_count": len(steps)}
