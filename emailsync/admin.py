"""The Django admin for operators: mailboxes, their sync state and stored mail.

Every list stays fast with a million messages: per-account counts come from
subqueries annotated in `get_queryset`, related rows from
`list_select_related`, and the big tables count at most 10,000 rows and
skip Django's second, unfiltered count. No `__str__` shown in a list runs
a query.

Stored secrets never reach a page. The encrypted fields are in no form,
list, read-only display or URL filter, and a password is replaced only by
typing a new one into a field that encrypts it on save. Nor are they sent
to a server they were not entered for: a change to a server, port,
security or username needs the password typed again, and the servers of a
mailbox that signs in with its provider are read-only.

Message content (subject, addresses, bodies, attachments, raw bytes) is
shown to superusers only, and so is searching or filtering by it, because
a search that matches reveals words of the content. Other staff see the
metadata they need to follow a sync: dates, owner, mailbox, direction and
size. The rule itself is emailsync.sharing.can_view_content_in_admin.
"""

import logging

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.functional import cached_property
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.addresses import normalize_address

from . import accounts, errors
from .annotations import with_sync_counts
from .admin_actions import deactivate_mailboxes, has_deactivate_mailbox_permission
from .models import (
    Folder, FromAddress, GroupSharingPolicy, MailAccount, Message, Participant, SharingExclusion,
    SyncFailure, SyncRun, UserActivity,
)
from .sharing import can_view_content_in_admin
from .tasks import queue_sync

logger = logging.getLogger(__name__)

# Fields of Message that say what the mail is about or whom it involves.
# Non-superusers may neither see nor filter by them.
MESSAGE_CONTENT_FIELDS = {
    "subject", "from_address", "from_display", "to_display", "cc_display", "message_id", "in_reply_to",
    "references", "thread_key", "snippet", "text_body", "html_body", "has_attachments", "attachments",
    "parse_problems", "raw", "participants",
}

# Reasons a message could not be stored, as recorded by emailsync.storage.
FAILURE_REASONS = {
    "store_failed": _("The message could not be saved in the database."),
}


class ContentLookupGuard:
    """Reject URL filters on `content_lookup_fields` from users who may not read content.

    Django's admin allows a lookup on any local field by default, so without
    this `?subject__icontains=...` would reveal subjects through result counts.
    """

    content_lookup_fields = set()

    def lookup_allowed(self, lookup, value, request=None):
        field = lookup.split("__")[0]
        if field in self.content_lookup_fields and not (request and can_view_content_in_admin(request.user)):
            return False
        return super().lookup_allowed(lookup, value, request)


class SecretLookupGuard:
    """Reject URL filters that reach an encrypted secret, from every user.

    Django's admin allows a lookup on any local field by default, so without
    this `?incoming_password_encrypted__startswith=g` would reveal stored
    ciphertext one character at a time through result counts.
    """

    def lookup_allowed(self, lookup, value, request=None):
        if lookup_reaches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)


def lookup_reaches_secret(model, lookup):
    """Return whether a lookup such as `account__smtp_password_encrypted__gt` reads an encrypted field.

    Every encrypted field's name ends in `_encrypted`, the convention
    emailsync.key_rotation relies on as well.
    """
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.name.endswith("_encrypted"):
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


class ReadOnly:
    """Admin options for rows that only the application writes, so nobody adds, edits or deletes them here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CappedCountPaginator(Paginator):
    """Count at most `cap` rows, so a list of millions pages without a full COUNT(*).

    PostgreSQL 15 counts a million messages in about 0.1 s, and the time
    grows with the table. Past the cap, the page says "more than" and the
    operator narrows the list with filters or search.
    """

    cap = 10_000

    @cached_property
    def count(self):
        # Without the ordering, PostgreSQL can count from an index alone.
        return self.object_list.order_by()[: self.cap + 1].count()

    @property
    def is_capped(self):
        return self.count > self.cap


def error_text(code, **params):
    """Return the plain-language text of an error code, or "" for no error."""
    if not code:
        return ""
    return errors.message_for(code, **params)


# --- Mailbox actions ------------------------------------------------------


@admin.action(description=_("Sync now"), permissions=["change"])
def sync_now(modeladmin, request, queryset):
    """Queue a sync of each selected active account on the task cluster."""
    queued = 0
    for account_id in queryset.filter(status=MailAccount.Status.ACTIVE).values_list("pk", flat=True):
        queue_sync(account_id)
        queued += 1
    skipped = queryset.exclude(status=MailAccount.Status.ACTIVE).count()
    logger.info("Admin queued syncs: user=%s accounts=%s skipped=%s", request.user.pk, queued, skipped)

    if queued:
        modeladmin.message_user(request, ngettext(
            "Sync queued for %(count)s mailbox.", "Sync queued for %(count)s mailboxes.", queued,
        ) % {"count": queued}, messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, ngettext(
            "%(count)s paused mailbox was not synced; resume it first.",
            "%(count)s paused mailboxes were not synced; resume them first.", skipped,
        ) % {"count": skipped}, messages.WARNING)


@admin.action(description=_("Pause sync"), permissions=["change"])
def pause_sync(modeladmin, request, queryset):
    """Pause each selected active account with the reason "paused by an operator"."""
    paused = 0
    for account in queryset.filter(status=MailAccount.Status.ACTIVE):
        accounts.pause(account, errors.PAUSED_BY_OPERATOR)
        paused += 1
    logger.info("Admin paused accounts: user=%s accounts=%s", request.user.pk, paused)
    modeladmin.message_user(request, ngettext(
        "%(count)s mailbox paused.", "%(count)s mailboxes paused.", paused,
    ) % {"count": paused}, messages.SUCCESS if paused else messages.WARNING)


@admin.action(description=_("Resume sync"), permissions=["change"])
def resume_sync(modeladmin, request, queryset):
    """Resume each selected paused account with fresh failure counters.

    An account that a deactivation is deleting stays paused: resuming it
    would let a sync store messages that the deactivation then misses.
    """
    paused = queryset.filter(status=MailAccount.Status.PAUSED)
    resumed = 0
    for account in paused.exclude(pause_reason=errors.DEACTIVATING):
        accounts.resume(account)
        resumed += 1
    deactivating = paused.filter(pause_reason=errors.DEACTIVATING).count()
    logger.info(
        "Admin resumed accounts: user=%s accounts=%s deactivating=%s", request.user.pk, resumed, deactivating,
    )

    modeladmin.message_user(request, ngettext(
        "%(count)s mailbox resumed.", "%(count)s mailboxes resumed.", resumed,
    ) % {"count": resumed}, messages.SUCCESS if resumed else messages.WARNING)
    if deactivating:
        modeladmin.message_user(request, ngettext(
            "%(count)s mailbox is being deactivated and was not resumed.",
            "%(count)s mailboxes are being deactivated and were not resumed.", deactivating,
        ) % {"count": deactivating}, messages.WARNING)


# --- Mailboxes ------------------------------------------------------------


class MailAccountAdminForm(forms.ModelForm):
    """The account's editable settings plus two write-only password fields."""

    new_incoming_password = forms.CharField(
        label=_("New incoming server password"), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Type a new password to replace the stored one. Leave empty to keep it, unless you change "
            "a server, port, security or username."
        ),
    )
    new_smtp_password = forms.CharField(
        label=_("New outgoing server password"), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Used only when the outgoing server does not use the same credentials. "
            "Leave empty to keep the stored one, unless you change the outgoing server, port, security "
            "or username."
        ),
    )

    class Meta:
        model = MailAccount
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for field in ("incoming_security", "smtp_security"):
            if cleaned.get(field) == "plain" and not settings.EMAILSYNC_ALLOW_PLAINTEXT:
                self.add_error(field, _(
                    "Unencrypted connections are not allowed on this site "
                    "(EMAILSYNC_ALLOW_PLAINTEXT is off). Choose SSL/TLS or STARTTLS."
                ))
        for field in ("incoming_port", "smtp_port"):
            port = cleaned.get(field)
            if port is not None and not 1 <= port <= 65535:
                self.add_error(field, _("A port number is between 1 and 65535; %(port)s is not.") % {"port": port})
        self.require_passwords_for_new_servers(cleaned)
        return cleaned

    def require_passwords_for_new_servers(self, cleaned):
        """Add an error to each blank password whose server changed, so the stored one is not reused.

        The server fields of a mailbox that signs in with its provider are
        read-only, so they never count as changed here.
        """
        same_credentials = cleaned.get("smtp_same_credentials", self.instance.smtp_same_credentials)
        retype = accounts.passwords_to_retype(set(self.changed_data), same_credentials)
        for password, changed_fields in retype.items():
            field = f"new_{password}_password"
            if not cleaned.get(field):
                self.add_error(field, accounts.retype_password_error(changed_fields))


class AccountPartInline(admin.TabularInline):
    """Rows that belong to a mailbox, with the mailbox's own permissions.

    A user who may view the mailbox may view them, and one who may change
    the mailbox may edit them.
    """

    extra = 0

    def has_view_permission(self, request, obj=None):
        user = request.user
        return user.has_perm("emailsync.view_mailaccount") or user.has_perm("emailsync.change_mailaccount")

    def has_add_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("emailsync.change_mailaccount")

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)


class FromAddressInline(AccountPartInline):
    model = FromAddress
    fields = ["address", "display_name", "is_default", "confirmed_at"]
    # Only the owner confirms, by the link emailed to the alias.
    readonly_fields = ["confirmed_at"]


class SharingExclusionInline(AccountPartInline):
    """The addresses and domains the owner never shares, editable here by superusers only.

    Deleting one would let the mailbox's audience, an operator among them,
    read mail the owner chose to keep private.
    """

    model = SharingExclusion
    fields = ["value"]

    def has_change_permission(self, request, obj=None):
        return can_view_content_in_admin(request.user) and super().has_change_permission(request, obj)


class FolderInline(ReadOnly, AccountPartInline):
    """The account's folders with their sync checkpoint, read-only."""

    model = Folder
    can_delete = False
    show_change_link = False
    fields = [
        "name", "role", "is_sync_enabled", "exists_on_server", "server_message_count", "backlog",
        "last_synced_at", "folder_error",
    ]
    readonly_fields = fields

    @admin.display(description=_("last error"))
    def folder_error(self, folder):
        return error_text(folder.last_error_code, folder=folder.name)


class ErrorFilter(admin.SimpleListFilter):
    title = _("last sync")
    parameter_name = "error"

    def lookups(self, request, model_admin):
        return [("yes", _("Failed")), ("no", _("Succeeded"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error_code="")
        if self.value() == "no":
            return queryset.filter(last_error_code="")
        return queryset


class FailedMessagesFilter(admin.SimpleListFilter):
    title = _("failed messages")
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return [("yes", _("Some")), ("no", _("None"))]

    def queryset(self, request, queryset):
        unresolved = SyncFailure.objects.filter(account=OuterRef("pk"), resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(Exists(unresolved))
        if self.value() == "no":
            return queryset.exclude(Exists(unresolved))
        return queryset


@admin.register(MailAccount)
class MailAccountAdmin(SecretLookupGuard, admin.ModelAdmin):
    """Connected mailboxes: state at a glance, actions to sync, pause and resume."""

    form = MailAccountAdminForm
    change_form_template = "admin/emailsync/mailaccount/change_form.html"
    list_display = [
        "email_address", "owner", "incoming_protocol", "provider", "status", "pause_reason_summary",
        "last_synced_at", "backlog_total", "failed_total", "last_error_summary",
    ]
    list_filter = ["status", ErrorFilter, FailedMessagesFilter, "provider", "incoming_protocol"]
    list_select_related = ["owner"]
    search_fields = ["email_address", "owner__username", "owner__email", "incoming_host", "incoming_login"]
    ordering = ["email_address"]
    actions = [sync_now, pause_sync, resume_sync, deactivate_mailboxes]
    inlines = [FromAddressInline, SharingExclusionInline, FolderInline]
    autocomplete_fields = ["shared_users", "shared_groups"]
    # The sign-in method changes only on the owner's pages: the provider's
    # sign-in sets OAuth 2.0, and a new password there replaces it.
    readonly_fields = [
        "owner", "auth_method", "status", "pause_reason_text", "incoming_password_state", "smtp_password_state",
        "oauth_token_state", "last_error_text", "last_error_detail", "last_error_at", "last_synced_at",
        "first_synced_at", "sync_started_at", "progress", "consecutive_auth_failures", "consecutive_failures",
        "next_attempt_at", "lease_owner", "lease_expires_at", "created_at", "updated_at", "sync_history",
    ]
    fieldsets = [
        (None, {"fields": ["owner", "email_address", "provider", "status", "pause_reason_text"]}),
        (_("Sync state"), {"fields": [
            "sync_window_days", "last_synced_at", "first_synced_at", "sync_started_at", "progress",
            "last_error_text", "last_error_detail", "last_error_at", "consecutive_auth_failures",
            "consecutive_failures", "next_attempt_at", "lease_owner", "lease_expires_at", "sync_history",
            "created_at", "updated_at",
        ]}),
        (_("Incoming server"), {"fields": [
            "incoming_protocol", "incoming_host", "incoming_port", "incoming_security", "incoming_login",
            "auth_method", "incoming_password_state", "new_incoming_password",
        ]}),
        (_("Outgoing server"), {"fields": [
            "smtp_host", "smtp_port", "smtp_security", "smtp_same_credentials", "smtp_login",
            "smtp_password_state", "new_smtp_password", "store_sent_on_server",
        ]}),
        (_("Sharing"), {"fields": ["sharing_mode", "sharing_level", "shared_users", "shared_groups"]}),
    ]

    # The provider fixes the servers of a mailbox that signs in with it, and
    # its access token must not be sent anywhere else.
    oauth_server_fields = [
        "provider", "incoming_protocol", "incoming_host", "incoming_port", "incoming_security", "incoming_login",
        "smtp_host", "smtp_port", "smtp_security", "smtp_same_credentials", "smtp_login",
    ]

    def get_queryset(self, request):
        return with_sync_counts(super().get_queryset(request))

    # Who sees the mailbox is the owner's choice, and operators set it for
    # a whole group with a GroupSharingPolicy. Only superusers, who may read
    # the content here anyway, edit these fields.
    sharing_fields = ["sharing_mode", "sharing_level", "shared_users", "shared_groups"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.auth_method == MailAccount.AuthMethod.OAUTH2:
            fields += self.oauth_server_fields
        if not can_view_content_in_admin(request.user):
            fields += self.sharing_fields
        return fields

    def get_fieldsets(self, request, obj=None):
        """Show a mailbox that signs in with its provider without password fields.

        Its access and refresh tokens come from the provider's sign-in, so
        there is no password to type; the page says only whether a token is stored.
        """
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.auth_method != MailAccount.AuthMethod.OAUTH2:
            return fieldsets
        passwords = {"incoming_password_state", "new_incoming_password", "smtp_password_state", "new_smtp_password"}
        adjusted = []
        for name, options in fieldsets:
            fields = [field for field in options["fields"] if field not in passwords]
            if "auth_method" in fields:
                fields.insert(fields.index("auth_method") + 1, "oauth_token_state")
            adjusted.append((name, {**options, "fields": fields}))
        return adjusted

    def has_deactivate_mailbox_permission(self, request):
        return has_deactivate_mailbox_permission(request)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        if obj is not None:
            context["can_resume"] = (
                obj.status == MailAccount.Status.PAUSED and obj.pause_reason != errors.DEACTIVATING
            )
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    # Mailboxes are connected by their owners (or with `add_mailbox`), which
    # check the servers first. Deleting one here would leave its synced
    # messages behind without an account.
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Save the edited fields and newly typed passwords; resume an account paused for its login.

        Only the changed fields are written, because a sync may update the
        account's state (status, lease, progress, errors) at the same time.
        """
        new_password = form.cleaned_data.get("new_incoming_password")
        new_smtp_password = form.cleaned_data.get("new_smtp_password")
        columns = {field.name for field in MailAccount._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in columns]
        if new_password:
            obj.set_incoming_password(new_password)
            changed.append("incoming_password_encrypted")
        if new_smtp_password:
            obj.set_smtp_password(new_smtp_password)
            changed.append("smtp_password_encrypted")
        if changed:
            obj.save(update_fields=[*changed, "email_normalized", "updated_at"])

        if new_password or new_smtp_password:
            logger.info(
                "Admin replaced a password: user=%s account=%s incoming=%s smtp=%s",
                request.user.pk, obj.pk, bool(new_password), bool(new_smtp_password),
            )
        if new_password and obj.status == MailAccount.Status.PAUSED and obj.pause_reason in errors.AUTH_CODES:
            accounts.resume(obj)
            self.message_user(request, _("The new password resumed the sync of this mailbox."), messages.INFO)

    @admin.display(description=_("backlog"), ordering="backlog_total")
    def backlog_total(self, account):
        return account.backlog_total

    @admin.display(description=_("failed messages"), ordering="failed_total")
    def failed_total(self, account):
        if not account.failed_total:
            return 0
        url = reverse("admin:emailsync_syncfailure_changelist")
        return format_html('<a href="{}?account__id__exact={}">{}</a>', url, account.pk, account.failed_total)

    @admin.display(description=_("pause reason"))
    def pause_reason_text(self, account):
        if account.status != MailAccount.Status.PAUSED:
            return ""
        return error_text(account.pause_reason, host=account.incoming_host, port=account.incoming_port)

    @admin.display(description=_("last error"))
    def last_error_text(self, account):
        return error_text(account.last_error_code, host=account.incoming_host, port=account.incoming_port)

    @admin.display(description=_("pause reason"))
    def pause_reason_summary(self, account):
        return summary(self.pause_reason_text(account))

    @admin.display(description=_("last error"))
    def last_error_summary(self, account):
        return summary(self.last_error_text(account))

    @admin.display(description=_("incoming password"))
    def incoming_password_state(self, account):
        return secret_state(account.incoming_password_encrypted)

    @admin.display(description=_("outgoing password"))
    def smtp_password_state(self, account):
        if account.smtp_same_credentials:
            return _("Same as the incoming server")
        return secret_state(account.smtp_password_encrypted)

    @admin.display(description=_("provider sign-in"))
    def oauth_token_state(self, account):
        return secret_state(account.oauth_refresh_token_encrypted)

    @admin.display(description=_("progress"))
    def progress(self, account):
        if not account.progress_total:
            return "—"
        return f"{account.progress_done} / {account.progress_total}"

    @admin.display(description=_("sync history"))
    def sync_history(self, account):
        url = reverse("admin:emailsync_syncrun_changelist")
        return format_html('<a href="{}?account__id__exact={}">{}</a>', url, account.pk, _("Sync runs"))

    # One-account buttons on the change page, posting to the same actions.

    def get_urls(self):
        routes = [
            ("sync", sync_now), ("pause", pause_sync), ("resume", resume_sync),
        ]
        custom = [
            path(
                f"<path:object_id>/{name}/", self.admin_site.admin_view(self.object_action_view(action)),
                name=f"emailsync_mailaccount_{name}",
            )
            for name, action in routes
        ]
        return custom + super().get_urls()

    def object_action_view(self, action):
        def view(request, object_id):
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            if not self.has_change_permission(request):
                raise PermissionDenied
            queryset = MailAccount.objects.filter(pk=object_id)
            if not queryset.exists():
                raise Http404
            action(self, request, queryset)
            return HttpResponseRedirect(reverse("admin:emailsync_mailaccount_change", args=[object_id]))
        return view


def summary(text, length=60):
    """Return `text` cut to `length` characters, whole in a tooltip."""
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}</span>', text, Truncator(text).chars(length))


def secret_state(token):
    """Say whether a secret is stored, never what it is."""
    return _("Stored (encrypted)") if token else _("Not set")


# --- Messages -------------------------------------------------------------


@admin.register(Message)
class MessageAdmin(ReadOnly, ContentLookupGuard, SecretLookupGuard, admin.ModelAdmin):
    """Stored messages, read-only. Only superusers see their content."""

    list_display = ["id", "sort_date", "account", "owner", "direction", "origin", "size"]
    list_display_links = ["id", "sort_date"]
    # No date_hierarchy: its year and month links cost a scan of every
    # message's date. The sort_date filter's ranges use its index.
    list_filter = ["direction", "origin", "sort_date", "is_body_parsed", "account"]
    list_select_related = ["account", "owner"]
    list_per_page = 50
    paginator = CappedCountPaginator
    show_full_result_count = False
    ordering = ["-sort_date"]
    content_lookup_fields = MESSAGE_CONTENT_FIELDS
    search_help_text = _(
        "Search by message number or the owner's username; superusers also by Message-ID header, "
        "an exact sender or recipient address, or words of the subject."
    )
    # Non-empty so that Django shows the search box. get_search_results
    # does the matching.
    search_fields = ["owner__username"]
    metadata_fields = [
        "account", "owner", "origin", "direction", "sort_date", "sent_at", "internal_date", "size",
        "content_hash", "is_body_parsed", "server_locations", "created_at",
    ]
    content_fields = [
        "subject", "from_address", "from_display", "to_display", "cc_display", "message_id", "in_reply_to",
        "thread_key", "gm_msgid", "snippet", "text_body", "html_body", "has_attachments", "attachment_list",
        "parse_problems", "raw_link",
    ]

    def get_list_display(self, request):
        if can_view_content_in_admin(request.user):
            return [*self.list_display[:3], "subject", "from_address", *self.list_display[3:]]
        return self.list_display

    def get_fields(self, request, obj=None):
        if can_view_content_in_admin(request.user):
            return [*self.metadata_fields, *self.content_fields]
        return self.metadata_fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_search_results(self, request, queryset, search_term):
        """Match by exact, indexed values, and for superusers by content too.

        A number is a message id; other terms are an owner's username. For
        superusers, `<...>` is a Message-ID header, a text with "@" an
        address on the message (From, To, Cc or Bcc), and anything else
        words of the subject.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        if not can_view_content_in_admin(request.user):
            return queryset.filter(owner__username=term), False
        if term.startswith("<") and term.endswith(">"):
            return queryset.filter(message_id=term), False
        if "@" in term:
            senders = Participant.objects.filter(address=normalize_address(term)).values("message_id")
            return queryset.filter(pk__in=senders), False
        return queryset.filter(subject__icontains=term), False

    def history_view(self, request, object_id, extra_context=None):
        # Log entries describe a message in words that may quote its content.
        if not can_view_content_in_admin(request.user):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    @admin.display(description=_("in folders"))
    def server_locations(self, message):
        locations = message.locations.select_related("folder").order_by("folder__name")
        return format_html_join(
            "\n", "<div>{} (UID {}, UIDVALIDITY {})</div>",
            ((location.folder.name, location.uid, location.uidvalidity) for location in locations),
        ) or "—"

    @admin.display(description=_("attachments"))
    def attachment_list(self, message):
        return format_html_join(
            "\n", "<div>{} · {} · {} bytes</div>",
            ((item.get("filename") or _("(unnamed file)"), item.get("content_type", ""), item.get("size", ""))
             for item in message.attachments),
        ) or "—"

    @admin.display(description=_("raw message"))
    def raw_link(self, message):
        url = reverse("admin:emailsync_message_raw", args=[message.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download as .eml"))

    def get_urls(self):
        raw = path(
            "<path:object_id>/raw/", self.admin_site.admin_view(self.raw_view), name="emailsync_message_raw",
        )
        return [raw, *super().get_urls()]

    def raw_view(self, request, object_id):
        """Send the message exactly as the server returned it, to superusers."""
        if not can_view_content_in_admin(request.user):
            raise PermissionDenied
        message = get_object_or_404(Message.objects.select_related("raw"), pk=object_id)
        logger.info("Admin downloaded a raw message: user=%s message=%s", request.user.pk, message.pk)

        response = HttpResponse(message.raw.data, content_type="message/rfc822")
        response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response


# --- Failed messages ------------------------------------------------------


@admin.action(description=_("Retry now"), permissions=["retry"])
def retry_failures(modeladmin, request, queryset):
    """Make the selected failures due now and queue a sync of their accounts."""
    unresolved = queryset.filter(resolved_at__isnull=True)
    account_ids = set(unresolved.values_list("account_id", flat=True))
    retried = unresolved.update(next_retry_at=timezone.now())
    active = MailAccount.objects.filter(pk__in=account_ids, status=MailAccount.Status.ACTIVE)
    for account_id in active.values_list("pk", flat=True):
        queue_sync(account_id)
    logger.info(
        "Admin retried failed messages: user=%s failures=%s accounts=%s",
        request.user.pk, retried, len(account_ids),
    )
    modeladmin.message_user(request, ngettext(
        "%(count)s failed message will be retried by the next sync.",
        "%(count)s failed messages will be retried by the next sync.", retried,
    ) % {"count": retried}, messages.SUCCESS if retried else messages.WARNING)


class ResolvedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", _("Still failing")), ("yes", _("Stored on a later try"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(SyncFailure)
class SyncFailureAdmin(ReadOnly, ContentLookupGuard, SecretLookupGuard, admin.ModelAdmin):
    """Messages a sync could not store, with their reason and next retry."""

    list_display = [
        "id", "account", "folder", "server_id", "reason_text", "attempts", "first_failed_at",
        "last_failed_at", "next_retry_at", "resolved_at",
    ]
    list_filter = [ResolvedFilter, "reason_code", "account"]
    list_select_related = ["account", "folder"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    ordering = ["-last_failed_at"]
    content_lookup_fields = {"detail"}
    actions = [retry_failures]
    fields = [
        "account", "folder", "uidvalidity", "uid", "pop3_uidl", "reason_code", "reason_text",
        "attempts", "first_failed_at", "last_failed_at", "next_retry_at", "resolved_at",
    ]

    def has_retry_permission(self, request):
        return request.user.has_perm("emailsync.change_syncfailure")

    def get_fields(self, request, obj=None):
        # The database's error text can quote the row it could not store.
        if can_view_content_in_admin(request.user):
            return [*self.fields, "detail"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("message on the server"))
    def server_id(self, failure):
        if failure.pop3_uidl:
            return f"UIDL {failure.pop3_uidl}"
        return f"UID {failure.uid}"

    @admin.display(description=_("reason"), ordering="reason_code")
    def reason_text(self, failure):
        return FAILURE_REASONS.get(failure.reason_code, failure.reason_code)


# --- Sync history ---------------------------------------------------------


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnly, SecretLookupGuard, admin.ModelAdmin):
    """Every sync of every account: when, by which worker, with what outcome."""

    list_display = [
        "started_at", "account", "outcome", "duration", "created", "linked", "failed", "removed",
        "error_text", "worker",
    ]
    list_filter = ["outcome", "started_at", "account"]
    list_select_related = ["account"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    ordering = ["-started_at"]

    @admin.display(description=_("duration"))
    def duration(self, run):
        if run.finished_at is None:
            return "—"
        seconds = (run.finished_at - run.started_at).total_seconds()
        return f"{seconds:.1f} s"

    @admin.display(description=_("error"), ordering="error_code")
    def error_text(self, run):
        if run.outcome != SyncRun.Outcome.ERROR:
            return run.error_code
        return error_text(run.error_code)


# --- Sharing and activity -------------------------------------------------


@admin.register(GroupSharingPolicy)
class GroupSharingPolicyAdmin(SecretLookupGuard, admin.ModelAdmin):
    list_display = ["group", "sharing_mode", "sharing_level", "priority"]
    list_select_related = ["group"]
    list_filter = ["sharing_mode", "sharing_level"]
    search_fields = ["group__name"]
    autocomplete_fields = ["group"]
    ordering = ["-priority", "group__name"]


@admin.register(UserActivity)
class UserActivityAdmin(ReadOnly, SecretLookupGuard, admin.ModelAdmin):
    """When each user last sent mail from the CRM or opened incoming mail, read-only."""

    list_display = ["user", "last_sent_at", "last_interaction_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    ordering = ["user__username"]

