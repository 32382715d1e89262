"""Production settings: every secret must come from the environment.

`SECRET_KEY` and `EMAILSYNC_ENCRYPTION_KEYS` have no default here, so a
missing one stops the process at start with ImproperlyConfigured.
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
EMAILSYNC_ENCRYPTION_KEYS = env.list("EMAILSYNC_ENCRYPTION_KEYS")

# Users must not point the sync engine at services inside the network.
EMAILSYNC_ALLOW_PRIVATE_HOSTS = env.bool("EMAILSYNC_ALLOW_PRIVATE_HOSTS", default=False)

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
