"""Who may see which stored messages.

Every list, detail page, download and count of messages goes through
`visible_messages`, so the sharing rules live in one place.
"""

from django.db.models import Q

from .models import MailAccount, Message, SharingMode


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
