"""Write and send an email: from a Lead or Contact page, or as a reply.

Both pages share one flow. A user who cannot send (no permission, no
mailbox, a paused mailbox) sees why, with a link to the email settings.
On a form error or a failed send the page comes back with everything the
user wrote, attachments included, and says what went wrong.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.kinds import CONTACTS, LEADS

from .. import drafts
from ..compose_forms import ComposeForm
from ..errors import MailError
from ..models import Message
from ..replies import format_address, quote_body, reply_recipients, reply_subject, thread_ids
from ..send_failures import copy_failure_message, send_failure_message
from ..sending import (
    SendingUnavailable, SendResult, find_earlier_send, save_server_copy, send_draft, sending_account,
)
from .messages import get_visible_message

TEMPLATE = "emailsync/compose.html"
RECORD_KINDS = {kind.name: kind for kind in (LEADS, CONTACTS)}


@dataclass
class ComposePage:
    """The recipients, prefilled fields and return address of one compose page."""

    title: str
    back_url: str
    initial: dict
    extra_addresses: list = field(default_factory=list)
    replied: Message | None = None
    in_reply_to: str = ""
    references: list = field(default_factory=list)
    context: dict = field(default_factory=dict)

    def success_url(self, result):
        if self.replied is not None and result.message is not None:
            return reverse("emailsync:message_detail", args=[result.message.pk])
        return self.back_url


@login_required
def compose_to_record(request, kind_name, pk):
    """Write to a Lead or Contact the user can see, with its primary address in To."""
    kind = RECORD_KINDS[kind_name]
    record = get_object_or_404(kind.model.objects.visible_to(request.user), pk=pk)
    secondary = record.secondary_emails.order_by("pk").values_list("address", flat=True)
    page = ComposePage(
        title=_("Email to %(name)s") % {"name": record},
        back_url=record.get_absolute_url(),
        initial={"to": format_address(record.full_name, record.email) if record.email else ""},
        extra_addresses=[(record.full_name, address) for address in secondary],
        context={"object": record, "kind": kind},
    )
    return handle_compose(request, page)


@login_required
def reply(request, pk):
    """Reply to a stored message the user can see, or to all its recipients with ?all=1."""
    message = get_visible_message(request.user, pk)
    own_addresses = own_addresses_of(request.user)
    to, cc = reply_recipients(message, own_addresses, reply_all=request.GET.get("all") == "1")
    in_reply_to, references = thread_ids(message)
    page = ComposePage(
        title=_("Reply: %(subject)s") % {"subject": message.subject or _("(no subject)")},
        back_url=reverse("emailsync:message_detail", args=[message.pk]),
        initial={
            "to": ", ".join(format_address(item.display_name, item.original) for item in to),
            "cc": ", ".join(format_address(item.display_name, item.original) for item in cc),
            "subject": reply_subject(message.subject),
            # Quoting needs the content, which a metadata-only share hides.
            "body": quote_body(message) if message.is_content_visible else "",
        },
        replied=message,
        in_reply_to=in_reply_to,
        references=references,
        context={"replied": message},
    )
    return handle_compose(request, page)


def own_addresses_of(user):
    account = user.mail_accounts.first()
    return account.own_addresses() if account else set()


def handle_compose(request, page):
    """Show the compose form, or send it on POST."""
    try:
        account = sending_account(request.user)
    except SendingUnavailable as unavailable:
        status = 403 if request.method == "POST" else 200
        return render_page(request, page, None, status=status, unavailable=unavailable)

    if request.method == "POST":
        return submit(request, page, account)
    draft_key = drafts.new_draft_key()
    form = ComposeForm(
        initial={**page.initial, "draft_key": draft_key}, account=account,
        extra_addresses=page.extra_addresses, draft_attachments=drafts.kept_attachments(request.user, draft_key),
    )
    return render_page(request, page, form)


def submit(request, page, account):
    """Keep the uploads, validate, send; show the form again on any error."""
    user = request.user
    drafts.delete_stale_drafts()
    data = request.POST.copy()
    draft_key = drafts.valid_draft_key(data.get("draft_key"))
    data["draft_key"] = draft_key
    earlier = find_earlier_send(user, draft_key)
    if earlier is not None:
        # The form came again after its email went out (a second click, or
        # the browser resending it): show the outcome, send nothing.
        result = SendResult(message=earlier, is_repeat=True)
        report_result(request, result, account)
        return redirect(page.success_url(result))
    upload_error = keep_new_uploads(request, data, draft_key)

    form = ComposeForm(
        data, account=account, extra_addresses=page.extra_addresses,
        draft_attachments=drafts.kept_attachments(user, draft_key),
    )
    if not form.is_valid() or upload_error is not None:
        if upload_error is not None:
            form.add_error("attachments", upload_error)
        return render_page(request, page, form)

    kept_ids = [attachment.pk for attachment in form.cleaned_data.get("keep_attachments", [])]
    draft = form.build_draft(
        drafts.load_attachments(user, draft_key, kept_ids), page.in_reply_to, page.references,
        default_name=user.get_full_name(),
    )
    try:
        result = send_draft(user, draft, replied=page.replied)
    except MailError as error:
        return render_page(
            request, page, form,
            send_error=send_failure_message(error), error_code=error.code, needs_settings=error.is_auth_failure,
        )

    drafts.discard_draft(user, draft_key)
    report_result(request, result, account)
    return redirect(page.success_url(result))


def keep_new_uploads(request, data, draft_key):
    """Store the request's files as draft attachments and tick them in `data`.

    Returns the ValidationError when they are over the size limit (nothing
    is stored then), else None.
    """
    uploads = request.FILES.getlist("attachments")
    if not uploads:
        return None
    kept_ids = [int(value) for value in data.getlist("keep_attachments") if value.isdigit()]
    try:
        stored = drafts.keep_uploads(request.user, draft_key, uploads, kept_ids)
    except ValidationError as error:
        return error
    data.setlist("keep_attachments", [str(pk) for pk in kept_ids] + [str(row.pk) for row in stored])
    return None


def report_result(request, result, account):
    """Tell the user what happened to a send the server accepted."""
    if result.is_repeat:
        messages.info(request, _("This email had already been sent, so it was not sent again."))
        return
    if result.message is None:
        messages.warning(request, _(
            "The email was sent, but the CRM could not record it. It appears here after "
            "the next sync if your mail server keeps a copy in Sent."
        ))
    else:
        messages.success(request, _("Your email “%(subject)s” was sent.") % {"subject": result.message.subject})
    if result.copy_error is not None:
        messages.warning(request, copy_failure_message(result.copy_error.code, account.incoming_host))


def render_page(request, page, form, status=200, **extra):
    context = {
        "page": page, "form": form, "settings_url": reverse("emailsync:settings"),
        **page.context, **extra,
    }
    return render(request, TEMPLATE, context, status=status)


@login_required
@require_POST
def retry_server_copy(request, pk):
    """Try again to append a sent message's copy to the owner's Sent folder."""
    message = get_object_or_404(Message, pk=pk, owner=request.user, origin=Message.Origin.CRM)
    account = message.account
    target = reverse("emailsync:message_detail", args=[message.pk])
    if not message.server_copy_error or account is None or not account.is_imap:
        messages.info(request, _("There is no copy to save for this email."))
        return redirect(target)

    error = save_server_copy(account, message, bytes(message.raw.data))
    if error is None:
        messages.success(request, _("The copy is now saved in the Sent folder on your mail server."))
    else:
        messages.warning(request, copy_failure_message(error.code, account.incoming_host))
    return redirect(target)
