"""The form of an email written in the CRM.

Every value that ends up in a header (subject, addresses, display names)
is rejected when it contains a line break or another control character:
a line break would let the text add headers of its own (header
injection).
"""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalize_address, parse_address_list

from .drafts import DRAFT_KEY_PATTERN
from .models import DraftAttachment, FromAddress
from .outgoing import Draft

# Tab is allowed. NEL and the Unicode line and paragraph separators count
# as line breaks: Python's email package refuses them in headers.
# Within DATA_UPLOAD_MAX_MEMORY_SIZE at 4 bytes a character, with room for
# the other fields.
MAX_BODY_CHARACTERS = 1_000_000

_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


class HeaderTextField(forms.CharField):
    """A one-line header value such as the subject.

    Surrounding space is removed only after the check, so a trailing line
    break is reported rather than silently dropped.
    """

    def __init__(self, **kwargs):
        kwargs["strip"] = False
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if _CONTROL_CHARACTERS.search(value):
            raise ValidationError(
                _("Write this on one line: line breaks and control characters are not allowed."),
                code="line_break",
            )
        return value.strip()


class AddressListField(forms.CharField):
    """Addresses separated by commas, each "Name <address>" or a bare address.

    Cleans to a list of (display name, address) pairs.
    """

    def __init__(self, **kwargs):
        kwargs["strip"] = False
        kwargs.setdefault("widget", forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        # TODO: accept internationalised local parts (RFC 6532) here once
        # parse_address_list does; sending.transmit already uses SMTPUTF8
        # for them when the server offers it.
        pairs = parse_address_list(value)
        for name, _address in pairs:
            if _CONTROL_CHARACTERS.search(name):
                raise ValidationError(
                    _("The name “%(name)s” contains a control character. Remove it."),
                    code="line_break", params={"name": name},
                )
        return pairs


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file input that accepts several files; cleans to a list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(item, initial) for item in data if item]
        return [clean_one(data, initial)] if data else []


class FromAddressField(forms.ModelChoiceField):
    """A confirmed From address of the mailbox.

    `unconfirmed` contains the mailbox's aliases that wait for confirmation,
    so that choosing one gets an error saying so rather than the generic
    "not one of the available choices".
    """

    unconfirmed = FromAddress.objects.none()

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "invalid_choice":
                raise
            pending = self.unconfirmed.filter(pk=value).first() if str(value).isdigit() else None
            if pending is None:
                raise
            raise ValidationError(
                _("“%(address)s” is waiting for confirmation. Open the link sent to that address, "
                  "or send a new one from the From addresses page."),
                code="unconfirmed", params={"address": pending.address},
            ) from None

    def label_from_instance(self, from_address):
        if from_address.display_name:
            return f"{from_address.display_name} <{from_address.address}>"
        return from_address.address


class ComposeForm(forms.Form):
    """From, recipients, subject, text and attachments of one email.

    `account` is the sender's mailbox: From offers its From addresses, the
    default one first. `extra_addresses` are (display name, address) pairs
    offered as tick boxes beside To, such as a record's secondary
    addresses. `draft_key` selects the attachments kept from an earlier
    submission of this form.
    """

    from_address = FromAddressField(queryset=FromAddress.objects.none(), empty_label=None, label=_("From"))
    to = AddressListField(label=_("To"), required=False, help_text=_("Separate addresses with commas."))
    also_to = forms.MultipleChoiceField(
        label=_("Also send to"), required=False, widget=forms.CheckboxSelectMultiple,
    )
    cc = AddressListField(label=_("Cc"), required=False)
    bcc = AddressListField(
        label=_("Bcc"), required=False,
        help_text=_("Bcc recipients receive the email without the others seeing their addresses."),
    )
    subject = HeaderTextField(label=_("Subject"), max_length=500)
    body = forms.CharField(
        label=_("Message"), required=False, strip=False, max_length=MAX_BODY_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 14}),
    )
    keep_attachments = forms.ModelMultipleChoiceField(
        label=_("Attached files"), queryset=DraftAttachment.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Untick a file to leave it out."),
    )
    attachments = MultipleFileField(label=_("Attach files"), required=False)
    draft_key = forms.RegexField(regex=DRAFT_KEY_PATTERN, widget=forms.HiddenInput)

    def __init__(self, *args, account, extra_addresses=(), draft_attachments=None, **kwargs):
        super().__init__(*args, **kwargs)
        from_addresses = account.from_addresses.confirmed().order_by("-is_default", "address")
        self.fields["from_address"].queryset = from_addresses
        self.fields["from_address"].unconfirmed = account.from_addresses.filter(confirmed_at__isnull=True)
        self.fields["from_address"].initial = from_addresses.first()
        self.extra_addresses = {normalize_address(address): (name, address) for name, address in extra_addresses}
        self.fields["also_to"].choices = [(address, address) for _name, address in extra_addresses]
        if not extra_addresses:
            del self.fields["also_to"]
        if draft_attachments is not None and draft_attachments.exists():
            self.fields["keep_attachments"].queryset = draft_attachments
            self.fields["keep_attachments"].label_from_instance = attachment_label
        else:
            del self.fields["keep_attachments"]
        self.fields["attachments"].help_text = _("Up to %(limit)s in total.") % {
            "limit": filesizeformat(settings.EMAILSYNC_MAX_ATTACHMENTS_BYTES),
        }

    def clean_from_address(self):
        sender = self.cleaned_data["from_address"]
        if _CONTROL_CHARACTERS.search(sender.display_name):
            raise ValidationError(
                _("The display name of this From address contains a line break. Correct it in the email settings."),
                code="line_break",
            )
        return sender

    def clean(self):
        cleaned_data = super().clean()
        also_to = [self.extra_addresses[normalize_address(item)] for item in cleaned_data.get("also_to", [])]
        cleaned_data["to"] = unique_pairs((cleaned_data.get("to") or []) + also_to)
        recipients = cleaned_data["to"] + (cleaned_data.get("cc") or []) + (cleaned_data.get("bcc") or [])
        if not recipients and not self.has_error("to") and not self.has_error("cc") and not self.has_error("bcc"):
            self.add_error("to", ValidationError(_("Enter at least one recipient."), code="required"))
        return cleaned_data

    def build_draft(self, attachments, in_reply_to="", references=(), default_name=""):
        """Return the Draft of the valid form, with the given attachments.

        `default_name` is the display name of a From address that has none,
        usually the user's full name.
        """
        data = self.cleaned_data
        sender = data["from_address"]
        if _CONTROL_CHARACTERS.search(default_name):
            default_name = ""
        return Draft(
            sender=(sender.display_name or default_name, sender.address),
            to=data["to"],
            cc=data.get("cc") or [],
            bcc=data.get("bcc") or [],
            subject=data["subject"],
            body=data.get("body") or "",
            attachments=attachments,
            in_reply_to=in_reply_to,
            references=list(references),
            token=data["draft_key"],
        )


def attachment_label(attachment):
    return f"{attachment.filename} ({filesizeformat(attachment.size)})"


def unique_pairs(pairs):
    """Return (name, address) pairs without repeated addresses, in order."""
    seen = set()
    result = []
    for name, address in pairs:
        key = normalize_address(address)
        if key not in seen:
            seen.add(key)
            result.append((name, address))
    return result
