"""Settings for the test suite: local settings with fast hashing and
in-memory mail for the product's own messages."""

from .local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The tests start their own Dovecot and SMTP servers on loopback, without TLS
# on some ports.
EMAILSYNC_ALLOW_PLAINTEXT = True
EMAILSYNC_ALLOW_PRIVATE_HOSTS = True
EMAILSYNC_TIMEOUT = 10.0

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file instead of Django's default in-memory database, because the
    # in-memory one uses SQLite's shared cache. Its table locks fail at once
    # with "database table is locked" instead of waiting, so tests that run
    # a sync and a deactivation in two threads could not wait for each
    # other as production processes do.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405

# pytest-django turns DEBUG off, so WhiteNoise would index STATIC_ROOT, which
# the tests never collect; serve files from the finders as in development.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared in-memory database: threads in the tests
    # (IDLE watchers, live servers) and worker subprocesses must see the same
    # data, and shared-cache memory databases take table locks that ignore
    # the busy timeout.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_crm.sqlite3")}  # noqa: F405
