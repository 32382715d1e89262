"""Keep an IDLE connection per active IMAP account and sync on new mail."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand

from emailsync.idle import Supervisor
from emailsync.sync import sync_account
from emailsync.tasks import queue_sync

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Watch every active IMAP account's INBOX with IDLE and sync within seconds "
        "of new mail. Runs until interrupted."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--inline", action="store_true",
            help="Sync in this process instead of queueing a task for the cluster.",
        )
        parser.add_argument(
            "--refresh", type=int, default=60,
            help="Seconds between checks for accounts connected, paused or removed (default 60).",
        )

    def handle(self, *args, inline=False, refresh=60, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())

        on_change = sync_account if inline else queue_sync
        supervisor = Supervisor(on_change)
        if options["verbosity"] > 0:
            self.stdout.write(f"Watching active IMAP accounts ({'inline sync' if inline else 'queued sync'}).")
        supervisor.run(stop, refresh_seconds=refresh)
        if options["verbosity"] > 0:
            self.stdout.write("Stopped.")
