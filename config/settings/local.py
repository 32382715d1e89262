"""Development settings: the default of `manage.py`.

Secrets that the environment does not provide are generated once into
`DATA_DIR/secrets.env` (ignored by git) and read from there afterwards, so
stored passwords stay readable across restarts.
"""

from cryptography.fernet import Fernet
from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import DATA_DIR, env


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
