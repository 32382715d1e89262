"""The "Emails" related list of a Lead or Contact."""

from .models import Participant
from .sharing import visible_messages


def messages_for_record(record, viewer):
    """Return the messages `viewer` may see that involve `record`.

    A message involves a record when its From, To, Cc or Bcc holds the
    record's primary or any secondary address. Matching happens at read
    time, so an address added later shows earlier mail at once. Newest
    first.
    """
    addresses = record.normalized_addresses()
    if not addresses:
        return visible_messages(viewer).none()
    involved = Participant.objects.filter(address__in=addresses).values("message_id")
    return (
        visible_messages(viewer)
        .filter(pk__in=involved)
        .select_related("owner")
        .order_by("-sort_date", "-pk")
    )
