"""Read-only admin of stored messages, with content for superusers only.

Staff without superuser status see metadata at most: dates, owner,
mailbox, direction, size. Subjects, addresses, bodies and attachments
stay hidden from them, and so does searching them, because a search
that matches reveals words of the content. The rule itself is
emailsync.sharing.can_view_content_in_admin.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied

from .models import Message
from .sharing import can_view_content_in_admin

METADATA_FIELDS = (
    "owner", "account", "origin", "direction", "sort_date", "internal_date", "size",
    "is_body_parsed", "created_at",
)
CONTENT_FIELDS = (
    "subject", "from_display", "to_display", "cc_display", "message_id", "in_reply_to", "thread_key",
    "snippet", "text_body", "html_body", "has_attachments", "attachments", "parse_problems",
)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_filter = ["direction", "origin", "sort_date"]
    list_select_related = ["owner", "account"]
    date_hierarchy = "sort_date"
    ordering = ["-sort_date"]

    def get_list_display(self, request):
        if can_view_content_in_admin(request.user):
            return ["sort_date", "owner", "direction", "subject", "from_address", "size"]
        return ["sort_date", "owner", "direction", "origin", "size"]

    def get_search_fields(self, request):
        if can_view_content_in_admin(request.user):
            return ["subject", "from_address", "message_id", "owner__username"]
        return ["owner__username"]

    def get_fields(self, request, obj=None):
        if can_view_content_in_admin(request.user):
            return METADATA_FIELDS + CONTENT_FIELDS
        return METADATA_FIELDS

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        # The page title and breadcrumbs show str(message), its subject.
        if obj is not None and not can_view_content_in_admin(request.user):
            context["subtitle"] = context["title"]
            context["original"] = NamedByNumber(obj)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    def history_view(self, request, object_id, extra_context=None):
        if not can_view_content_in_admin(request.user):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NamedByNumber:
    """A message that reads as "#<id>" instead of its subject, for pages shown to staff."""

    def __init__(self, message):
        self._message = message

    def __getattr__(self, name):
        return getattr(self._message, name)

    def __str__(self):
        return f"#{self._message.pk}"
