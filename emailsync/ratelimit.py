"""Per-user limits on connection checks and on confirmation emails.

Each check opens connections and tries a password at a provider. Without
a limit, a user (or a script with their session) could probe servers, or
get their own account locked by the provider. Each confirmation email goes
from the site's own address to an address the user typed in, so without a
limit the site could be used to mail strangers in bulk. The counts live in
Django's cache: with several web processes, configure a shared cache
(CACHE_URL, e.g. Redis), or each process counts on its own.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


@dataclass
class Allowance:
    allowed: bool
    # Seconds until the window ends and checks are allowed again.
    retry_after: int = 0

    @property
    def retry_after_minutes(self):
        return max(1, -(-self.retry_after // 60))


def _keys(user):
    return f"emailsync:checks:{user.pk}:count", f"emailsync:checks:{user.pk}:start"


def take_check(user):
    """Count one connection check for user; return whether it may run.

    A fixed window: the first check starts it, and at most
    EMAILSYNC_CHECK_RATE_LIMIT checks run until it ends
    EMAILSYNC_CHECK_RATE_WINDOW seconds later.
    """
    count, allowance = _take(
        _keys(user), settings.EMAILSYNC_CHECK_RATE_LIMIT, settings.EMAILSYNC_CHECK_RATE_WINDOW,
    )
    if not allowance.allowed:
        logger.warning("Connection check rejected by the rate limit: user=%s checks=%s", user.pk, count)
    return allowance


def take_confirmation_email(user, from_address):
    """Count one confirmation email to from_address, sent for user; return whether it may go.

    Two fixed windows apply. Each address gets at most one email per
    EMAILSYNC_CONFIRMATION_RESEND_SECONDS, even when it is removed and added
    again. Each user sends at most EMAILSYNC_CONFIRMATION_EMAIL_LIMIT emails
    per EMAILSYNC_CONFIRMATION_EMAIL_WINDOW seconds, to any addresses.
    """
    _count, allowance = _take(_address_keys(from_address), 1, settings.EMAILSYNC_CONFIRMATION_RESEND_SECONDS)
    if not allowance.allowed:
        logger.warning("Confirmation email rejected by the rate limit: user=%s from_address=%s",
                       user.pk, from_address.pk)
        return allowance

    count, allowance = _take(
        (f"emailsync:confirmations:{user.pk}:count", f"emailsync:confirmations:{user.pk}:start"),
        settings.EMAILSYNC_CONFIRMATION_EMAIL_LIMIT, settings.EMAILSYNC_CONFIRMATION_EMAIL_WINDOW,
    )
    if not allowance.allowed:
        logger.warning("Confirmation email rejected by the user's rate limit: user=%s emails=%s", user.pk, count)
    return allowance


def release_confirmation_email(from_address):
    """Let from_address get another confirmation email at once, e.g. after a failed send."""
    cache.delete_many(_address_keys(from_address))


def _address_keys(from_address):
    prefix = f"emailsync:confirmation:{from_address.account_id}:{from_address.address_normalized}"
    return f"{prefix}:count", f"{prefix}:start"


def _take(keys, limit, window):
    """Count one event in the fixed window stored under keys; return (count, Allowance).

    The first event starts the window, and at most `limit` events are
    allowed until it ends `window` seconds later.
    """
    count_key, start_key = keys
    now = int(time.time())
    cache.add(start_key, now, timeout=window)
    cache.add(count_key, 0, timeout=window)
    try:
        count = cache.incr(count_key)
    except ValueError:
        # The key expired between add() and incr(): a new window starts.
        cache.set(start_key, now, timeout=window)
        cache.set(count_key, 1, timeout=window)
        count = 1

    if count <= limit:
        return count, Allowance(True)
    started = cache.get(start_key) or now
    return count, Allowance(False, max(started + window - now, 1))


def reset_checks(user):
    cache.delete_many(_keys(user))
