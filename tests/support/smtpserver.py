"""A real SMTP server for tests: aiosmtpd with STARTTLS and AUTH."""

import logging
import ssl
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

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

    async def handle_DATA(self, server, session, envelope):
        if self.close_at_data:
            server.transport.abort()
            return "421 4.3.0 Connection dropped by the test"
        with self.lock:
            self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on loopback.

    mode "starttls": plain port, STARTTLS required before AUTH and MAIL.
    mode "ssl": implicit TLS from the first byte.
    mode "plain": AUTH allowed without TLS.
    """

    def __init__(self, certfile, keyfile, mode="starttls", users=None, **smtp_options):
        """`smtp_options` go to aiosmtpd's SMTP class, e.g. enable_SMTPUTF8=False
        or data_size_limit=1000 (announced as SIZE)."""
        self.host = "127.0.0.1"
        self.port = free_port()
        self.mode = mode
        self.users = dict(users or {})
        self.recorder = Recorder()
        self.auth_attempts = 0
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        kwargs = {"authenticator": self._authenticate, "auth_required": True, **smtp_options}
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
