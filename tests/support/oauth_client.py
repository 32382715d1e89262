"""Drive a sign-in through the test authorization server with Django's test client."""

from urllib.parse import parse_qs, urlsplit

import requests


def authorize(oauth_server, authorization_url, username, decision="allow"):
    """Submit the consent page as a user would; return the URL the server redirects back to."""
    query = {key: values[0] for key, values in parse_qs(urlsplit(authorization_url).query).items()}
    form = {**query, "username": username, "decision": decision}
    answer = requests.post(f"{oauth_server.url}/authorize", data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def start_sign_in(client, start_url):
    """Press a sign-in button; return the provider's authorization URL."""
    response = client.post(start_url)
    assert response.status_code == 302, response.status_code
    return response["Location"]


def follow_callback(client, callback_url):
    """Open the callback URL in the test client, following the site's redirects."""
    parts = urlsplit(callback_url)
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def sign_in(client, oauth_server, start_url, username, decision="allow"):
    """Press the button, submit the consent page and come back; returns the final response."""
    authorization_url = start_sign_in(client, start_url)
    return follow_callback(client, authorize(oauth_server, authorization_url, username, decision))
