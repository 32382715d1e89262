"""A small OAuth 2.0 authorization server on loopback, for tests.

It plays Google or Microsoft for the CRM, and the token checker for the
test Dovecot and SMTP server:
- GET /authorize shows a consent page (an account field, Allow, Deny);
  POST /authorize redirects back with a code (RFC 6749 4.1.2) or with
  error=access_denied (4.1.2.1). PKCE with S256 is required (RFC 7636).
- POST /token: authorization_code (client secret, redirect URI and PKCE
  checked; a code works once, within code_seconds) and refresh_token
  (rotated when rotate_refresh_tokens is on). The response carries an ID
  token signed with the client secret (HS256).
- GET /userinfo with a bearer token; POST /introspect (RFC 7662), which
  Dovecot's oauth2 passdb and the test SMTP server call; POST /revoke
  (RFC 7009).

Tests steer it through attributes (token lifetimes, failures to inject)
and read what happened (refresh count, introspection results, every
secret it issued, for the leak test).
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import OctKey

from .dovecot import free_port


@dataclass
class Grant:
    username: str
    client_id: str
    scope: str
    is_revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    nonce: str
    expires_at: float
    is_used: bool = False


@dataclass
class Introspection:
    username: str
    active: bool


@dataclass
class ServerState:
    clients: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    refresh_tokens: dict = field(default_factory=dict)
    access_tokens: dict = field(default_factory=dict)
    introspections: list = field(default_factory=list)
    # Every code and token handed out, so a test can search for leaks.
    issued: list = field(default_factory=list)
    refresh_count: int = 0
    refresh_rejections: int = 0
    code_exchanges: int = 0


class AuthorizationServer:
    """Start with `start()`, stop with `stop()`; one instance serves a whole test session."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.state = ServerState()
        self.lock = threading.Lock()
        self.reset()
        self._httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._httpd.authorization_server = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def reset(self):
        """Restore the default behaviour; registered clients and grants stay."""
        self.access_token_seconds = 3600
        self.code_seconds = 60
        self.rotate_refresh_tokens = False
        # Scopes the consent leaves out, as when a Google user unticks one.
        self.withheld_scopes = set()
        self.issue_refresh_tokens = True
        self.id_token_has_email = True
        # Token requests to fail with HTTP 503 before working again.
        self.failing_token_requests = 0

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def add_client(self, client_id, secret):
        self.state.clients[client_id] = secret

    def revoke_grants(self, username):
        """Withdraw every grant of username, as a user does in their account's security page."""
        with self.lock:
            for grant in self.state.refresh_tokens.values():
                if grant.username == username:
                    grant.is_revoked = True

    def expire_access_tokens(self):
        with self.lock:
            for token in self.state.access_tokens.values():
                token.expires_at = 0

    def active_grants(self, username):
        with self.lock:
            grants = {id(grant): grant for grant in self.state.refresh_tokens.values()}
        return [grant for grant in grants.values() if grant.username == username and not grant.is_revoked]

    def settings_for(self, prefix, client_id, with_userinfo=True, with_revocation=True):
        """Return the Django settings that point provider `prefix` (GOOGLE, MICROSOFT) here."""
        return {
            f"{prefix}_OAUTH_CLIENT_ID": client_id,
            f"{prefix}_OAUTH_CLIENT_SECRET": self.state.clients[client_id],
            f"{prefix}_OAUTH_AUTHORIZATION_URL": f"{self.url}/authorize",
            f"{prefix}_OAUTH_TOKEN_URL": f"{self.url}/token",
            f"{prefix}_OAUTH_USERINFO_URL": f"{self.url}/userinfo" if with_userinfo else "",
            f"{prefix}_OAUTH_REVOCATION_URL": f"{self.url}/revoke" if with_revocation else "",
        }

    # --- What the endpoints do -------------------------------------------------------

    def new_code(self, query, username):
        grant = Grant(username, query["client_id"], self._granted_scope(query.get("scope", "")))
        code = Code(grant, query["redirect_uri"], query["code_challenge"], query.get("nonce", ""),
                    time.time() + self.code_seconds)
        value = self._secret("code")
        with self.lock:
            self.state.codes[value] = code
        return value

    def _granted_scope(self, scope):
        return " ".join(item for item in scope.split() if item not in self.withheld_scopes)

    def _secret(self, kind):
        value = f"{kind}-{secrets.token_urlsafe(24)}"
        self.state.issued.append(value)
        return value

    def token_response(self, grant, nonce="", refresh_token=""):
        access = self._secret("access")
        with self.lock:
            self.state.access_tokens[access] = AccessToken(grant, time.time() + self.access_token_seconds)
        response = {
            "access_token": access, "token_type": "Bearer", "expires_in": self.access_token_seconds,
            "scope": grant.scope,
        }
        if refresh_token:
            response["refresh_token"] = refresh_token
        if "openid" in grant.scope.split():
            response["id_token"] = self._id_token(grant, nonce)
            self.state.issued.append(response["id_token"])
        return response

    def new_refresh_token(self, grant):
        if not self.issue_refresh_tokens:
            return ""
        value = self._secret("refresh")
        with self.lock:
            self.state.refresh_tokens[value] = grant
        return value

    def _id_token(self, grant, nonce):
        now = int(time.time())
        claims = {"iss": self.url, "sub": f"sub-{grant.username}", "aud": grant.client_id, "iat": now,
                  "exp": now + 3600, "preferred_username": grant.username}
        if self.id_token_has_email:
            claims.update(email=grant.username, email_verified=True)
        if nonce:
            claims["nonce"] = nonce
        key = OctKey.import_key(self.state.clients[grant.client_id].encode().ljust(32, b"."))
        return jwt.encode({"alg": "HS256"}, claims, key)

    def introspect(self, token):
        with self.lock:
            access = self.state.access_tokens.get(token)
            active = access is not None and access.expires_at > time.time() and not access.grant.is_revoked
            username = access.grant.username if access else ""
            self.state.introspections.append(Introspection(username, active))
        return {"active": True, "username": username, "scope": access.grant.scope} if active else {"active": False}

    def failed_introspections(self, username):
        """Return the rejected token checks of username: each one a failed login."""
        return [item for item in self.state.introspections if item.username == username and not item.active]


def _s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    server_version = "TestAuthorizationServer/1"

    @property
    def auth(self):
        return self.server.authorization_server

    def log_message(self, format, *args):
        """Stay quiet: request lines carry codes and states."""

    # --- Plumbing --------------------------------------------------------------------

    def _form(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8")
        return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}

    def _query(self):
        return {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}

    def _json(self, status, data):
        body = json.dumps(data).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _html(self, status, text):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _client_id(self, form):
        """Return the authenticated client id (client_secret_post or basic), or ""."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _colon, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        if client_id and self.auth.state.clients.get(client_id) == secret:
            return client_id
        return ""

    # --- Endpoints -------------------------------------------------------------------

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/authorize":
            return self._consent_page(self._query())
        if path == "/userinfo":
            return self._userinfo()
        if path == "/favicon.ico":
            # Browsers ask for it; a 404 would show as a console error.
            self.send_response(204)
            self.end_headers()
            return None
        return self._json(404, {"error": "not_found"})

    def do_POST(self):
        path = urlsplit(self.path).path
        routes = {"/authorize": self._decide, "/token": self._token, "/introspect": self._introspect,
                  "/revoke": self._revoke}
        if path not in routes:
            return self._json(404, {"error": "not_found"})
        return routes[path](self._form())

    def _authorization_problem(self, query):
        if query.get("client_id") not in self.auth.state.clients:
            return "unknown client_id"
        if query.get("response_type") != "code":
            return "response_type must be code"
        if not query.get("redirect_uri") or not query.get("state"):
            return "redirect_uri and state are required"
        if not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            return "PKCE with S256 is required"
        return ""

    def _consent_page(self, query):
        problem = self._authorization_problem(query)
        if problem:
            return self._html(400, f"<p id='problem'>{html.escape(problem)}</p>")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(key)}" value="{html.escape(value)}">'
            for key, value in query.items()
        )
        self._html(200, (
            "<!doctype html><title>Test sign-in</title><h1>Test authorization server</h1>"
            f"<p id='scopes'>{html.escape(query.get('scope', ''))}</p>"
            f"<form method='post' action='/authorize'>{hidden}"
            f"<label>Account <input id='username' name='username' value='{html.escape(query.get('login_hint', ''))}'>"
            "</label><button id='allow' name='decision' value='allow'>Allow</button>"
            "<button id='deny' name='decision' value='deny'>Deny</button></form>"
        ))

    def _decide(self, form):
        problem = self._authorization_problem(form)
        if problem:
            return self._html(400, f"<p id='problem'>{html.escape(problem)}</p>")
        if form.get("decision") != "allow":
            params = {"error": "access_denied", "error_description": "The user denied access", "state": form["state"]}
        else:
            params = {"code": self.auth.new_code(form, form.get("username", "")), "state": form["state"]}
        separator = "&" if "?" in form["redirect_uri"] else "?"
        self._redirect(form["redirect_uri"] + separator + urlencode(params))

    def _token(self, form):
        if self.auth.failing_token_requests > 0:
            self.auth.failing_token_requests -= 1
            return self._html(503, "<p>Service unavailable</p>")
        client_id = self._client_id(form)
        if not client_id:
            return self._json(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            return self._exchange_code(form, client_id)
        if form.get("grant_type") == "refresh_token":
            return self._refresh(form, client_id)
        return self._json(400, {"error": "unsupported_grant_type"})

    def _exchange_code(self, form, client_id):
        self.auth.state.code_exchanges += 1
        with self.auth.lock:
            code = self.auth.state.codes.get(form.get("code", ""))
            # A code works once (RFC 6749 4.1.2), even when this use fails.
            was_used = code is None or code.is_used
            if code is not None:
                code.is_used = True
        if was_used or code.expires_at < time.time() or code.grant.client_id != client_id:
            return self._json(400, {"error": "invalid_grant", "error_description": "Code expired or already used"})
        if form.get("redirect_uri") != code.redirect_uri:
            return self._json(400, {"error": "invalid_grant", "error_description": "redirect_uri differs"})
        if _s256(form.get("code_verifier", "")) != code.challenge:
            return self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        refresh_token = self.auth.new_refresh_token(code.grant)
        self._json(200, self.auth.token_response(code.grant, code.nonce, refresh_token))

    def _refresh(self, form, client_id):
        with self.auth.lock:
            grant = self.auth.state.refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None or grant.is_revoked or grant.client_id != client_id:
            self.auth.state.refresh_rejections += 1
            return self._json(400, {"error": "invalid_grant", "error_description": "Token has been revoked"})
        self.auth.state.refresh_count += 1
        new_refresh = ""
        if self.auth.rotate_refresh_tokens:
            new_refresh = self.auth.new_refresh_token(grant)
            with self.auth.lock:
                del self.auth.state.refresh_tokens[form["refresh_token"]]
        self._json(200, self.auth.token_response(grant, refresh_token=new_refresh))

    def _userinfo(self):
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        answer = self.auth.introspect(token)
        if not answer["active"]:
            return self._json(401, {"error": "invalid_token"})
        self._json(200, {"sub": f"sub-{answer['username']}", "email": answer["username"], "email_verified": True})

    def _introspect(self, form):
        self._json(200, self.auth.introspect(form.get("token", "")))

    def _revoke(self, form):
        if not self._client_id(form):
            return self._json(401, {"error": "invalid_client"})
        with self.auth.lock:
            grant = self.auth.state.refresh_tokens.get(form.get("token", ""))
            if grant is not None:
                grant.is_revoked = True
        self._json(200, {})
