"""Django's SMTP email backend for tests: it trusts the test servers' certificate.

The product's own mail (confirmations, warnings) then travels through the
test SMTP server with STARTTLS and AUTH, as it would in production, with
certificate checks on. Only the CA file named by EMAILSYNC_CA_FILE is
added to the trusted ones.
"""

import ssl
from functools import cached_property

from django.conf import settings
from django.core.mail.backends import smtp


class TestCaEmailBackend(smtp.EmailBackend):
    @cached_property
    def ssl_context(self):
        return ssl.create_default_context(cafile=settings.EMAILSYNC_CA_FILE)
