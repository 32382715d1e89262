"""gunicorn settings for the CRM's web processes, adjustable from the environment.

Start with:  gunicorn --config config/gunicorn.py config.wsgi:application

gunicorn's own log lines (start, stop, worker restarts) and one access line
per request go to standard error in the same format as the application's
(LOG_FORMAT, "json" by default). The access line records the path without
its query string, which can hold search words.
"""

import os

from config.logformat import FORMATTERS

# Behind a reverse proxy on the same machine, listen on loopback only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Seconds a request may take before its worker is restarted. Pages that
# talk to a mail server wait up to EMAILSYNC_TIMEOUT (30 s by default).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Addresses of the proxies whose X-Forwarded-* headers gunicorn trusts.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

accesslog = "-"
access_log_format = (
    "request: method=%(m)s path=%(U)s status=%(s)s bytes=%(B)s duration_ms=%(M)s "
    "remote=%(h)s forwarded_for=%({x-forwarded-for}i)s user_agent=%(a)s"
)
errorlog = "-"

_log_format = os.environ.get("LOG_FORMAT", "json")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": FORMATTERS,
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": _log_format, "stream": "ext://sys.stderr"},
    },
    # Not propagated: the application's own logging config adds a handler
    # to the root logger, which would print every line twice.
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": ["console"]},
}
