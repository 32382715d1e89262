"""Sign in with Google or Microsoft: send the user to the provider, and handle the return.

The buttons post here (CSRF-protected), never link, so a third-party page
cannot start a sign-in in the user's name. One callback URL serves every
provider and purpose, because the pending sign-in that its `state` names
records which (see oauth_flow.py). A failed sign-in shows its reason on the page
the user came from and saves nothing.
"""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.addresses import normalize_address

from .. import oauth_flow, ratelimit
from ..models import MailAccount
from ..oauth import provider_for_preset
from ..oauth_flow import SignInFailed
from ..providers import get_provider
from ..services import VerificationFailed, connect_mailbox, reconnect_with_oauth
from ..sync_options import queue_sync_now
from .access import account_required, integrate_required, is_setting_up
from .setup import DEFAULT_SYNC_WINDOW_DAYS, continue_setup, preset_servers, preset_step, rate_limit_message

logger = logging.getLogger(__name__)


@require_POST
@preset_step
def oauth_start(request, provider):
    """Start connecting a new mailbox with the provider's sign-in."""
    if provider_for_preset(provider.key) is None:
        raise Http404("This provider's sign-in is not set up.")
    return redirect(oauth_flow.start(request, provider.key, oauth_flow.CONNECT))


@require_POST
@account_required
def oauth_reconnect(request, account):
    """Sign in again for the owner's mailbox: renew its grant, or replace its password."""
    if not can_sign_in(account):
        raise Http404("This mailbox cannot use the provider's sign-in.")
    url = oauth_flow.start(
        request, account.provider, oauth_flow.RECONNECT, account_id=account.pk, login_hint=account.email_address,
    )
    return redirect(url)


@require_GET
@integrate_required
def oauth_callback(request):
    """Handle the provider's redirect back to the site."""
    try:
        flow, provider = oauth_flow.take_pending(request)
    except SignInFailed as failure:
        return _failed(request, failure)

    allowance = ratelimit.take_check(request.user)
    if not allowance.allowed:
        messages.error(request, rate_limit_message(allowance))
        return _back(request, flow["preset"], flow["purpose"])

    try:
        if flow["purpose"] == oauth_flow.RECONNECT:
            return _reconnect(request, flow, provider)
        return _connect(request, flow, provider)
    except SignInFailed as failure:
        return _failed(request, failure)


def _connect(request, flow, provider):
    """Check and save a new mailbox with the sign-in's tokens."""
    preset = get_provider(flow["preset"])
    if preset is None or MailAccount.objects.filter(owner=request.user).exists():
        raise SignInFailed(oauth_flow.INVALID_STATE, flow["preset"], flow["purpose"])
    sign_in = oauth_flow.finish(request, flow, provider)

    incoming, outgoing = preset_servers(preset, "imap", sign_in.address, password="")
    incoming.access_token = outgoing.access_token = sign_in.tokens.access_token
    try:
        account = connect_mailbox(
            request.user, sign_in.address, incoming, outgoing, provider=preset.key, smtp_same_credentials=True,
            hold_first_sync=True, sync_window_days=DEFAULT_SYNC_WINDOW_DAYS, oauth_tokens=sign_in.tokens,
        )
    except VerificationFailed as failure:
        messages.error(request, _check_failed_message(provider, failure))
        return redirect("emailsync:connect_provider", key=preset.key)
    except ValidationError as error:
        messages.info(request, error.messages[0])
        return redirect("emailsync:mailbox")
    return continue_setup(request, account)


def _reconnect(request, flow, provider):
    """Check the owner's mailbox with the new grant and make it use the grant."""
    account = MailAccount.objects.filter(owner=request.user, pk=flow["account"]).first()
    if account is None:
        raise SignInFailed(oauth_flow.INVALID_STATE, flow["preset"], flow["purpose"])
    sign_in = oauth_flow.finish(request, flow, provider)

    expected = {account.email_normalized, normalize_address(account.incoming_login)}
    if normalize_address(sign_in.address) not in expected:
        raise SignInFailed(
            oauth_flow.WRONG_ACCOUNT, flow["preset"], flow["purpose"], provider=provider.name,
            signed_in=sign_in.address, address=account.email_address,
        )
    try:
        reconnect_with_oauth(account, sign_in.address, sign_in.tokens)
    except VerificationFailed as failure:
        messages.error(request, _check_failed_message(provider, failure))
        return redirect("emailsync:server_edit")

    if not is_setting_up(request, account):
        queue_sync_now(account)
    messages.success(request, _("You signed in again with %(provider)s: the mailbox syncs with the new access.")
                     % {"provider": provider.name})
    return redirect("emailsync:mailbox")


def can_sign_in(account):
    """Tell whether account may (re)connect with its provider's sign-in.

    TODO: POP3 mailboxes stay with passwords until pop3.py speaks SASL
    XOAUTH2 (AUTH with an initial response, RFC 5034); the wizard's
    sign-in connects IMAP only.
    """
    return account.is_imap and provider_for_preset(account.provider) is not None


def _check_failed_message(provider, failure):
    step = failure.verification.failed_step
    return _("You signed in with %(provider)s, but the check “%(step)s” failed: %(reason)s Nothing was saved.") % {
        "provider": provider.name, "step": step.label, "reason": step.message,
    }


def _failed(request, failure):
    logger.warning(
        "Sign-in failed: user=%s preset=%s purpose=%s reason=%s",
        request.user.pk, failure.preset_key or "-", failure.purpose or "-", failure.reason,
    )
    messages.error(request, failure.message())
    return _back(request, failure.preset_key, failure.purpose)


def _back(request, preset_key, purpose):
    """Return to the page the sign-in started from, as far as it is known."""
    has_mailbox = MailAccount.objects.filter(owner=request.user).exists()
    if purpose == oauth_flow.RECONNECT and has_mailbox:
        return redirect("emailsync:server_edit")
    if has_mailbox:
        return redirect("emailsync:mailbox")
    if preset_key and get_provider(preset_key) is not None:
        return redirect("emailsync:connect_provider", key=preset_key)
    return redirect("emailsync:settings")
