"""Settings shared by every environment.

Values come from the environment through django-environ. The local and test
modules fill in development defaults; the production module requires the
secrets and refuses to start without them.
"""

from pathlib import Path

import environ
import xstatic.pkg.bootstrap
from django.contrib.messages import constants as message_constants
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.logformat import FORMATTERS

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# Local data (SQLite database, generated secrets) lives here unless DATA_DIR
# points elsewhere. The folder is ignored by git.
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_q",
    "crm",
    "emailsync",
    "retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# No page of the site may be framed. The message page shows the email in
# an iframe with srcdoc, which loads no URL, so this header does not apply
# to it.
X_FRAME_OPTIONS = "DENY"

ROOT_URLCONF = "config.urls"
# Path of the Django admin; production sites often move it.
ADMIN_URL = env.str("ADMIN_URL", default="admin/")
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'crm.sqlite3'}"
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task cluster write to the same file; wait for
    # the lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 30)
    # A checkpoint every 16,384 pages (64 MiB) rather than SQLite's 1,000:
    # a sync writes a few MB a batch, and each checkpoint copies the log
    # into the database and syncs it to disk. About 8 % more messages a
    # second in bench/sync_bench.py. The log file is cut back to 64 MiB.
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command",
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA wal_autocheckpoint=16384; PRAGMA journal_size_limit=67108864;",
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:home"
LOGOUT_REDIRECT_URL = "login"

# Spanish is the default; the browser's Accept-Language or the user's own
# setting can choose English.
LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# The site's time zone; the cleanup policy counts calendar months in it.
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Madrid")

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Bootstrap comes from the XStatic-Bootstrap package and is served by the
# site itself (collectstatic and WhiteNoise), never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Bootstrap names the red alert "danger", Django's messages call it "error".
MESSAGE_TAGS = {message_constants.ERROR: "danger"}

# Outgoing mail of the product itself (confirmations, warnings), not the
# users' mailboxes.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="crm@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Fernet keys that encrypt stored mailbox passwords and tokens. The first key
# encrypts; every key decrypts, so a new key can be put first and the old
# ones kept until `rotate_encryption_keys` has re-encrypted everything.
EMAILSYNC_ENCRYPTION_KEYS = env.list("EMAILSYNC_ENCRYPTION_KEYS", default=[])

# Allow unencrypted IMAP/POP3/SMTP connections (security "plain").
EMAILSYNC_ALLOW_PLAINTEXT = env.bool("EMAILSYNC_ALLOW_PLAINTEXT", default=False)
# Allow mail servers whose addresses are private, loopback or link-local.
EMAILSYNC_ALLOW_PRIVATE_HOSTS = env.bool("EMAILSYNC_ALLOW_PRIVATE_HOSTS", default=False)
# A PEM file of extra certificate authorities to trust for mail servers, for
# servers with a private CA. Certificates are always verified.
EMAILSYNC_CA_FILE = env.str("EMAILSYNC_CA_FILE", default="")
# Seconds before a network operation with a mail server times out.
EMAILSYNC_TIMEOUT = env.float("EMAILSYNC_TIMEOUT", default=30.0)
# Messages fetched per IMAP FETCH command and stored per transaction.
EMAILSYNC_BATCH_SIZE = env.int("EMAILSYNC_BATCH_SIZE", default=200)
# Seconds a worker holds an account while syncing it; a worker that dies
# loses the account to another after this long. Renewed after every batch.
EMAILSYNC_LEASE_SECONDS = env.int("EMAILSYNC_LEASE_SECONDS", default=300)
# Servers without CONDSTORE do not announce flag changes: re-read the flags
# of the newest EMAILSYNC_FLAGS_REFRESH_LIMIT messages of each folder at most
# this often (minutes).
EMAILSYNC_FLAGS_REFRESH_MINUTES = env.int("EMAILSYNC_FLAGS_REFRESH_MINUTES", default=15)
EMAILSYNC_FLAGS_REFRESH_LIMIT = env.int("EMAILSYNC_FLAGS_REFRESH_LIMIT", default=2000)
# IDLE watchers (manage.py watch_mail): seconds before IDLE is re-issued
# (RFC 2177 lets servers drop it after 29 minutes), seconds between checks
# for a stop request, and seconds between polls of servers without IDLE.
EMAILSYNC_IDLE_RENEW_SECONDS = env.int("EMAILSYNC_IDLE_RENEW_SECONDS", default=25 * 60)
EMAILSYNC_IDLE_CHECK_SECONDS = env.int("EMAILSYNC_IDLE_CHECK_SECONDS", default=5)
EMAILSYNC_POLL_SECONDS = env.int("EMAILSYNC_POLL_SECONDS", default=120)
# Minutes between scheduled syncs of every active account.
EMAILSYNC_SYNC_INTERVAL_MINUTES = env.int("EMAILSYNC_SYNC_INTERVAL_MINUTES", default=5)
# Connection checks (the step-by-step test of a mailbox's servers) that one
# user may run per window, and the window's length in seconds.
EMAILSYNC_CHECK_RATE_LIMIT = env.int("EMAILSYNC_CHECK_RATE_LIMIT", default=10)
EMAILSYNC_CHECK_RATE_WINDOW = env.int("EMAILSYNC_CHECK_RATE_WINDOW", default=600)
# Days a link that confirms a From alias stays valid.
EMAILSYNC_CONFIRMATION_LINK_DAYS = env.int("EMAILSYNC_CONFIRMATION_LINK_DAYS", default=3)
# Seconds before one alias may get another confirmation email, and the
# confirmation emails one user may send to all their aliases per window
# (seconds).
EMAILSYNC_CONFIRMATION_RESEND_SECONDS = env.int("EMAILSYNC_CONFIRMATION_RESEND_SECONDS", default=60)
EMAILSYNC_CONFIRMATION_EMAIL_LIMIT = env.int("EMAILSYNC_CONFIRMATION_EMAIL_LIMIT", default=20)
EMAILSYNC_CONFIRMATION_EMAIL_WINDOW = env.int("EMAILSYNC_CONFIRMATION_EMAIL_WINDOW", default=3600)
# Minutes the scheduler leaves a newly connected mailbox alone while its
# owner chooses the first sync's options; the last setup page starts the
# sync at once, and an abandoned setup syncs with the defaults afterwards.
EMAILSYNC_SETUP_HOLD_MINUTES = env.int("EMAILSYNC_SETUP_HOLD_MINUTES", default=60)
# Total size in bytes of the files attached to one email sent from the CRM.
# Base64 with its line breaks makes a message about 37 % larger than its
# files, so 17 MiB of files stays under the 25 MB that most providers accept.
# The server's own SIZE limit is checked as well before anything is sent.
EMAILSYNC_MAX_ATTACHMENTS_BYTES = env.int("EMAILSYNC_MAX_ATTACHMENTS_BYTES", default=17 * 1024 * 1024)
# Bytes of form fields (not files) one request may carry. The compose form
# allows a message body of 1,000,000 characters, up to 4 bytes each in
# UTF-8; Django's default of 2.5 MB refused long bodies with a bare 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# Preset host overrides, as JSON: {"gmail": {"imap_host": "127.0.0.1", ...}}.
# Lets tests and private deployments point a preset at their own servers.
try:
    EMAILSYNC_PROVIDER_OVERRIDES = env.json("EMAILSYNC_PROVIDER_OVERRIDES", default={})
except ValueError as error:
    raise ImproperlyConfigured(
        f"EMAILSYNC_PROVIDER_OVERRIDES is not valid JSON ({error}). Write an object such as "
        '{"gmail": {"imap_host": "127.0.0.1"}}, or unset it.'
    ) from None

# "Sign in with Google / Microsoft" for the Gmail, Outlook.com and Microsoft
# 365 presets. Each button shows only when its client id and secret are
# set; the redirect URI to register is SITE_URL + /settings/email/oauth/callback/.
# The endpoints default to the real providers' and can point at a private
# or test authorization server. "{tenant}" in a Microsoft URL becomes
# MICROSOFT_OAUTH_TENANT ("common": any work, school or personal account).
GOOGLE_OAUTH_CLIENT_ID = env.str("GOOGLE_OAUTH_CLIENT_ID", default="")
GOOGLE_OAUTH_CLIENT_SECRET = env.str("GOOGLE_OAUTH_CLIENT_SECRET", default="")
GOOGLE_OAUTH_AUTHORIZATION_URL = env.str(
    "GOOGLE_OAUTH_AUTHORIZATION_URL", default="https://accounts.google.com/o/oauth2/v2/auth",
)
GOOGLE_OAUTH_TOKEN_URL = env.str("GOOGLE_OAUTH_TOKEN_URL", default="https://oauth2.googleapis.com/token")
GOOGLE_OAUTH_USERINFO_URL = env.str(
    "GOOGLE_OAUTH_USERINFO_URL", default="https://openidconnect.googleapis.com/v1/userinfo",
)
GOOGLE_OAUTH_REVOCATION_URL = env.str("GOOGLE_OAUTH_REVOCATION_URL", default="https://oauth2.googleapis.com/revoke")
MICROSOFT_OAUTH_CLIENT_ID = env.str("MICROSOFT_OAUTH_CLIENT_ID", default="")
MICROSOFT_OAUTH_CLIENT_SECRET = env.str("MICROSOFT_OAUTH_CLIENT_SECRET", default="")
MICROSOFT_OAUTH_TENANT = env.str("MICROSOFT_OAUTH_TENANT", default="common")
MICROSOFT_OAUTH_AUTHORIZATION_URL = env.str(
    "MICROSOFT_OAUTH_AUTHORIZATION_URL",
    default="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
)
MICROSOFT_OAUTH_TOKEN_URL = env.str(
    "MICROSOFT_OAUTH_TOKEN_URL", default="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
)
# Empty: the address comes from the ID token, because Microsoft's userinfo
# endpoint accepts only Microsoft Graph tokens, not the Outlook ones the
# mailbox needs. Microsoft has no token revocation endpoint either.
MICROSOFT_OAUTH_USERINFO_URL = env.str("MICROSOFT_OAUTH_USERINFO_URL", default="")
MICROSOFT_OAUTH_REVOCATION_URL = env.str("MICROSOFT_OAUTH_REVOCATION_URL", default="")
# Seconds before an access token expires at which it is refreshed, and a
# long sync logs in again with the new one.
EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS = env.int("EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS", default=300)
# Minutes a user has between pressing a sign-in button and coming back
# from the provider; a later return is refused and nothing is saved.
EMAILSYNC_OAUTH_SIGN_IN_MINUTES = env.int("EMAILSYNC_OAUTH_SIGN_IN_MINUTES", default=15)

# The operators' health page (ADMIN_URL + "health/"). Its JSON variant
# also accepts requests with "Authorization: Bearer <HEALTH_TOKEN>", for
# monitoring systems that cannot sign in. Empty turns that off.
HEALTH_TOKEN = env.str("HEALTH_TOKEN", default="")
# The task cluster counts as stalled when it has run no heartbeat task for
# this long. The heartbeat is scheduled every minute.
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env.int("HEALTH_HEARTBEAT_MAX_AGE_SECONDS", default=300)
# An active mailbox counts as late when its last successful sync is older
# than this (minutes), unless a sync of it is running.
HEALTH_SYNC_MAX_AGE_MINUTES = env.int("HEALTH_SYNC_MAX_AGE_MINUTES", default=60)

# The cache holds the per-user connection-check counts. The default lives in
# each process's memory; with several web processes set CACHE_URL to a
# shared cache such as redis://127.0.0.1:6379/1.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

Q_CLUSTER = {
    # Clusters that share a broker must share this name; separate
    # deployments on one Redis need different names.
    "name": env.str("Q_CLUSTER_NAME", default="crm"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": env.int("Q_TIMEOUT", default=3600),
    "retry": env.int("Q_RETRY", default=3700),
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 500,
    "label": "Django Q",
}
# Each django-q2 cluster publishes its status (host, processes, state) for
# 3 seconds at a time and renews it twice a second. The health page reads
# it to tell a running cluster from a stopped one. The Redis broker keeps
# it in Redis. The ORM broker keeps it in the Django cache named by
# Q_CLUSTER["cache"], which every process must share. That is files in
# DATA_DIR with SQLite (one machine), else a database table that the
# emailsync migrations create.
if env.str("Q_REDIS_URL", default=""):
    Q_CLUSTER["redis"] = env.str("Q_REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["cache"] = "task_cluster"
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        CACHES["task_cluster"] = {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "task-cluster"),
        }
    else:
        CACHES["task_cluster"] = {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "task_cluster_cache",
        }

def checked_log_format(name):
    """Return the LOG_FORMAT value if the logging config defines it."""
    if name not in FORMATTERS:
        raise ImproperlyConfigured(f"LOG_FORMAT must be “json” or “text”, not “{name}”.")
    return name


# Log lines go to standard error, one line per event. LOG_FORMAT "json"
# writes one JSON object per line with the ids of each event as fields
# (see config/logformat.py), and "text" writes plain lines for a terminal.
LOG_FORMAT = checked_log_format(env.str("LOG_FORMAT", default="text"))
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": FORMATTERS,
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's default handlers for its loggers, which print
        # each line a second time when DEBUG is on.
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # django-q2 logs as "django-q" and adds a handler of its own unless
        # one is configured before it is imported.
        "django-q": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # aiosmtpd and imapclient can log protocol lines, which carry
        # credentials; keep them quiet.
        "imapclient": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},
        # urllib3 logs request lines at DEBUG; keep token requests out of logs.
        "urllib3": {"level": "WARNING"},
        "authlib": {"level": "WARNING"},
    },
}
