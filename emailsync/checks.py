"""System checks for the mail settings (ids emailsync.E001 and up)."""

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Warning, register


@register(deploy=False)
def check_encryption_keys(app_configs, **kwargs):
    keys = getattr(settings, "EMAILSYNC_ENCRYPTION_KEYS", [])
    if not keys:
        return [Error(
            "EMAILSYNC_ENCRYPTION_KEYS is empty, so mailbox passwords cannot be stored.",
            hint="Set it to a comma-separated list of Fernet keys (the first one encrypts).",
            id="emailsync.E001",
        )]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            errors.append(Error(
                f"Key number {position} in EMAILSYNC_ENCRYPTION_KEYS is not a valid Fernet key.",
                hint="A Fernet key is 32 bytes in url-safe base64; generate one with Fernet.generate_key().",
                id="emailsync.E002",
            ))
    return errors


@register(deploy=True)
def check_production_mail_safety(app_configs, **kwargs):
    warnings = []
    if settings.EMAILSYNC_ALLOW_PLAINTEXT:
        warnings.append(Warning(
            "EMAILSYNC_ALLOW_PLAINTEXT is on: users may send mailbox passwords unencrypted.",
            hint="Turn it off unless every mail server is on a trusted network.",
            id="emailsync.W001",
        ))
    if settings.EMAILSYNC_ALLOW_PRIVATE_HOSTS:
        warnings.append(Warning(
            "EMAILSYNC_ALLOW_PRIVATE_HOSTS is on: users may point the sync at internal addresses.",
            hint="Turn it off unless users are trusted with access to the internal network.",
            id="emailsync.W002",
        ))
    return warnings


@register(deploy=False)
def check_provider_overrides(app_configs, **kwargs):
    """Reject overrides of unknown presets or fields, which would leave a preset aimed at the real provider."""
    from django.core.exceptions import ImproperlyConfigured

    from . import providers

    overrides = getattr(settings, "EMAILSYNC_PROVIDER_OVERRIDES", {}) or {}
    if not isinstance(overrides, dict):
        return [Error(
            "EMAILSYNC_PROVIDER_OVERRIDES must be a JSON object keyed by preset.",
            hint='For example {"gmail": {"imap_host": "imap.example.com"}}.', id="emailsync.E003",
        )]
    known = {provider.key for provider in providers.PROVIDERS}
    problems = [
        Error(
            f"EMAILSYNC_PROVIDER_OVERRIDES names the unknown preset {key!r}.",
            hint=f"Known presets: {', '.join(sorted(known))}.", id="emailsync.E003",
        )
        for key in overrides if key not in known
    ]
    try:
        providers.all_providers()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="emailsync.E004"))
    return problems


@register(deploy=False)
def check_oauth_clients(app_configs, **kwargs):
    """Report a client id without its secret (or the reverse): its sign-in button would stay hidden."""
    problems = []
    for prefix in ("GOOGLE", "MICROSOFT"):
        client_id = getattr(settings, f"{prefix}_OAUTH_CLIENT_ID", "")
        secret = getattr(settings, f"{prefix}_OAUTH_CLIENT_SECRET", "")
        if bool(client_id) != bool(secret):
            missing = f"{prefix}_OAUTH_CLIENT_SECRET" if client_id else f"{prefix}_OAUTH_CLIENT_ID"
            problems.append(Warning(
                f"{missing} is empty, so the “Sign in with {prefix.title()}” button stays hidden.",
                hint="Set both the client id and the client secret of the app you registered, or neither.",
                id="emailsync.W010",
            ))
    return problems
