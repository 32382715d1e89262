"""Near-real-time INBOX: one IDLE (RFC 2177) connection per active account.

Each watcher holds a connection open in IDLE on INBOX and calls
`on_change(account_id)` when the server reports new, expunged or changed
messages; the caller queues (or runs) a sync. IDLE is re-issued before the
29 minutes after which RFC 2177 allows servers to drop it. Servers without
IDLE are polled instead. A supervisor starts and stops watchers as
accounts are connected, paused or removed.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from . import accounts
from .errors import MailError
from .models import MailAccount, Protocol

logger = logging.getLogger(__name__)

# Untagged responses during IDLE that mean INBOX changed.
CHANGE_RESPONSES = {b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED"}


def _is_change(response):
    return isinstance(response, tuple) and any(
        isinstance(item, bytes) and item.upper() in CHANGE_RESPONSES for item in response
    )


class Watcher(threading.Thread):
    """Watch one account's INBOX until `stop()` or the account stops syncing."""

    def __init__(self, account_id, on_change):
        super().__init__(name=f"idle-{account_id}", daemon=True)
        self.account_id = account_id
        self.on_change = on_change
        self._stopping = threading.Event()

    def stop(self):
        self._stopping.set()

    def run(self):
        failures = 0
        while not self._stopping.is_set():
            account = MailAccount.objects.filter(pk=self.account_id).first()
            close_old_connections()
            if account is None or account.status != MailAccount.Status.ACTIVE:
                logger.info("IDLE watcher stops, account inactive: account=%s", self.account_id)
                return
            try:
                self._watch(account)
                failures = 0
            except MailError as error:
                failures += 1
                # Back off: 5 s, 10 s, 20 s ... at most 10 minutes. Login
                # failures are counted by the sync, which pauses the account.
                delay = min(5 * 2 ** (failures - 1), 600)
                logger.warning(
                    "IDLE watcher error: account=%s code=%s retry_in=%ss", self.account_id, error.code, delay,
                )
                self._stopping.wait(delay)

    def _watch(self, account):
        with accounts.open_imap(account) as session:
            if not session.has_capability("IDLE"):
                self._poll()
                return
            session.select("INBOX")
            logger.info("IDLE watcher started: account=%s", self.account_id)
            while not self._stopping.is_set():
                changed = self._idle_once(session)
                if changed:
                    self._notify()

    def _idle_once(self, session):
        """IDLE until a change, the renewal time or a stop; True on a change."""
        renew_at = time.monotonic() + settings.EMAILSYNC_IDLE_RENEW_SECONDS
        session.idle_start()
        changed = False
        try:
            while not self._stopping.is_set() and time.monotonic() < renew_at and not changed:
                responses = session.idle_wait(timeout=settings.EMAILSYNC_IDLE_CHECK_SECONDS)
                changed = any(_is_change(response) for response in responses)
        finally:
            session.idle_stop()
        return changed

    def _poll(self):
        logger.info("Server has no IDLE, polling: account=%s", self.account_id)
        while not self._stopping.wait(settings.EMAILSYNC_POLL_SECONDS):
            self._notify()
            if not MailAccount.objects.filter(pk=self.account_id, status=MailAccount.Status.ACTIVE).exists():
                return

    def _notify(self):
        try:
            self.on_change(self.account_id)
        except Exception:  # noqa: BLE001 - a failing callback must not kill the watcher
            logger.exception("IDLE change handler failed: account=%s", self.account_id)
        finally:
            close_old_connections()


class Supervisor:
    """Keep one Watcher per active IMAP account."""

    def __init__(self, on_change):
        self.on_change = on_change
        self.watchers = {}

    def refresh(self):
        # A mailbox never synced whose next attempt lies ahead is held while
        # its owner chooses the first sync's options in the setup pages.
        in_setup_hold = Q(first_synced_at__isnull=True, next_attempt_at__gt=timezone.now())
        active = set(
            MailAccount.objects.filter(
                status=MailAccount.Status.ACTIVE, incoming_protocol=Protocol.IMAP,
            ).exclude(in_setup_hold).values_list("pk", flat=True)
        )
        for account_id in list(self.watchers):
            watcher = self.watchers[account_id]
            if account_id not in active or not watcher.is_alive():
                watcher.stop()
                del self.watchers[account_id]
        for account_id in active - set(self.watchers):
            watcher = Watcher(account_id, self.on_change)
            watcher.start()
            self.watchers[account_id] = watcher
        close_old_connections()
        return len(self.watchers)

    def run(self, stop_event, refresh_seconds=60):
        while not stop_event.is_set():
            self.refresh()
            stop_event.wait(refresh_seconds)
        self.stop_all()

    def stop_all(self):
        for watcher in self.watchers.values():
            watcher.stop()
        for watcher in self.watchers.values():
            watcher.join(timeout=settings.EMAILSYNC_IDLE_CHECK_SECONDS + 5)
        self.watchers.clear()
