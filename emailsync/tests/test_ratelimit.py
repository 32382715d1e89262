"""The per-user limit on connection checks, in memory and in a shared Redis cache."""

import logging
import os

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings

from emailsync.ratelimit import reset_checks, take_check

pytestmark = pytest.mark.django_db

# A Redis database of its own, so the test never touches another's keys.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def test_checks_allowed_up_to_limit(owner, settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 3

    results = [take_check(owner).allowed for _check in range(4)]

    assert results == [True, True, True, False]


def test_rejected_check_gives_retry_time(owner, settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 1
    settings.EMAILSYNC_CHECK_RATE_WINDOW = 600
    take_check(owner)

    allowance = take_check(owner)

    assert 590 <= allowance.retry_after <= 600
    assert allowance.retry_after_minutes == 10


def test_checks_allowed_again_after_window(owner, settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 1
    settings.EMAILSYNC_CHECK_RATE_WINDOW = 600
    with time_machine.travel("2026-12-01 10:00", tick=False) as traveller:
        take_check(owner)
        rejected = take_check(owner).allowed
        traveller.shift(601)
        allowed = take_check(owner).allowed

    assert rejected is False
    assert allowed is True


def test_limit_counted_per_user(owner, teammate, settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 1
    take_check(owner)

    assert take_check(teammate).allowed is True


def test_reset_checks_clears_count(owner, settings):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 1
    take_check(owner)

    reset_checks(owner)

    assert take_check(owner).allowed is True


def test_rejected_check_logged_with_user_id(owner, settings, caplog):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 0
    caplog.set_level(logging.WARNING, logger="emailsync.ratelimit")

    take_check(owner)

    assert caplog.messages == [f"Connection check rejected by the rate limit: user={owner.pk} checks=1"]


@pytest.fixture
def redis_cache():
    """Django's cache on the local Redis, as a deployment with several web processes uses it."""
    pytest.importorskip("redis")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable at {REDIS_URL}.")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}.")
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
               "KEY_PREFIX": "crm-test-ratelimit"}
    with override_settings(CACHES={"default": backend}):
        yield caches["default"]


def test_limit_shared_through_redis(owner, settings, redis_cache):
    settings.EMAILSYNC_CHECK_RATE_LIMIT = 2
    reset_checks(owner)

    results = [take_check(owner).allowed for _check in range(3)]

    assert results == [True, True, False]
    assert redis_cache.get(f"emailsync:checks:{owner.pk}:count") == 3
    reset_checks(owner)
