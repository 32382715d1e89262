"""Who may see which stored messages.

Every list, detail page, download and count of messages goes through
`visible_messages`, so the sharing rules live in one place.
"""

from django.db.models import BooleanField, ExpressionWrapper, Q

from .models import MailAccount, Message, SharingLevel, SharingMode


def visible_messages(user):
    """Return the messages `user` may see in the CRM.

    A user sees the messages of their own mailbox, and those of mailboxes
    shared publicly or with them (directly or through one of their groups).
    """
    if not user.is_authenticated:
        return Message.objects.none()

    shared_accounts = MailAccount.objects.filter(
        Q(sharing_mode=SharingMode.PUBLIC)
        | Q(sharing_mode=SharingMode.CUSTOM, shared_users=user)
        | Q(sharing_mode=SharingMode.CUSTOM, shared_groups__in=user.groups.all())
    ).values("pk")
    return Message.objects.filter(Q(owner=user) | Q(account__in=shared_accounts))


def annotate_content_visibility(messages, user):
    """Add `is_content_visible` to each message: whether `user` may read its content.

    Content is the body, the snippet and the attachments. The owner always
    sees it; other users see it only when the mailbox shares whole messages
    rather than metadata (date, From, To, subject). Apply it to a queryset
    already limited by `visible_messages(user)`.
    """
    condition = Q(owner_id=user.pk) | Q(account__sharing_level=SharingLevel.FULL)
    return messages.annotate(is_content_visible=ExpressionWrapper(condition, output_field=BooleanField()))
