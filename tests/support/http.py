"""A small HTTP client for tests that talk to a real server process.

It keeps cookies, never follows redirects (tests check them), and can sign
in through a Django login form with its CSRF token.
"""

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")


class HttpSession:
    def __init__(self, base_url, headers=None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.default_headers = dict(headers or {})
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        all_headers = {**self.default_headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            reply = connection.getresponse()
            response = Response(reply.status, reply.headers, reply.read())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def post_form(self, path, fields, headers=None):
        form_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, body=urlencode(fields), headers=form_headers)

    def login(self, path, username, password):
        """Sign in through the Django login form at `path`; return the POST's response."""
        form = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        if token is None:
            raise AssertionError(f"no CSRF token on {path} (status {form.status})")
        return self.post_form(path, {
            "csrfmiddlewaretoken": token.group(1), "username": username, "password": password,
        }, headers={"Referer": f"http://{self.host}:{self.port}{path}"})
