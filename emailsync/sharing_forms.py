"""The owner's form for Settings > Channels > Email > Email sharing settings."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_domain_name, validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import MailAccount, SharingExclusion, SharingMode
from .sharing import normalize_exclusion

# The column width of SharingExclusion.value.
MAX_EXCLUSION_LENGTH = 254


class UserChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class SharingForm(forms.ModelForm):
    """Audience, level and exclusion list of one mailbox.

    Exclusions are typed one per line: an address (ana@example.com) or a
    domain (example.com, also written @example.com). Each invalid line is
    reported by its text, and nothing is saved until every line is valid.
    """

    shared_users = UserChoiceField(
        label=_("Shared with users"), required=False, help_text=_("Used when the sharing is custom."),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    shared_groups = forms.ModelMultipleChoiceField(
        label=_("Shared with groups"), required=False, queryset=Group.objects.order_by("name"),
        help_text=_("Used when the sharing is custom."),
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    exclusions = forms.CharField(
        label=_("Never share messages with these addresses or domains"), required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_(
            "One per line: an address (ana@example.com) or a domain (example.com, which also covers its "
            "subdomains). Messages with any of them among the sender or recipients stay visible to you only."
        ),
    )

    class Meta:
        model = MailAccount
        fields = ["sharing_mode", "sharing_level", "shared_users", "shared_groups"]
        widgets = {"sharing_mode": forms.RadioSelect, "sharing_level": forms.RadioSelect}

    def __init__(self, *args, exclusions_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        if exclusions_only:
            # An operator's policy decides the rest; see emailsync.sharing.
            for name in self._meta.fields:
                del self.fields[name]
            return
        self.fields["shared_users"].queryset = self.fields["shared_users"].queryset.exclude(pk=self.instance.owner_id)

    def get_initial_for_field(self, field, field_name):
        if field_name == "exclusions":
            return "\n".join(self.instance.sharing_exclusions.order_by("value").values_list("value", flat=True))
        return super().get_initial_for_field(field, field_name)

    def clean_exclusions(self):
        values, errors = [], []
        for line in self.cleaned_data["exclusions"].replace(",", "\n").replace(";", "\n").splitlines():
            item = line.strip()
            if not item:
                continue
            try:
                normalized = validate_exclusion(item)
            except ValidationError as error:
                errors.append(error)
                continue
            if normalized not in values:
                values.append(normalized)
        if errors:
            raise ValidationError(errors)
        return values

    def clean(self):
        cleaned = super().clean()
        if "sharing_mode" not in self.fields:
            return cleaned
        custom = cleaned.get("sharing_mode") == SharingMode.CUSTOM
        if custom and not cleaned.get("shared_users") and not cleaned.get("shared_groups"):
            self.add_error("shared_users", _("Choose at least one user or group, or choose another sharing option."))
        return cleaned

    @transaction.atomic
    def save(self, commit=True):
        account = super().save(commit=commit)
        account.sharing_exclusions.exclude(value__in=self.cleaned_data["exclusions"]).delete()
        existing = set(account.sharing_exclusions.values_list("value", flat=True))
        SharingExclusion.objects.bulk_create(
            SharingExclusion(account=account, value=value)
            for value in self.cleaned_data["exclusions"] if value not in existing
        )
        return account


def validate_exclusion(text):
    """Return the normalised form of one exclusion line, or raise ValidationError naming it."""
    normalized = normalize_exclusion(text)
    invalid = ValidationError(
        _("“%(value)s” is neither an email address nor a domain. Write it as ana@example.com or example.com."),
        code="invalid", params={"value": text},
    )
    if not normalized or len(normalized) > MAX_EXCLUSION_LENGTH:
        raise invalid
    try:
        if "@" in normalized:
            validate_email(normalized)
        else:
            validate_domain_name(normalized)
    except ValidationError:
        raise invalid from None
    if "@" not in normalized and "." not in normalized:
        raise invalid
    return normalized
