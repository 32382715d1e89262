"""A per-user limit on connection checks against mail servers.

Each check opens connections and tries a password at a provider. Without
a limit, a user (or a script with their session) could probe servers, or
get their own account locked by the provider. The count lives in Django's
cache: with several web processes, configure a shared cache (CACHE_URL,
e.g. Redis), or each process counts on its own.
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
    limit = settings.EMAILSYNC_CHECK_RATE_LIMIT
    window = settings.EMAILSYNC_CHECK_RATE_WINDOW
    count_key, start_key = _keys(user)

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
        return Allowance(True)
    started = cache.get(start_key) or now
    retry_after = max(started + window - now, 1)
    logger.warning("Connection check rejected by the rate limit: user=%s checks=%s", user.pk, count)
    return Allowance(False, retry_after)


def reset_checks(user):
    cache.delete_many(_keys(user))
