"""Security headers of every page: the site's Content-Security-Policy and framing rules."""

import pytest
from django.urls import reverse

from crm.middleware import ContentSecurityPolicyMiddleware
from crm.tests.helpers import make_account, make_message

pytestmark = pytest.mark.django_db


def test_page_gets_site_policy(client):
    response = client.get(reverse("login"))

    assert response["Content-Security-Policy"] == ContentSecurityPolicyMiddleware.policy()
    assert response["X-Frame-Options"] == "DENY"


def test_message_page_keeps_its_stricter_policy(client, owner):
    message = make_message(make_account(owner), "lucia@acme.example", ["owner@crm.example"])
    client.force_login(owner)

    response = client.get(reverse("emailsync:message_detail", args=[message.pk]))

    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["X-Frame-Options"] == "DENY"


def test_error_page_gets_policy_without_debug(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Security-Policy"] == ContentSecurityPolicyMiddleware.policy()


def test_debug_error_page_keeps_its_inline_styles(client, settings):
    settings.DEBUG = True

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Content-Security-Policy" not in response


def test_policy_allows_forms_to_reach_provider_sign_in(client):
    policy = client.get(reverse("login"))["Content-Security-Policy"]

    assert "form-action 'self' https://accounts.google.com https://login.microsoftonline.com" in policy


def test_policy_follows_configured_authorization_server(client, settings):
    settings.GOOGLE_OAUTH_AUTHORIZATION_URL = "http://127.0.0.1:8765/authorize"

    policy = client.get(reverse("login"))["Content-Security-Policy"]

    assert "http://127.0.0.1:8765" in policy
