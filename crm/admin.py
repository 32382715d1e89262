from django.contrib import admin
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


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "expires_on", "updated_at"]
    list_filter = ["kind", "expires_on"]
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
