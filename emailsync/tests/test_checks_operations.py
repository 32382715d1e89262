"""System checks for the operators' settings: admin path, cluster status cache, health token."""

import pytest

from emailsync.checks import check_admin_url, check_operations_settings


@pytest.mark.parametrize("admin_url", ["/admin/", "admin", "/"])
def test_admin_url_check_rejects(settings, admin_url):
    settings.ADMIN_URL = admin_url

    assert [error.id for error in check_admin_url(None)] == ["emailsync.E005"]


def test_admin_url_check_accepts_nested_path(settings):
    settings.ADMIN_URL = "staff/console/"

    assert check_admin_url(None) == []


def test_cluster_cache_check_warns_on_local_memory(settings):
    settings.CACHES = {**settings.CACHES, "task_cluster": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    assert [warning.id for warning in check_operations_settings(None)] == ["emailsync.W003"]


def test_cluster_cache_check_accepts_default_settings():
    assert check_operations_settings(None) == []


def test_health_token_check_warns_on_short_token(settings):
    settings.HEALTH_TOKEN = "short"

    assert [warning.id for warning in check_operations_settings(None)] == ["emailsync.W004"]
