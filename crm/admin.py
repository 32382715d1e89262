from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Contact, ContactEmail, Lead, LeadEmail, Licence, Profile


class LeadEmailInline(admin.TabularInline):
    model = LeadEmail
    extra = 1
    fields = ["address"]


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    extra = 1
    fields = ["address"]


class RecordAdmin(admin.ModelAdmin):
    """Options shared by the Lead and Contact admins."""

    list_display = ["full_name", "company", "email", "phone", "owner", "updated_at"]
    list_filter = ["owner", "created_at", "updated_at"]
    list_select_related = ["owner"]
    search_fields = [
        "first_name", "last_name", "company", "email", "phone", "secondary_emails__address",
    ]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    date_hierarchy = "created_at"

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, record):
        return record.full_name


@admin.register(Lead)
class LeadAdmin(RecordAdmin):
    list_display = [*RecordAdmin.list_display[:2], "status", *RecordAdmin.list_display[2:]]
    list_filter = ["status", *RecordAdmin.list_filter]
    inlines = [LeadEmailInline]


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    list_display = [*RecordAdmin.list_display[:2], "title", *RecordAdmin.list_display[2:]]
    inlines = [ContactEmailInline]


class LicenceExpiryFilter(admin.SimpleListFilter):
    """Licences by expiry, counted in the site's time zone; uses the expires_on index."""

    title = _("expiry")
    parameter_name = "expiry"
    SOON_DAYS = 30

    def lookups(self, request, model_admin):
        return [
            ("soon", _("Expiring within 30 days")),
            ("expired", _("Expired")),
            ("never", _("Does not expire")),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "soon":
            return queryset.filter(expires_on__gte=today, expires_on__lte=today + timedelta(days=self.SOON_DAYS))
        if self.value() == "expired":
            return queryset.filter(expires_on__lt=today)
        if self.value() == "never":
            return queryset.filter(expires_on__isnull=True)
        return queryset


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "expires_on", "updated_at"]
    list_filter = ["kind", LicenceExpiryFilter]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]
    readonly_fields = ["updated_at"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "language"]
    list_filter = ["language"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
