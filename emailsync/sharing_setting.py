"""Store a mailbox's sharing setting and its exclusion list.

Who sees what is decided in sharing.py at query time from what is stored
here, so a change applies at once, to earlier messages too.
"""

import logging

from django.db import transaction

from .models import SharingExclusion, SharingMode
from .services import group_sharing_policy, require_permission

logger = logging.getLogger(__name__)


def update_sharing(account, *, mode, level, users=(), groups=()):
    """Save the audience and the level of a mailbox's sharing.

    A setting an operator fixed for one of the owner's groups wins over
    mode and level. Users and groups are kept only for the custom mode,
    so a private or public mailbox never carries a stale list.
    Returns the policy that applied, or None.
    """
    require_permission(account.owner)
    policy = group_sharing_policy(account.owner)
    if policy is not None:
        mode, level = policy.sharing_mode, policy.sharing_level
    if mode != SharingMode.CUSTOM:
        users, groups = (), ()

    with transaction.atomic():
        account.sharing_mode, account.sharing_level = mode, level
        account.save(update_fields=["sharing_mode", "sharing_level", "updated_at"])
        account.shared_users.set([user for user in users if user.pk != account.owner_id])
        account.shared_groups.set(groups)
    logger.info(
        "Sharing changed: account=%s mode=%s level=%s users=%s groups=%s policy_group=%s",
        account.pk, mode, level, len(users), len(groups), policy.group_id if policy else "",
    )
    return policy


def replace_exclusions(account, values):
    """Make the exclusion list exactly values (normalised addresses and domains)."""
    require_permission(account.owner)
    new_values = list(dict.fromkeys(values))
    with transaction.atomic():
        account.sharing_exclusions.exclude(value__in=new_values).delete()
        existing = set(account.sharing_exclusions.values_list("value", flat=True))
        SharingExclusion.objects.bulk_create(
            SharingExclusion(account=account, value=value) for value in new_values if value not in existing
        )
    logger.info("Sharing exclusions changed: account=%s exclusions=%s", account.pk, len(new_values))
