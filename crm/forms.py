from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import capfirst
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from .addresses import normalize_address, split_addresses, validate_address
from .models import Contact, Lead, Profile

# The column width of SecondaryEmail.address and Record.email.
MAX_ADDRESS_LENGTH = 254


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class RecordForm(forms.ModelForm):
    """The form of a Lead or a Contact, with its secondary addresses.

    Secondary addresses are typed one per line (commas and semicolons also
    separate them). Each invalid one is reported by name, and an address
    equal to the primary one, compared in normalised form, is rejected.
    """

    secondary_emails = forms.CharField(
        label=_("Secondary email addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_("One address per line. Emails to or from any of them appear on this record."),
    )
    owner = OwnerChoiceField(
        label=_("Owner"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            addresses = self.instance.secondary_emails.order_by("pk").values_list("address", flat=True)
            self.initial["secondary_emails"] = "\n".join(addresses)

    def clean_secondary_emails(self):
        addresses = split_addresses(self.cleaned_data["secondary_emails"])
        errors = [error for error in map(check_secondary_address, addresses) if error]
        if errors:
            raise ValidationError(errors)
        return addresses

    def clean(self):
        cleaned_data = super().clean()
        primary = normalize_address(cleaned_data.get("email"))
        for address in cleaned_data.get("secondary_emails") or []:
            if primary and normalize_address(address) == primary:
                self.add_error("secondary_emails", ValidationError(
                    _("“%(address)s” is already the primary email address. Remove it from the secondary addresses."),
                    code="duplicate_primary",
                    params={"address": address},
                ))
        return cleaned_data

    @transaction.atomic
    def save(self, commit=True):
        record = super().save(commit=commit)
        if commit:
            save_secondary_emails(record, self.cleaned_data["secondary_emails"])
        return record


def check_secondary_address(address):
    """Return a ValidationError naming `address` if it is not usable, else None."""
    if len(address) > MAX_ADDRESS_LENGTH:
        return ValidationError(
            _("“%(address)s” is longer than %(limit)d characters."),
            code="max_length",
            params={"address": address, "limit": MAX_ADDRESS_LENGTH},
        )
    try:
        validate_address(address)
    except ValidationError:
        # The same message as crm.addresses.parse_address_list, so it is
        # translated once.
        return ValidationError(
            _("“%(value)s” is not a valid email address."),
            code="invalid",
            params={"value": address},
        )
    return None


def save_secondary_emails(record, addresses):
    """Make the record's secondary addresses exactly `addresses`.

    Rows whose normalised address stays are kept, and their spelling is
    updated to the one typed.
    """
    typed_by_normalized = {normalize_address(address): address for address in addresses}
    record.secondary_emails.exclude(address_normalized__in=typed_by_normalized).delete()
    for normalized, address in typed_by_normalized.items():
        record.secondary_emails.update_or_create(
            address_normalized=normalized, defaults={"address": address},
        )


class LeadForm(RecordForm):
    class Meta:
        model = Lead
        fields = ["first_name", "last_name", "company", "status", "email", "secondary_emails", "phone", "owner"]


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "title", "company", "email", "secondary_emails", "phone", "owner"]


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["language"]
        widgets = {"language": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language is named in itself, so a reader can find their own.
        languages = [(code, capfirst(get_language_info(code)["name_local"])) for code, _name in settings.LANGUAGES]
        self.fields["language"].choices = [("", _("Same as my browser")), *languages]
