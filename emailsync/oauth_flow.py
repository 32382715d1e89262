"""The OAuth 2.0 sign-in: authorization code with PKCE (RFC 7636, S256).

`start` stores a pending sign-in in the user's session under a random
`state`, with the PKCE verifier, a nonce, the preset and the purpose
(connect a new mailbox, or reconnect the owner's one), and returns the
provider's authorization URL. `finish` handles the provider's redirect:
the state must name a pending sign-in of this session, and is removed at
once, so a callback URL works once and only in the browser that started
it. Then the code is exchanged and the address the provider confirms is
read. Every failure raises SignInFailed with a reason the wizard shows;
nothing is saved here.
"""

import logging
import re
import time
from dataclasses import dataclass

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from . import errors
from .oauth import (
    OAuthProvider, TokenSet, client_for, confirmed_address, id_token_claims, missing_mail_scopes,
    provider_for_preset, read_userinfo, token_error, token_set_from_response,
)

logger = logging.getLogger(__name__)

SESSION_KEY = "emailsync_oauth"
# Sign-ins one session may have pending at once (several tabs); the oldest
# is dropped beyond this, so the session cannot grow without bound.
MAX_PENDING = 5

CONNECT = "connect"
RECONNECT = "reconnect"

# Failure reasons, as SignInFailed.reason.
DENIED = "denied"
INVALID_STATE = "invalid_state"
EXPIRED = "expired"
CODE_REJECTED = "code_rejected"
PROVIDER_ERROR = "provider_error"
UNAVAILABLE = "unavailable"
NOT_CONFIGURED = "not_configured"
NO_ADDRESS = "no_address"
NO_REFRESH_TOKEN = "no_refresh_token"
MAIL_SCOPE_MISSING = "mail_scope_missing"
WRONG_ACCOUNT = "wrong_account"

# An error code from the provider is shown to the user only when it has
# the form RFC 6749 4.1.2.1 gives it.
_ERROR_CODE = re.compile(r"^[a-z_]{1,60}$")


@dataclass
class SignIn:
    """A completed sign-in: whose mailbox, for what, and its tokens."""

    provider: OAuthProvider
    preset_key: str
    purpose: str
    account_id: int | None
    address: str
    tokens: TokenSet


class SignInFailed(Exception):
    """The sign-in could not complete. `message()` returns why, and what to do next."""

    def __init__(self, reason, preset_key="", purpose="", **params):
        super().__init__(reason)
        self.reason = reason
        self.preset_key = preset_key
        self.purpose = purpose
        self.params = params

    def message(self):
        provider = self.params.get("provider", "")
        texts = {
            DENIED: _("You did not allow the CRM to use your mailbox at %(provider)s, so nothing was connected. "
                      "To connect it, sign in again and accept the access the CRM asks for."),
            INVALID_STATE: _("This sign-in is not valid: it was already completed, or it was started in another "
                             "browser or before you signed in to the CRM again. Nothing was saved. Start the sign-in "
                             "again with the button below."),
            EXPIRED: _("The sign-in took too long and has expired. Nothing was saved. Start it again."),
            CODE_REJECTED: _("%(provider)s did not accept the sign-in because its code had expired or was already "
                             "used. Nothing was saved. Sign in again."),
            PROVIDER_ERROR: _("%(provider)s reported an error during the sign-in (%(error)s). Nothing was saved. "
                              "Try again; if it keeps failing, tell your administrator."),
            UNAVAILABLE: _("The sign-in service of %(provider)s could not be reached. Nothing was saved. "
                           "Try again in a few minutes."),
            NOT_CONFIGURED: _("Sign-in with this provider is not set up on this site. Use an app password instead, "
                              "or ask your administrator to set it up."),
            NO_ADDRESS: _("%(provider)s did not say which email address you signed in with, so nothing was saved. "
                          "Sign in again with a mailbox account."),
            NO_REFRESH_TOKEN: _("%(provider)s granted only short-lived access, which would stop the sync within an "
                                "hour. Nothing was saved. Sign in again and accept every access the CRM asks for."),
            MAIL_SCOPE_MISSING: _("You did not allow access to your email at %(provider)s, which the CRM needs to "
                                  "read and send your mail. Nothing was saved. Sign in again and tick the email "
                                  "access."),
            WRONG_ACCOUNT: _("You signed in as %(signed_in)s, but this mailbox is %(address)s. Nothing was changed. "
                             "Sign in again with %(address)s."),
        }
        params = {"provider": provider, "error": "", "signed_in": "", "address": "", **self.params}
        return texts[self.reason] % params


def redirect_uri(request):
    """Return the callback URL to send to the provider: SITE_URL's, else the request's."""
    path = reverse("emailsync:oauth_callback")
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


def start(request, preset_key, purpose, account_id=None, login_hint=""):
    """Store a pending sign-in in the session and return the provider's authorization URL."""
    provider = provider_for_preset(preset_key)
    if provider is None:
        raise SignInFailed(NOT_CONFIGURED, preset_key, purpose)

    state, verifier, nonce = generate_token(43), generate_token(64), generate_token(32)
    extra = dict(provider.authorization_params)
    if login_hint:
        extra["login_hint"] = login_hint
    with client_for(provider, redirect_uri(request)) as client:
        url, _state = client.create_authorization_url(
            provider.authorization_url, state=state, code_verifier=verifier, nonce=nonce, **extra,
        )

    pending = _live_pending(request.session.get(SESSION_KEY, {}))
    pending[state] = {
        "preset": preset_key, "purpose": purpose, "account": account_id,
        "verifier": verifier, "nonce": nonce, "started": time.time(),
    }
    request.session[SESSION_KEY] = pending
    logger.info("Sign-in started: user=%s provider=%s purpose=%s", request.user.pk, provider.key, purpose)
    return url


def _live_pending(pending):
    """Return the pending sign-ins that have not expired, at most MAX_PENDING - 1 of them."""
    limit = time.time() - settings.EMAILSYNC_OAUTH_SIGN_IN_MINUTES * 60
    live = sorted(
        ((state, flow) for state, flow in pending.items() if flow.get("started", 0) >= limit),
        key=lambda item: item[1]["started"],
    )
    return dict(live[-(MAX_PENDING - 1):])


def take_pending(request):
    """Remove and return the pending sign-in the callback's state names, or raise SignInFailed.

    Removing it first makes every state usable once, whatever happens next.
    """
    state = request.GET.get("state", "")
    pending = request.session.get(SESSION_KEY, {})
    flow = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending
    if flow is None:
        raise SignInFailed(INVALID_STATE)

    provider = provider_for_preset(flow["preset"])
    name = provider.name if provider else ""
    if time.time() - flow["started"] > settings.EMAILSYNC_OAUTH_SIGN_IN_MINUTES * 60:
        raise SignInFailed(EXPIRED, flow["preset"], flow["purpose"], provider=name)
    if provider is None:
        raise SignInFailed(NOT_CONFIGURED, flow["preset"], flow["purpose"])
    return flow, provider


def finish(request, flow, provider):
    """Turn the provider's redirect into a SignIn, or raise SignInFailed."""
    failed = _failure_factory(flow, provider)
    error = request.GET.get("error", "")
    if error:
        if error == "access_denied":
            raise failed(DENIED)
        raise failed(PROVIDER_ERROR, error=error if _ERROR_CODE.match(error) else "invalid_request")
    code = request.GET.get("code", "")
    if not code:
        raise failed(PROVIDER_ERROR, error="missing_code")

    tokens = exchange_code(provider, code, flow["verifier"], redirect_uri(request), failed)
    if not tokens.refresh_token:
        raise failed(NO_REFRESH_TOKEN)
    if missing_mail_scopes(provider, tokens):
        raise failed(MAIL_SCOPE_MISSING)

    claims = id_token_claims(provider, tokens.id_token)
    if claims.get("nonce") not in (None, flow["nonce"]):
        # An ID token minted for another sign-in: never trust its address.
        raise failed(PROVIDER_ERROR, error="nonce_mismatch")
    address = confirmed_address(claims) or confirmed_address(read_userinfo(provider, tokens))
    if not address:
        raise failed(NO_ADDRESS)
    return SignIn(provider, flow["preset"], flow["purpose"], flow["account"], address, tokens)


def _failure_factory(flow, provider):
    def failed(reason, **params):
        return SignInFailed(reason, flow["preset"], flow["purpose"], provider=provider.name, **params)

    return failed


def exchange_code(provider, code, verifier, callback_url, failed):
    """Exchange the authorization code and the PKCE verifier for a TokenSet."""
    try:
        with client_for(provider, callback_url) as client:
            token = client.fetch_token(
                provider.token_url, grant_type="authorization_code", code=code, code_verifier=verifier,
            )
    except (OAuthError, requests.RequestException, ValueError) as exc:
        error = token_error(provider, exc, "code exchange")
        logger.warning("Sign-in code not exchanged: provider=%s code=%s detail=%s",
                       provider.key, error.code, error.detail[:300])
        if error.code == errors.OAUTH_REVOKED:
            raise failed(CODE_REJECTED) from None
        if isinstance(exc, OAuthError) and exc.error:
            raise failed(PROVIDER_ERROR, error=exc.error if _ERROR_CODE.match(exc.error) else "invalid_request") from None
        raise failed(UNAVAILABLE) from None
    return token_set_from_response(token)
