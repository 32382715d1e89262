"""Fill Message.thread_key for messages stored before conversations existed."""

import logging
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from emailsync.models import MailAccount, Message, Participant
from emailsync.threads import adopt_early_replies, assign_thread_keys

logger = logging.getLogger(__name__)


THREAD_FIELDS = ("message_id", "in_reply_to", "references", "subject", "content_hash", "owner_id", "sort_date")


def message_values(message):
    """Return the field values emailsync.threads reads, from a stored message."""
    return {name: getattr(message, name) for name in THREAD_FIELDS}


class Command(BaseCommand):
    help = "Assign conversation keys to stored messages that have none, oldest first, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="Messages per transaction (default 1000).")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            self.stderr.write(f"--batch-size must be at least 1, not {batch_size}.")
            return
        started = time.monotonic()
        own_addresses = {account.owner_id: account.own_addresses() for account in MailAccount.objects.all()}
        total = 0
        while True:
            done = self.assign_batch(batch_size, own_addresses)
            if not done:
                break
            total += done
            self.stdout.write(f"{total} messages assigned")
        logger.info("Thread keys assigned: messages=%s duration=%.1fs", total, time.monotonic() - started)
        self.stdout.write(self.style.SUCCESS(f"Done: {total} messages assigned."))

    def assign_batch(self, batch_size, own_addresses):
        """Assign keys to the oldest `batch_size` messages without one; return how many."""
        with transaction.atomic():
            messages = list(
                Message.objects.filter(thread_key="").order_by("sort_date", "pk")
                .only("pk", "owner_id", "message_id", "in_reply_to", "references", "subject", "content_hash", "sort_date")
                [:batch_size]
            )
            if not messages:
                return 0
            participants = {}
            for message_id, role, address in Participant.objects.filter(message__in=messages).values_list(
                "message_id", "role", "address",
            ):
                participants.setdefault(message_id, []).append((role, address, ""))
            entries = [(message_values(message), participants.get(message.pk, [])) for message in messages]
            for owner_id in {message.owner_id for message in messages}:
                assign_thread_keys(
                    [entry for entry in entries if entry[0]["owner_id"] == owner_id], own_addresses.get(owner_id, set()),
                )
            for message, (values, _participants) in zip(messages, entries):
                message.thread_key = values["thread_key"]
            Message.objects.bulk_update(messages, ["thread_key"])
            adopt_early_replies([values for values, _participants in entries])
        return len(messages)
