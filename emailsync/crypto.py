"""Encryption of stored secrets (mailbox passwords, OAuth tokens).

MultiFernet over the keys in EMAILSYNC_ENCRYPTION_KEYS: the first key
encrypts, every key decrypts, so keys rotate by putting a new one first and
running `manage.py rotate_encryption_keys`.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def _cipher():
    keys = settings.EMAILSYNC_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "EMAILSYNC_ENCRYPTION_KEYS is empty. Set it to one or more Fernet keys, "
            "comma-separated; create one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "EMAILSYNC_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def encrypt(plaintext):
    """Return the token for plaintext, or "" for an empty value."""
    if not plaintext:
        return ""
    return _cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token):
    """Return the plaintext of token, or "" for an empty token."""
    if not token:
        return ""
    try:
        return _cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret does not decrypt with any key in EMAILSYNC_ENCRYPTION_KEYS; "
            "a key that encrypted it may have been removed."
        ) from exc


def rotate(token):
    """Re-encrypt token with the first key; "" stays ""."""
    if not token:
        return ""
    try:
        return _cipher().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret does not decrypt with any key in EMAILSYNC_ENCRYPTION_KEYS; "
            "it cannot be rotated until the key that encrypted it is added back."
        ) from exc
