"""OAuth 2.0 for Google and Microsoft mailboxes: clients, tokens, refresh.

Each provider's client (id and secret) and endpoints come from settings,
read at call time, so tests and private deployments can aim them at their
own authorization server. The refresh token and the cached access token
are stored encrypted with emailsync.crypto and never leave this module
except as the bearer secret of an IMAP or SMTP login.

The sign-in itself (authorization code with PKCE, the `state` check) is in
oauth_flow.py. This module only calls the token, userinfo and revocation
endpoints, through authlib's requests client.
"""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from joserfc import jws
from joserfc.errors import JoseError

from . import crypto, errors
from .errors import MailError
from .models import MailAccount

logger = logging.getLogger(__name__)

GOOGLE = "google"
MICROSOFT = "microsoft"

# The OAuth provider behind each mail preset that offers a sign-in button.
PRESET_PROVIDERS = {"gmail": GOOGLE, "outlook": MICROSOFT, "microsoft365": MICROSOFT}

# Full IMAP and SMTP access is the only Google scope that covers both
# protocols; "openid email" returns the address in the ID token.
GOOGLE_MAIL_SCOPES = ("https://mail.google.com/",)
MICROSOFT_MAIL_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
)

# Token endpoint errors (RFC 6749 5.2, OpenID Connect Core 3.1.2.6) after
# which only a new sign-in by the owner helps. Microsoft returns
# interaction_required when a new policy (MFA, consent) applies to a grant.
REVOKED_GRANT_ERRORS = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
# Errors that mean the site's own client registration is wrong or expired:
# an operator must act, and the owners are not to blame.
CLIENT_ERRORS = {"invalid_client", "unauthorized_client", "unsupported_grant_type"}

# Lifetime assumed when the token response has no expires_in (RFC 6749
# 5.1 makes it optional); Google and Microsoft always send it.
DEFAULT_ACCESS_TOKEN_SECONDS = 3600

TOKEN_FIELDS = (
    "auth_method", "oauth_refresh_token_encrypted", "oauth_access_token_encrypted",
    "oauth_access_token_expires_at",
)


@dataclass(frozen=True)
class OAuthProvider:
    key: str
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    authorization_url: str = ""
    token_url: str = ""
    # Empty: read the address from the ID token only.
    userinfo_url: str = ""
    # Empty: the provider offers no RFC 7009 revocation endpoint.
    revocation_url: str = ""
    mail_scopes: tuple = ()
    # Parameters that make the provider return a refresh token.
    authorization_params: tuple = ()

    @property
    def is_configured(self):
        return bool(self.client_id and self.client_secret)

    @property
    def scope(self):
        return " ".join((*self.mail_scopes, "openid", "email", *self._extra_scopes()))

    def _extra_scopes(self):
        # Microsoft issues a refresh token only for offline_access; Google
        # needs access_type=offline in the authorization request instead.
        return ("offline_access",) if self.key == MICROSOFT else ()


@dataclass
class TokenSet:
    """The tokens of one grant, as the token endpoint returned them."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    # The scopes granted, or None when the response did not list them.
    scopes: frozenset | None = None
    id_token: str = field(default="", repr=False)


def get_oauth_provider(key):
    """Return the OAuthProvider named key ("google" or "microsoft") from settings."""
    if key == GOOGLE:
        return OAuthProvider(
            key=GOOGLE, name="Google",
            client_id=settings.GOOGLE_OAUTH_CLIENT_ID, client_secret=settings.GOOGLE_OAUTH_CLIENT_SECRET,
            authorization_url=settings.GOOGLE_OAUTH_AUTHORIZATION_URL, token_url=settings.GOOGLE_OAUTH_TOKEN_URL,
            userinfo_url=settings.GOOGLE_OAUTH_USERINFO_URL, revocation_url=settings.GOOGLE_OAUTH_REVOCATION_URL,
            mail_scopes=GOOGLE_MAIL_SCOPES,
            # prompt=consent: Google returns a refresh token only at the
            # first consent of a user unless asked to show consent again.
            authorization_params=(("access_type", "offline"), ("prompt", "consent")),
        )
    if key == MICROSOFT:
        tenant = settings.MICROSOFT_OAUTH_TENANT or "common"
        return OAuthProvider(
            key=MICROSOFT, name="Microsoft",
            client_id=settings.MICROSOFT_OAUTH_CLIENT_ID, client_secret=settings.MICROSOFT_OAUTH_CLIENT_SECRET,
            authorization_url=settings.MICROSOFT_OAUTH_AUTHORIZATION_URL.replace("{tenant}", tenant),
            token_url=settings.MICROSOFT_OAUTH_TOKEN_URL.replace("{tenant}", tenant),
            userinfo_url=settings.MICROSOFT_OAUTH_USERINFO_URL, revocation_url=settings.MICROSOFT_OAUTH_REVOCATION_URL,
            mail_scopes=MICROSOFT_MAIL_SCOPES,
            authorization_params=(("prompt", "select_account"),),
        )
    return None


def provider_for_preset(preset_key, configured_only=True):
    """Return the OAuthProvider behind a mail preset, or None.

    With configured_only, a provider whose client id or secret is missing
    counts as absent, so no page offers a button that cannot work.
    """
    provider = get_oauth_provider(PRESET_PROVIDERS.get(preset_key, ""))
    if provider is None or (configured_only and not provider.is_configured):
        return None
    return provider


def client_for(provider, redirect_uri=None):
    """Return an authlib OAuth2Session for provider; close it after use."""
    return OAuth2Session(
        provider.client_id, provider.client_secret, scope=provider.scope, redirect_uri=redirect_uri,
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_post",
        default_timeout=settings.EMAILSYNC_TIMEOUT,
    )


# --- Token responses ---------------------------------------------------------------


def token_set_from_response(token, previous_refresh_token=""):
    """Return a TokenSet from an authlib token dict.

    A refresh response without refresh_token keeps the previous one
    (RFC 6749 6: the server may or may not issue a new one).
    """
    expires_at = token.get("expires_at")
    if not isinstance(expires_at, int):
        expires_at = int(time.time()) + DEFAULT_ACCESS_TOKEN_SECONDS
    scope = token.get("scope")
    return TokenSet(
        access_token=token.get("access_token", ""),
        refresh_token=token.get("refresh_token") or previous_refresh_token,
        expires_at=datetime.fromtimestamp(expires_at, tz=dt_timezone.utc),
        scopes=frozenset(scope.split()) if isinstance(scope, str) else None,
        id_token=token.get("id_token", ""),
    )


def missing_mail_scopes(provider, tokens):
    """Return the mail scopes the grant lacks (Google lets users untick them), or ()."""
    if tokens.scopes is None:
        return ()
    granted = {scope.lower() for scope in tokens.scopes}
    return tuple(scope for scope in provider.mail_scopes if scope.lower() not in granted)


def token_error(provider, exc, during):
    """Return the MailError for a failed token request (code exchange or refresh)."""
    if isinstance(exc, OAuthError):
        error_code = exc.error or "oauth_error"
        detail = f"{provider.key} token endpoint ({during}): {error_code}: {(exc.description or '')[:200]}"
        if error_code in REVOKED_GRANT_ERRORS:
            return MailError(errors.OAUTH_REVOKED, detail)
        if error_code in CLIENT_ERRORS:
            return MailError(errors.OAUTH_CLIENT_REJECTED, detail)
        return MailError(errors.OAUTH_UNAVAILABLE, detail)
    # requests' exceptions carry the URL and the reason, never the body.
    return MailError(errors.OAUTH_UNAVAILABLE, f"{provider.key} token endpoint ({during}): {type(exc).__name__}: {exc}")


# --- Stored tokens -----------------------------------------------------------------


def store_tokens(account, tokens):
    """Put tokens on account, encrypted, and make it sign in with OAuth; the caller saves."""
    account.auth_method = MailAccount.AuthMethod.OAUTH2
    account.oauth_refresh_token_encrypted = crypto.encrypt(tokens.refresh_token)
    account.oauth_access_token_encrypted = crypto.encrypt(tokens.access_token)
    account.oauth_access_token_expires_at = tokens.expires_at


def clear_tokens(account):
    """Forget the stored tokens of account; the caller saves TOKEN_FIELDS."""
    account.oauth_refresh_token_encrypted = ""
    account.oauth_access_token_encrypted = ""
    account.oauth_access_token_expires_at = None


def expires_soon(expires_at, now=None):
    """Tell whether a token expiring at expires_at needs replacing now.

    A token is replaced EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS before it
    expires, so a login never presents one that dies on the way.
    """
    if expires_at is None:
        return True
    now = now or timezone.now()
    return expires_at - now <= timedelta(seconds=settings.EMAILSYNC_OAUTH_REFRESH_MARGIN_SECONDS)


def get_access_token(account):
    """Return a valid access token for account, refreshing it when it expires soon.

    The refresh runs under a row lock (select_for_update, and on SQLite the
    write transaction serialises it), so two workers never refresh one
    grant at once. Otherwise a provider that rotates refresh tokens would
    invalidate the one the other worker used. The HTTP request to the token
    endpoint runs inside that transaction, for at most EMAILSYNC_TIMEOUT.
    Raises MailError: OAUTH_REVOKED when the provider rejects the grant,
    OAUTH_UNAVAILABLE on a network or server failure, OAUTH_CLIENT_REJECTED
    when the site's client registration is refused, SECRET_UNREADABLE when
    a stored token no longer decrypts.
    """
    if not expires_soon(account.oauth_access_token_expires_at):
        cached = _decrypt(account.oauth_access_token_encrypted)
        if cached:
            return cached

    with transaction.atomic():
        locked = MailAccount.objects.select_for_update().get(pk=account.pk)
        if not expires_soon(locked.oauth_access_token_expires_at) and locked.oauth_access_token_encrypted:
            # Another worker refreshed the token while this one waited.
            _copy_token_fields(locked, account)
            return _decrypt(locked.oauth_access_token_encrypted)

        tokens = refresh_tokens(locked)
        store_tokens(locked, tokens)
        locked.save(update_fields=[*TOKEN_FIELDS, "updated_at"])
    _copy_token_fields(locked, account)
    return tokens.access_token


def refresh_tokens(account):
    """Ask the provider for a new access token with the stored refresh token; returns a TokenSet."""
    provider = provider_for_preset(account.provider, configured_only=False)
    if provider is None or not provider.is_configured:
        raise MailError(
            errors.OAUTH_CLIENT_REJECTED,
            f"no configured OAuth client for preset {account.provider!r}; set its client id and secret",
        )
    refresh_token = _decrypt(account.oauth_refresh_token_encrypted)
    if not refresh_token:
        raise MailError(errors.OAUTH_REVOKED, "no refresh token is stored")

    started = time.monotonic()
    try:
        with client_for(provider) as client:
            token = client.refresh_token(provider.token_url, refresh_token=refresh_token)
    except (OAuthError, requests.RequestException, ValueError) as exc:
        error = token_error(provider, exc, "refresh")
        logger.warning("Access token not refreshed: account=%s code=%s", account.pk, error.code)
        raise error from None

    tokens = token_set_from_response(token, previous_refresh_token=refresh_token)
    logger.info(
        "Access token refreshed: account=%s provider=%s rotated_refresh_token=%s seconds=%.2f",
        account.pk, provider.key, tokens.refresh_token != refresh_token, time.monotonic() - started,
    )
    return tokens


def _copy_token_fields(source, target):
    for name in TOKEN_FIELDS:
        setattr(target, name, getattr(source, name))


def _decrypt(value):
    try:
        return crypto.decrypt(value)
    except crypto.DecryptionError as exc:
        raise MailError(errors.SECRET_UNREADABLE, str(exc)) from None


# --- The confirmed address ---------------------------------------------------------


def id_token_claims(provider, id_token):
    """Return the claims of an ID token received straight from the token endpoint.

    The signature is not checked: OpenID Connect Core 1.0, section 3.1.3.7,
    lets a client that receives the ID token directly from the token
    endpoint over TLS rely on the TLS server check instead. The audience and
    the expiry are still checked, so a token issued to another client is
    refused. Returns {} when the token is missing or malformed.
    """
    if not id_token:
        return {}
    try:
        claims = json.loads(jws.extract_compact(id_token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        logger.warning("ID token not readable: provider=%s", provider.key)
        return {}
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if provider.client_id not in audiences:
        logger.warning("ID token for another client ignored: provider=%s", provider.key)
        return {}
    if isinstance(claims.get("exp"), (int, float)) and claims["exp"] < time.time() - 300:
        logger.warning("Expired ID token ignored: provider=%s", provider.key)
        return {}
    return claims


def read_userinfo(provider, tokens):
    """Return the userinfo endpoint's claims, or {} without one or on failure."""
    if not provider.userinfo_url:
        return {}
    try:
        with client_for(provider) as client:
            client.token = {"access_token": tokens.access_token, "token_type": "Bearer"}
            response = client.get(provider.userinfo_url)
            response.raise_for_status()
            claims = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("Userinfo not read: provider=%s error=%s", provider.key, type(exc).__name__)
        return {}
    return claims if isinstance(claims, dict) else {}


def confirmed_address(claims):
    """Return the mailbox address the claims confirm, or "".

    Google puts it in `email` (with `email_verified`). Microsoft sends
    `email` for personal accounts and often only `preferred_username`
    (the sign-in name, an address for mailboxes) for work accounts.
    """
    email = claims.get("email")
    if isinstance(email, str) and "@" in email and claims.get("email_verified", True) is not False:
        return email.strip()
    username = claims.get("preferred_username")
    if isinstance(username, str) and "@" in username:
        return username.strip()
    return ""


def revoke_refresh_token(account):
    """Ask the provider to revoke the stored grant (RFC 7009), best effort.

    Returns True when the provider confirmed. Microsoft offers no such
    endpoint: there the owner removes the app from their account page.
    """
    provider = provider_for_preset(account.provider, configured_only=False)
    refresh_token = ""
    try:
        refresh_token = crypto.decrypt(account.oauth_refresh_token_encrypted)
    except crypto.DecryptionError:
        pass
    if provider is None or not provider.is_configured or not provider.revocation_url or not refresh_token:
        return False
    try:
        with client_for(provider) as client:
            response = client.revoke_token(provider.revocation_url, token=refresh_token, token_type_hint="refresh_token")
    except requests.RequestException as exc:
        logger.warning("Grant not revoked: account=%s error=%s", account.pk, type(exc).__name__)
        return False
    logger.info("Grant revoked at the provider: account=%s status=%s", account.pk, response.status_code)
    return response.ok
