"""A real SMTP server for tests: aiosmtpd with STARTTLS and AUTH."""

import asyncio
import base64
import json
import logging
import ssl
import threading
import urllib.request
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from urllib.parse import urlencode

from .dovecot import free_port

# aiosmtpd logs a deprecation line on its "mail.log" logger at every AUTH.
logging.getLogger("mail.log").setLevel(logging.ERROR)


@dataclass
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list
    data: bytes


@dataclass
class Recorder:
    messages: list = field(default_factory=list)
    rejected_recipients: set = field(default_factory=set)
    # Drop the connection once the message data has arrived, before any
    # reply, as a crashing server or a network cut does. Nothing is
    # recorded then.
    close_at_data: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.rejected_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    # SASL XOAUTH2 and OAUTHBEARER (RFC 7628): the bearer token is checked
    # against the authorization server's RFC 7662 introspection endpoint,
    # as Dovecot's oauth2 passdb does. Without introspection_url they are
    # rejected.
    introspection_url: str = ""
    oauth_logins: list = field(default_factory=list)

    async def auth_XOAUTH2(self, server, args):
        return await self._bearer_login(server, args, _parse_xoauth2)

    async def auth_OAUTHBEARER(self, server, args):
        return await self._bearer_login(server, args, _parse_oauthbearer)

    async def _bearer_login(self, server, args, parse):
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        user, token = parse(base64.b64decode(args[1]).decode("utf-8", "replace"))
        loop = asyncio.get_running_loop()
        username = await loop.run_in_executor(None, self._introspect, token)
        if username and username == user:
            with self.lock:
                self.oauth_logins.append(user)
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # RFC 7628 3.2.2: an error challenge, to which the client replies
        # before the final 535.
        await server.challenge_auth(json.dumps({"status": "invalid_token"}))
        return AuthResult(success=False, handled=False)

    def _introspect(self, token):
        if not self.introspection_url:
            return ""
        request = urllib.request.Request(self.introspection_url, data=urlencode({"token": token}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        return answer.get("username", "") if answer.get("active") else ""

    async def handle_DATA(self, server, session, envelope):
        if self.close_at_data:
            server.transport.abort()
            return "421 4.3.0 Connection dropped by the test"
        with self.lock:
            self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def _parse_xoauth2(message):
    """Return (user, token) of "user=U^Aauth=Bearer T^A^A"."""
    fields = dict(part.split("=", 1) for part in message.split("\x01") if "=" in part)
    return fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")


def _parse_oauthbearer(message):
    """Return (user, token) of "n,a=U,^Aauth=Bearer T^A^A" (RFC 7628 3.1)."""
    header, _separator, rest = message.partition("\x01")
    user = next((part[2:] for part in header.split(",") if part.startswith("a=")), "")
    user = user.replace("=2C", ",").replace("=3D", "=")
    fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
    return user, fields.get("auth", "").removeprefix("Bearer ")


class SmtpServer:
    """An SMTP server on loopback.

    mode "starttls": plain port, STARTTLS required before AUTH and MAIL.
    mode "ssl": implicit TLS from the first byte.
    mode "plain": AUTH allowed without TLS.
    """

    def __init__(self, certfile, keyfile, mode="starttls", users=None, introspection_url="",
                 exclude_mechanisms=(), **smtp_options):
        """`introspection_url` turns on XOAUTH2 and OAUTHBEARER logins;
        `exclude_mechanisms` hides AUTH mechanisms from EHLO. `smtp_options`
        go to aiosmtpd's SMTP class, e.g. enable_SMTPUTF8=False or
        data_size_limit=1000 (announced as SIZE)."""
        self.host = "127.0.0.1"
        self.port = free_port()
        self.mode = mode
        self.users = dict(users or {})
        self.recorder = Recorder(introspection_url=introspection_url)
        self.auth_attempts = 0
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        kwargs = {"authenticator": self._authenticate, "auth_required": True, **smtp_options}
        excluded = list(exclude_mechanisms) + ([] if introspection_url else ["XOAUTH2", "OAUTHBEARER"])
        kwargs["auth_exclude_mechanism"] = excluded
        if mode == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        elif mode == "ssl":
            kwargs.update(ssl_context=context, auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        self.controller = Controller(self.recorder, hostname=self.host, port=self.port, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        self.auth_attempts += 1
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        if login in self.users and self.users[login] == password:
            return AuthResult(success=True)
        # handled=False makes aiosmtpd answer 535; its default (True) means
        # "the handler already replied" and leaves the client waiting.
        return AuthResult(success=False, handled=False)

    @property
    def messages(self):
        return self.recorder.messages

    def start(self):
        if self.mode == "ssl":
            # Controller's readiness probe speaks plain SMTP, which an
            # implicit-TLS server cannot answer; start without the probe.
            self.controller.ready_timeout = 5
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
