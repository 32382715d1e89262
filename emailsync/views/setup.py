"""Settings > Channels > Email: connect a mailbox, the wizard's first steps.

Popular provider: choose it, choose IMAP or POP3 and type the address,
then type the password and connect. For Gmail, Outlook.com and Microsoft
365 a "Sign in with Google / Microsoft" button comes first where the site
has that provider's OAuth client (see views/oauth.py). Other email: one page with both
servers. The session keeps the provider, protocol and address between
pages. The password exists only in the request that checks and saves the
mailbox, and is never written to the session.
"""

import logging
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import ratelimit
from ..errors import MailError
from ..forms import CustomServerForm, ProviderAddressForm, ProviderPasswordForm, default_ports_json
from ..models import MailAccount, Security
from ..oauth import provider_for_preset
from ..providers import all_providers, get_provider
from ..services import VerificationFailed, connect_mailbox
from ..sync_options import refresh_folder_list
from ..verify import ServerSettings
from .access import SETUP_ACCOUNT_KEY, integrate_required, wizard_context
from .checks import add_check_error, custom_error_field, help_for_failure, preset_error_field

logger = logging.getLogger(__name__)

SESSION_KEY = "emailsync_setup"
# The first sync's window until the owner picks another one in the wizard.
DEFAULT_SYNC_WINDOW_DAYS = 90


def _has_mailbox(user):
    return MailAccount.objects.filter(owner=user).exists()


@integrate_required
def email_settings(request):
    """Open Email configuration: the list of providers, or the mailbox page once connected."""
    if _has_mailbox(request.user):
        return redirect("emailsync:mailbox")
    return render(request, "emailsync/email_settings.html", {
        "providers": all_providers(), **wizard_context("provider"),
    })


def preset_step(view):
    """Pass the preset named in the URL to view; users with a mailbox go to its page."""

    @wraps(view)
    def wrapper(request, key):
        provider = get_provider(key)
        if provider is None:
            raise Http404("No such provider preset.")
        if _has_mailbox(request.user):
            return redirect("emailsync:mailbox")
        return view(request, provider)

    return integrate_required(wrapper)


@preset_step
def provider_address(request, provider):
    """Step two of a preset: IMAP or POP3, and the email address."""
    key = provider.key
    state = request.session.get(SESSION_KEY, {})
    initial = state if state.get("provider") == key else None
    form = ProviderAddressForm(request.POST or None, provider=provider, initial=initial)
    if request.method == "POST" and form.is_valid():
        request.session[SESSION_KEY] = {
            "provider": key, "protocol": form.cleaned_data["protocol"],
            "email_address": form.cleaned_data["email_address"],
        }
        return redirect("emailsync:connect_password", key=key)

    return render(request, "emailsync/setup/provider_address.html", {
        "provider": provider, "form": form, "page_title": _connect_title(provider),
        "oauth_provider": provider_for_preset(key), **wizard_context("sign_in"),
    })


def _connect_title(provider):
    return _("Connect %(name)s") % {"name": provider.name}


@preset_step
def provider_password(request, provider):
    """Step three of a preset: the password, then the real check and the save."""
    key = provider.key
    state = request.session.get(SESSION_KEY, {})
    if state.get("provider") != key or not state.get("email_address"):
        return redirect("emailsync:connect_provider", key=key)

    incoming, outgoing = preset_servers(provider, state["protocol"], state["email_address"], password="")
    form = ProviderPasswordForm(request.POST or None)
    verification = None
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"]
        incoming.password, outgoing.password = password, password
        outcome = _connect(
            request, form, state["email_address"], incoming, outgoing,
            error_field=preset_error_field, provider=key, smtp_same_credentials=incoming.login == outgoing.login,
        )
        if not isinstance(outcome, _Failure):
            return outcome
        verification = outcome.verification

    return render(request, "emailsync/setup/provider_password.html", {
        "provider": provider, "form": form, "email_address": state["email_address"], "page_title": _connect_title(provider),
        "incoming": incoming, "outgoing": outgoing, "verification": verification,
        "incoming_security": Security(incoming.security).label, "outgoing_security": Security(outgoing.security).label,
        "help": help_for_failure(verification, provider), "oauth_provider": provider_for_preset(key),
        **wizard_context("sign_in"),
    })


def preset_servers(provider, protocol, email_address, password):
    """Return the (incoming, outgoing) ServerSettings of a preset for an address."""
    server = provider.incoming(protocol)
    if server is None:
        raise Http404("This provider does not offer that protocol.")
    incoming = ServerSettings(
        protocol, server.host, server.port, server.security,
        provider.login_for(email_address, provider.incoming_login_form), password,
    )
    smtp = provider.smtp
    outgoing = ServerSettings(
        "smtp", smtp.host, smtp.port, smtp.security,
        provider.login_for(email_address, provider.smtp_login_form), password,
    )
    return incoming, outgoing


@integrate_required
def custom_server(request):
    """Other email: any IMAP or POP3 server and its SMTP server, on one page."""
    if _has_mailbox(request.user):
        return redirect("emailsync:mailbox")

    form = CustomServerForm(request.POST or None)
    verification = None
    if request.method == "POST" and form.is_valid():
        same_credentials = form.cleaned_data["smtp_same_credentials"]
        outcome = _connect(
            request, form, form.cleaned_data["email_address"], form.incoming_settings(), form.outgoing_settings(),
            error_field=lambda step: custom_error_field(step, same_credentials),
            provider="custom", smtp_same_credentials=same_credentials,
        )
        if not isinstance(outcome, _Failure):
            return outcome
        verification = outcome.verification

    return render(request, "emailsync/setup/custom_server.html", {
        "form": form, "page_title": _("Other email"), "verification": verification, "help": help_for_failure(verification, None, form),
        "default_ports_json": default_ports_json(), **wizard_context("sign_in"),
    })


class _Failure:
    def __init__(self, verification=None):
        self.verification = verification


def _connect(request, form, email_address, incoming, outgoing, *, error_field, **options):
    """Check and save the mailbox; return a redirect, or a _Failure with errors on form.

    error_field(step) names the form field a failed step points at, or None.
    """
    allowance = ratelimit.take_check(request.user)
    if not allowance.allowed:
        form.add_error(None, rate_limit_message(allowance))
        return _Failure()

    try:
        account = connect_mailbox(
            request.user, email_address, incoming, outgoing, hold_first_sync=True,
            sync_window_days=DEFAULT_SYNC_WINDOW_DAYS, **options,
        )
    except VerificationFailed as failure:
        step = failure.verification.failed_step
        add_check_error(form, error_field(step), step)
        return _Failure(failure.verification)
    except ValidationError as error:
        messages.info(request, error.messages[0])
        return redirect("emailsync:mailbox")

    return continue_setup(request, account)


def continue_setup(request, account):
    """Lead a newly connected account to the wizard's steps after connecting."""
    request.session.pop(SESSION_KEY, None)
    request.session[SETUP_ACCOUNT_KEY] = account.pk
    read_folder_list(account)
    messages.success(request, _("Your mailbox is connected: every check passed. Now choose how to use it."))
    return redirect("emailsync:from_addresses")


def rate_limit_message(allowance):
    return ngettext(
        "You have checked a connection many times in a short while. To protect your account at "
        "the provider, wait %(minutes)d minute and try again.",
        "You have checked a connection many times in a short while. To protect your account at "
        "the provider, wait %(minutes)d minutes and try again.",
        allowance.retry_after_minutes,
    ) % {"minutes": allowance.retry_after_minutes}


def read_folder_list(account):
    """Read the server's folders so the wizard can offer them; a failure only logs.

    The first sync lists the folders again, so a server that fails here
    loses nothing: the owner can refresh the list later.
    """
    try:
        refresh_folder_list(account)
    except MailError as error:
        logger.warning(
            "Folder list not read after connecting: account=%s code=%s detail=%s",
            account.pk, error.code, error.detail[:300],
        )
        return False
    return True

