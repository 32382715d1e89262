"""Check mailbox settings for real, step by step, before anything is saved.

Steps run in order and stop at the first failure: incoming connect,
incoming login, outgoing (SMTP) connect, outgoing login. Each step's result
names the step and, on failure, the MailError with its plain-language text.
"""

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .errors import MailError
from .imap import ImapSession
from .pop3 import Pop3Session
from .smtp import SmtpSession

logger = logging.getLogger(__name__)

STEP_LABELS = {
    "incoming_connect": _("Connect to the incoming server"),
    "incoming_login": _("Sign in to the incoming server"),
    "smtp_connect": _("Connect to the outgoing server"),
    "smtp_login": _("Sign in to the outgoing server"),
}


@dataclass
class ServerSettings:
    protocol: str  # "imap", "pop3" or "smtp"
    host: str
    port: int
    security: str
    login: str
    password: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)


@dataclass
class StepResult:
    key: str
    ok: bool | None = None  # None: not run because an earlier step failed
    error: MailError | None = None
    seconds: float = 0.0

    @property
    def label(self):
        return STEP_LABELS[self.key]

    @property
    def message(self):
        return self.error.user_message() if self.error else ""


@dataclass
class Verification:
    steps: list

    @property
    def ok(self):
        return all(step.ok for step in self.steps)

    @property
    def failed_step(self):
        return next((step for step in self.steps if step.ok is False), None)


def _session_for(server):
    timeout = settings.EMAILSYNC_TIMEOUT
    if server.protocol == "imap":
        return ImapSession(server.host, server.port, server.security, timeout)
    if server.protocol == "pop3":
        return Pop3Session(server.host, server.port, server.security, timeout)
    return SmtpSession(server.host, server.port, server.security, timeout)


def _login(session, server):
    if server.access_token:
        session.oauth2_login(server.login, server.access_token)
    else:
        session.login(server.login, server.password)


def verify(incoming, outgoing):
    """Run the four steps and return a Verification."""
    steps = [StepResult(key) for key in STEP_LABELS]
    plan = [(incoming, steps[0], steps[1]), (outgoing, steps[2], steps[3])]
    for server, connect_step, login_step in plan:
        session = _session_for(server)
        try:
            if not _run_step(connect_step, session.connect):
                return Verification(steps)
            if not _run_step(login_step, lambda: _login(session, server)):
                return Verification(steps)
        finally:
            session.close()
    return Verification(steps)


def _run_step(step, action):
    started = time.monotonic()
    try:
        action()
        step.ok = True
    except MailError as error:
        step.ok = False
        step.error = error
        logger.info("Mailbox check failed: step=%s code=%s detail=%s", step.key, error.code, error.detail[:300])
    step.seconds = time.monotonic() - started
    return step.ok
