"""Recording what users do with mail inside the CRM; the cleanup policy reads it."""

from django.utils import timezone

from .models import UserActivity


def record_interaction(user, when=None):
    """Store that `user` interacted with an incoming message (opened it) now or at `when`."""
    UserActivity.objects.update_or_create(
        user=user, defaults={"last_interaction_at": when or timezone.now()},
    )


def record_sent(user, when=None):
    """Store that `user` sent an email from the CRM now or at `when`."""
    UserActivity.objects.update_or_create(
        user=user, defaults={"last_sent_at": when or timezone.now()},
    )
