"""Production settings: every secret and host name comes from the environment.

`SECRET_KEY`, `EMAILSYNC_ENCRYPTION_KEYS` and `ALLOWED_HOSTS` have no
default here, so a missing one stops the process at start with
ImproperlyConfigured. The site is meant to run behind a reverse proxy that
terminates TLS and sets X-Forwarded-Proto; docs/deployment.md shows how.
`python manage.py check --deploy` passes without warnings with the
defaults below.
"""

from .base import *  # noqa: F403
from .base import LOGGING, checked_log_format, env

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
EMAILSYNC_ENCRYPTION_KEYS = env.list("EMAILSYNC_ENCRYPTION_KEYS")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Needed only when the proxy changes the Host header: then list the public
# origins, such as https://crm.example.com.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Users must not point the sync engine at services inside the network.
EMAILSYNC_ALLOW_PRIVATE_HOSTS = env.bool("EMAILSYNC_ALLOW_PRIVATE_HOSTS", default=False)

# The proxy terminates TLS and must overwrite this header on every request,
# or clients could claim a secure connection themselves.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Paths (regular expressions without the leading slash) that are served
# over plain HTTP too, such as a health check from inside the network.
SECURE_REDIRECT_EXEMPT = env.list("SECURE_REDIRECT_EXEMPT", default=[])
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Browsers act on "preload" only for a domain its owner submitted to
# hstspreload.org; sending it otherwise changes nothing.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# collectstatic writes compressed, content-hashed copies of every static
# file, and WhiteNoise serves them with far-future cache headers.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOG_FORMAT = checked_log_format(env.str("LOG_FORMAT", default="json"))
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
