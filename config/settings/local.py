"""Development settings: the default of `manage.py`.

Secrets that the environment does not provide are generated once into
`DATA_DIR/secrets.env` (ignored by git) and read from there afterwards, so
stored passwords stay readable across restarts.
"""

import os
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.management.utils import get_random_secret_key


def _read_local_env():
    """Load DATA_DIR/local.env, before the base settings read the environment.

    It contains the settings every local process needs alike (the web server, the task
    cluster, the IDLE watcher and each command), such as
    EMAILSYNC_ALLOW_PRIVATE_HOSTS for a test server. Variables already in
    the environment win. The test settings skip it, so a developer's file
    never changes what the tests check.
    """
    if os.environ.get("DJANGO_SETTINGS_MODULE") != "config.settings.local":
        return
    default = Path(__file__).resolve().parent.parent.parent / "data"
    local_env = Path(os.environ.get("DATA_DIR", str(default))) / "local.env"
    if local_env.exists():
        environ.Env.read_env(str(local_env))


_read_local_env()

from .base import *  # noqa: E402, F403
from .base import DATA_DIR, env  # noqa: E402


def _load_local_secrets():
    """Create the secrets file on first use and load it into the environment."""
    secrets_file = DATA_DIR / "secrets.env"
    if not secrets_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        secrets_file.write_text(
            f"SECRET_KEY={get_random_secret_key()}\n"
            f"EMAILSYNC_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        )
        secrets_file.chmod(0o600)
    env.read_env(str(secrets_file))


_load_local_secrets()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY")
EMAILSYNC_ENCRYPTION_KEYS = env.list("EMAILSYNC_ENCRYPTION_KEYS")
