"""Fixtures shared by every test: real servers and personas."""

import itertools
import uuid

import pytest
from django.contrib.auth.models import Permission

from tests.support.dovecot import Dovecot
from tests.support.smtpserver import SmtpServer

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    """One Dovecot for the whole session; tests create their own users."""
    server = Dovecot().start()
    yield server
    server.stop()


# Dovecot 2.3's post-login capabilities without CONDSTORE, QRESYNC,
# LIST-STATUS and IDLE: a server like many older ones.
PLAIN_CAPABILITIES = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT THREAD=REFERENCES MULTIAPPEND "
    "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ESEARCH BINARY MOVE LITERAL+ SPECIAL-USE"
)


@pytest.fixture(scope="session")
def plain_dovecot(dovecot):
    """A second Dovecot that offers none of the IMAP extensions for changes."""
    server = Dovecot(imap_capability=f"imap_capability = {PLAIN_CAPABILITIES}", ssl_from=dovecot).start()
    yield server
    server.stop()


def add_mailbox_user(server):
    """Create a fresh, empty mailbox on a test Dovecot: (login, password)."""
    login = f"user{next(_counter)}-{uuid.uuid4().hex[:6]}"
    password = f"pw-{uuid.uuid4().hex[:8]}"
    server.add_user(login, password)
    return login, password


@pytest.fixture
def mailbox_user(dovecot):
    """A fresh, empty mailbox on the session's Dovecot: (login, password)."""
    return add_mailbox_user(dovecot)


@pytest.fixture(scope="session")
def smtp_server(dovecot):
    """An SMTP server with STARTTLS and AUTH; accepts any address it was given."""
    server = SmtpServer(dovecot.dir / "ssl" / "cert.pem", dovecot.dir / "ssl" / "key.pem", mode="starttls")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_user(smtp_server):
    login = f"smtp{next(_counter)}@example.test"
    password = f"pw-{uuid.uuid4().hex[:8]}"
    smtp_server.users[login] = password
    return login, password


@pytest.fixture
def trust_test_ca(settings, dovecot):
    """Trust the test servers' self-signed certificate, as an operator would."""
    settings.EMAILSYNC_CA_FILE = dovecot.cafile
    return dovecot.cafile


@pytest.fixture
def site_mail(settings, smtp_server, trust_test_ca):
    """Send the site's own mail through the test SMTP server, with STARTTLS and AUTH."""
    settings.EMAIL_BACKEND = "tests.support.email_backend.TestCaEmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = True
    settings.EMAIL_HOST_USER = "crm-site@example.test"
    settings.EMAIL_HOST_PASSWORD = "site-mail-pw"
    smtp_server.users["crm-site@example.test"] = "site-mail-pw"
    return smtp_server


def make_user(django_user_model, username, *, integrate=False, **extra):
    user = django_user_model.objects.create_user(
        username=username, password="secret-pass-1", email=f"{username}@example.test", **extra,
    )
    if integrate:
        user.user_permissions.add(Permission.objects.get(codename="integrate_email"))
    return user


@pytest.fixture
def owner(django_user_model):
    """A sales rep allowed to connect a mailbox."""
    return make_user(django_user_model, "owner", integrate=True)


@pytest.fixture
def teammate(django_user_model):
    return make_user(django_user_model, "teammate", integrate=True)


@pytest.fixture
def outsider(django_user_model):
    """A user without the permission to connect a mailbox."""
    return make_user(django_user_model, "outsider")


@pytest.fixture
def connect_account(dovecot, smtp_server, trust_test_ca):
    """Return a function that connects a CRM account to a test mailbox.

    The connection is checked for real (IMAP STARTTLS and SMTP STARTTLS with
    AUTH) exactly as a user's would be; the SMTP server learns the same
    credentials as the mailbox.
    """
    from emailsync.services import connect_mailbox
    from emailsync.verify import ServerSettings

    def connect(user, login, password, email=None, security="starttls", server=None, **options):
        server = server or dovecot
        smtp_server.users[login] = password
        incoming = ServerSettings(
            "imap", server.host, server.imap_port if security != "ssl" else server.imaps_port,
            security, login, password,
        )
        outgoing = ServerSettings("smtp", smtp_server.host, smtp_server.port, "starttls", login, password)
        return connect_mailbox(user, email or f"{login}@example.test", incoming, outgoing, **options)

    return connect


@pytest.fixture(scope="session")
def corpus_mailbox(dovecot):
    """The real-mail corpus on the session's Dovecot, loaded once, byte for byte.

    Every third message goes to Sent, the rest to INBOX; a few are put in
    both folders so that the same bytes sit in two places.
    """
    from tests.support.corpus import read_corpus

    messages = read_corpus()
    login, password = "corpus", "corpus-pw"
    dovecot.add_user(login, password)
    inbox = [data for index, (_name, data) in enumerate(messages) if index % 3 != 0]
    sent = [data for index, (_name, data) in enumerate(messages) if index % 3 == 0]
    both = inbox[:5]
    dovecot.append(login, "INBOX", inbox)
    dovecot.append(login, "Sent", sent + both)
    return login, password
