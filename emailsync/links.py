"""Signed click-tracking URLs for the links of displayed messages.

Each http(s) link of a message's HTML is rewritten to the `follow_link`
view with its target signed (django.core.signing) together with the
message's id. That view redirects only to a target signed here for the
same message, so it cannot serve as an open redirect for arbitrary
addresses.
"""

from urllib.parse import urlencode, urlsplit

from django.core import signing
from django.urls import reverse

SALT = "emailsync.links"
SCHEMES = {"http", "https"}


def sign_link(message_id, url):
    return signing.dumps({"message": message_id, "url": url}, salt=SALT, compress=True)


def read_link(token, message_id):
    """Return the target signed in `token` for message `message_id`, or None.

    None also for a target that is not http(s).
    """
    try:
        payload = signing.loads(token or "", salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("message") != message_id:
        return None
    url = payload.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme.lower() not in SCHEMES:
        return None
    return url


def make_link_builder(request, message):
    """Return a function that maps a link's target to its absolute tracking URL."""
    base = request.build_absolute_uri(reverse("emailsync:follow_link", args=[message.pk]))

    def build(url):
        return f"{base}?{urlencode({'to': sign_link(message.pk, url)})}"

    return build
