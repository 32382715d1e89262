"""Settings of a connected mailbox, which are also the wizard's last steps.

From addresses, server details, sharing, and sync options. While the
owner is still setting up (no sync requested yet), each page leads to the
next one, and the last one starts the first sync. Afterwards each page
saves and returns to the mailbox page.
"""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import ratelimit
from ..errors import MailError
from ..forms import (
    FromAddressForm, PresetPasswordForm, ServerDetailsForm, SharingForm, SyncOptionsForm, default_ports_json,
)
from ..from_address_confirmation import send_confirmation
from ..from_addresses import add_from_address, remove_from_address, set_default_from_address
from ..notifications import notification_address
from ..oauth import provider_for_preset
from ..providers import get_provider
from ..services import VerificationFailed, group_sharing_policy, missing_passwords, update_servers
from ..sync_options import (
    account_is_gmail, queue_sync_now, refresh_folder_list, update_sync_options,
)
from ..sharing_setting import replace_exclusions, update_sharing
from ..verify import ServerSettings
from .access import account_required, end_setup, is_setting_up, wizard_context
from .checks import add_check_error, custom_error_field, help_for_failure, preset_error_field
from .from_address_confirmation import report_delivery
from .setup import rate_limit_message

logger = logging.getLogger(__name__)


def _done(request, account, next_step, message):
    """Go to the wizard's next step while setting up, else back to the mailbox page."""
    if is_setting_up(request, account):
        return redirect(next_step)
    messages.success(request, message)
    return redirect("emailsync:mailbox")


# --- From addresses ------------------------------------------------------------


@account_required
def from_addresses(request, account):
    """List the From addresses and add one, emailing it a confirmation link."""
    form = FromAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            from_address = add_from_address(account, form.cleaned_data["address"], form.cleaned_data["display_name"])
        except ValidationError as error:
            form.add_error("address", error)
        else:
            messages.success(request, _("“%(address)s” was added.") % {"address": from_address.address})
            if not from_address.is_confirmed:
                report_delivery(request, from_address, *send_confirmation(request.user, from_address))
            return redirect("emailsync:from_addresses")

    return render(request, "emailsync/mailbox/from_addresses.html", {
        "account": account, "form": form, "addresses": account.from_addresses.all(), "section": "from",
        **wizard_context("from", request, account),
    })


@require_POST
@account_required
def from_address_default(request, account, pk):
    from_address = get_object_or_404(account.from_addresses, pk=pk)
    try:
        set_default_from_address(account, from_address)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("“%(address)s” is now the default From address.") % {
            "address": from_address.address,
        })
    return redirect("emailsync:from_addresses")


@require_POST
@account_required
def from_address_remove(request, account, pk):
    from_address = get_object_or_404(account.from_addresses, pk=pk)
    try:
        remove_from_address(account, from_address)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("“%(address)s” was removed.") % {"address": from_address.address})
    return redirect("emailsync:from_addresses")


# --- Server details ------------------------------------------------------------


@account_required
def server_details(request, account):
    """Show the incoming and outgoing servers; passwords are never shown."""
    return render(request, "emailsync/mailbox/server_details.html", {
        "account": account, "provider": get_provider(account.provider), "section": "servers",
        "oauth_provider": provider_for_preset(account.provider, configured_only=False),
        **wizard_context("servers", request, account),
    })


@account_required
def server_edit(request, account):
    """Change the servers (custom mailbox) or the password (preset), checked for real first.

    A preset whose provider's sign-in is set up also offers the sign-in
    button here: to reconnect an OAuth mailbox, or to replace a password.
    A password saved for an OAuth mailbox replaces its sign-in.
    """
    provider = get_provider(account.provider)
    form = _server_form(request, account, provider)
    verification = None
    if request.method == "POST" and form.is_valid():
        if not form.has_changed():
            return _done(request, account, "emailsync:server_details", _("Nothing changed."))
        saved, verification = _save_servers(request, account, form, provider)
        if saved:
            message = _("The new server details passed every check and are saved.")
            return _done(request, account, "emailsync:server_details", message)

    return render(request, "emailsync/mailbox/server_edit.html", {
        "account": account, "provider": provider, "form": form, "verification": verification,
        "oauth_provider": provider_for_preset(account.provider) if provider and account.is_imap else None,
        "help": help_for_failure(verification, provider, form if provider is None else None),
        "default_ports_json": default_ports_json(), "section": "servers", **wizard_context("servers", request, account),
    })


def _server_form(request, account, provider):
    if provider is not None:
        return PresetPasswordForm(request.POST or None)
    return ServerDetailsForm(request.POST or None, initial=ServerDetailsForm.initial_for(account))


def _save_servers(request, account, form, provider):
    """Check and save; return (saved, the failed Verification or None).

    A refusal that is not a failed check (a password that must be typed
    again, the rate limit, an invalid value) comes back as (False, None)
    with the reason added to the form.
    """
    incoming, outgoing, same_credentials = _servers_from_form(account, form, provider)
    missing = missing_passwords(account, incoming, outgoing, smtp_same_credentials=same_credentials)
    for password, error in missing.items():
        form.add_error("password" if provider else f"{password}_password", error)
    if missing:
        return False, None

    allowance = ratelimit.take_check(request.user)
    if not allowance.allowed:
        form.add_error(None, rate_limit_message(allowance))
        return False, None

    try:
        update_servers(account, incoming, outgoing, smtp_same_credentials=same_credentials)
    except VerificationFailed as failure:
        step = failure.verification.failed_step
        field = preset_error_field(step) if provider else custom_error_field(step, same_credentials)
        add_check_error(form, field, step)
        return False, failure.verification
    except ValidationError as error:
        form.add_error("password" if provider else "incoming_password", error)
        return False, None
    return True, None


def _servers_from_form(account, form, provider):
    """Return (incoming, outgoing, same_credentials) to check, with empty passwords meaning "keep"."""
    if provider is None:
        same_credentials = form.cleaned_data["smtp_same_credentials"]
        return form.incoming_settings(account.incoming_protocol, account.email_address), \
            form.outgoing_settings(account.email_address), same_credentials

    password = form.cleaned_data["password"]
    incoming = ServerSettings(
        account.incoming_protocol, account.incoming_host, account.incoming_port, account.incoming_security,
        account.incoming_login, password,
    )
    outgoing = ServerSettings(
        "smtp", account.smtp_host, account.smtp_port, account.smtp_security, account.get_smtp_login(), password,
    )
    return incoming, outgoing, account.smtp_same_credentials


# --- Sharing -------------------------------------------------------------------


@account_required
def sharing(request, account):
    """Choose who else sees the mailbox's messages, how much, and what is never shared."""
    policy = group_sharing_policy(account.owner)
    form = SharingForm(request.POST or None, account=account, policy=policy, initial=SharingForm.initial_for(account))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        update_sharing(
            account, mode=data["sharing_mode"], level=data["sharing_level"],
            users=list(data["shared_users"]), groups=list(data["shared_groups"]),
        )
        replace_exclusions(account, data["exclusions"])
        return _done(request, account, "emailsync:sync_options", _("The sharing setting is saved and applies now."))

    return render(request, "emailsync/mailbox/sharing.html", {
        "account": account, "form": form, "policy": policy, "section": "sharing",
        **wizard_context("sharing", request, account),
    })


# --- Sync options and the first sync -----------------------------------------------


@account_required
def sync_options(request, account):
    """Choose how far back, which extra folders, and whether to store sent copies.

    While setting up, saving also starts the first sync.
    """
    form = SyncOptionsForm(request.POST or None, account=account, initial=SyncOptionsForm.initial_for(account))
    if request.method == "POST" and form.is_valid():
        setting_up = is_setting_up(request, account)
        reaches_further = update_sync_options(account, **form.options())
        # After the first sync, newly chosen folders or a longer period are
        # fetched at once rather than at the next scheduled sync.
        if setting_up or (account.first_synced_at is not None and form.has_changed()):
            queue_sync_now(account, full=reaches_further)
        if setting_up:
            end_setup(request)
            messages.success(request, first_sync_started_message(request.user, account))
        else:
            messages.success(request, _("The sync options are saved."))
        return redirect("emailsync:mailbox")

    return render(request, "emailsync/mailbox/sync_options.html", {
        "account": account, "form": form, "is_gmail": account_is_gmail(account),
        "has_folders": account.folders.exists(), "is_setting_up": is_setting_up(request, account), "section": "sync",
        **wizard_context("sync", request, account),
    })


def first_sync_started_message(user, account):
    """Return the message shown when the first sync starts, which promises an email only when one can be sent."""
    if notification_address(user, account.email_address):
        return _("The first sync has started. You can leave this page: you will get an email when it is complete.")
    return _("The first sync has started. You can leave this page and come back to follow its progress here.")


@require_POST
@account_required
def refresh_folders(request, account):
    """Read the folder list from the server again, for folders created since."""
    allowance = ratelimit.take_check(request.user)
    if not allowance.allowed:
        messages.error(request, rate_limit_message(allowance))
        return redirect("emailsync:sync_options")
    try:
        refresh_folder_list(account)
    except MailError as error:
        logger.warning("Folder list not read: account=%s code=%s", account.pk, error.code)
        messages.error(request, _("The folder list could not be read: %(reason)s") % {"reason": error.user_message()})
    else:
        messages.success(request, _("The folder list is up to date."))
    return redirect("emailsync:sync_options")
