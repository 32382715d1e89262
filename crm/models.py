from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .addresses import normalize_address


class Licence(models.Model):
    """The licence of one user: a trial or a paid plan, with an expiry date."""

    class Kind(models.TextChoices):
        TRIAL = "trial", _("Trial")
        PAID = "paid", _("Paid")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="licence",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TRIAL)
    expires_on = models.DateField(
        _("expires on"), null=True, blank=True,
        help_text=_("Last day the licence is valid. Leave empty for a licence that does not expire."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        indexes = [models.Index(fields=["expires_on"])]

    def __str__(self):
        return f"{self.user} ({self.get_kind_display()})"

    def is_expired(self, today=None):
        today = today or timezone.localdate()
        return self.expires_on is not None and self.expires_on < today


class Profile(models.Model):
    """Per-user preferences of the CRM."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("Language of pages and emails. Empty: follow the browser."),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self):
        return str(self.user)


class RecordQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Limit to the records the user may see.

        Users see the records they own. A user with the model's "view"
        permission (usually granted to a sales group) sees every record.
        """
        if not user.is_authenticated:
            return self.none()
        perm = f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"
        if user.has_perm(perm):
            return self
        return self.filter(owner=user)

    def search(self, text):
        text = (text or "").strip()
        if not text:
            return self
        condition = Q()
        for word in text.split():
            condition &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(company__icontains=word)
                | Q(phone__icontains=word)
                | Q(email__icontains=word)
                | Q(secondary_emails__address__icontains=word)
            )
        return self.filter(condition).distinct()


class Record(models.Model):
    """Fields common to Leads and Contacts."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100)
    company = models.CharField(_("company"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.EmailField(_("primary email"), max_length=254, blank=True)
    email_normalized = models.CharField(max_length=254, blank=True, db_index=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["last_name", "first_name", "id"]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    def save(self, *args, **kwargs):
        self.email = self.email.strip()
        self.email_normalized = normalize_address(self.email)
        super().save(*args, **kwargs)

    def normalized_addresses(self):
        """Return the normalised primary and secondary addresses (one query)."""
        addresses = {self.email_normalized} if self.email_normalized else set()
        addresses.update(self.secondary_emails.values_list("address_normalized", flat=True))
        return sorted(addresses)

    def can_edit(self, user):
        meta = self._meta
        return self.owner_id == user.pk or user.has_perm(f"{meta.app_label}.change_{meta.model_name}")

    def can_delete(self, user):
        meta = self._meta
        return self.owner_id == user.pk or user.has_perm(f"{meta.app_label}.delete_{meta.model_name}")


class Lead(Record):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        LOST = "lost", _("Lost")

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)

    class Meta(Record.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    def get_absolute_url(self):
        return reverse("crm:lead_detail", args=[self.pk])


class Contact(Record):
    title = models.CharField(_("job title"), max_length=100, blank=True)

    class Meta(Record.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def get_absolute_url(self):
        return reverse("crm:contact_detail", args=[self.pk])


class SecondaryEmail(models.Model):
    """Fields of one extra address of a record."""

    address = models.EmailField(_("address"), max_length=254)
    address_normalized = models.CharField(max_length=254, db_index=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self):
        return self.address

    def save(self, *args, **kwargs):
        self.address = self.address.strip()
        self.address_normalized = normalize_address(self.address)
        super().save(*args, **kwargs)


class LeadEmail(SecondaryEmail):
    record = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="secondary_emails")

    class Meta:
        verbose_name = _("secondary email")
        verbose_name_plural = _("secondary emails")
        constraints = [
            models.UniqueConstraint(fields=["record", "address_normalized"], name="lead_email_unique"),
        ]


class ContactEmail(SecondaryEmail):
    record = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="secondary_emails")

    class Meta:
        verbose_name = _("secondary email")
        verbose_name_plural = _("secondary emails")
        constraints = [
            models.UniqueConstraint(fields=["record", "address_normalized"], name="contact_email_unique"),
        ]
