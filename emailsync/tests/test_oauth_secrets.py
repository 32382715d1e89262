"""No OAuth code or token appears in a log line, a page, the admin or a command's output.

One test walks a mailbox through its whole OAuth life (sign-in, wizard,
sync, a refresh, a revoked grant, reconnecting). It records every log
record at DEBUG, every page and every command output, then searches all
of it for each code and token the authorization server issued.
"""

import json
import logging

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse

from emailsync.models import MailAccount
from emailsync.sync import sync_account
from tests.support.commands import run_command
from tests.support.mail import make_raw
from tests.support.oauth_client import sign_in

from .conftest import add_oauth_user

pytestmark = pytest.mark.django_db

OWNER_PAGES = [
    "emailsync:from_addresses", "emailsync:server_details", "emailsync:server_edit", "emailsync:sharing",
    "emailsync:sync_options", "emailsync:mailbox", "emailsync:progress",
]


def admin_pages(client):
    """Return the admin index, and each registered model's list and first change page."""
    pages = [client.get(reverse("admin:index"))]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(client.get(reverse("admin:%s_%s_changelist" % info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(client.get(reverse("admin:%s_%s_change" % info, args=[first.pk])))
    return pages


def command_outputs(account):
    return [
        run_command("mail_status", verbosity=2).output,
        run_command("mail_status", json=True).output,
        run_command("sync_mail", account=account.pk).output,
    ]


def test_tokens_never_shown_or_logged(owner_client, owner, django_user_model, oauth_settings, oauth_server,
                                      oauth_dovecot, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    # The authorization server lives for the whole session, so earlier
    # tests' secrets are in its list too.
    issued_before = len(oauth_server.state.issued)
    texts = []
    address = add_oauth_user(oauth_dovecot)
    oauth_dovecot.append(address, "INBOX", [make_raw(subject="Hola")])

    # Sign in, walk the wizard, sync.
    texts.append(sign_in(owner_client, oauth_server, reverse("emailsync:connect_oauth", args=["gmail"]), address))
    texts += [owner_client.get(reverse(name)) for name in OWNER_PAGES]
    account = MailAccount.objects.get(owner=owner)
    assert sync_account(account.pk).ok

    # A refresh, the commands, the admin.
    oauth_server.expire_access_tokens()
    MailAccount.objects.filter(pk=account.pk).update(oauth_access_token_expires_at=None)
    texts += command_outputs(account)
    operator = django_user_model.objects.create_superuser("operator", "operator@example.test", "secret-pass-1")
    operator_client = Client()
    operator_client.force_login(operator)
    texts += admin_pages(operator_client)

    # The grant is revoked, the owner notified, and the mailbox reconnected.
    oauth_server.revoke_grants(address)
    MailAccount.objects.filter(pk=account.pk).update(oauth_access_token_expires_at=None)
    sync_account(account.pk)
    texts += [owner_client.get(reverse("emailsync:mailbox")), owner_client.get(reverse("emailsync:server_edit"))]
    texts.append(sign_in(owner_client, oauth_server, reverse("emailsync:oauth_reconnect"), address))
    texts += command_outputs(account) + admin_pages(operator_client)

    everything = "\n".join(
        [text.content.decode() if hasattr(text, "content") else text for text in texts]
        + [message.message().as_string() for message in mail.outbox]
        + [caplog.text, capsys.readouterr().err, json.dumps([record.args for record in caplog.records], default=str)]
    )
    secrets = oauth_server.state.issued[issued_before:]
    assert len([secret for secret in secrets if secret.startswith("refresh-")]) == 2
    assert oauth_server.state.refresh_count >= 1
    assert [secret for secret in secrets if secret in everything] == []
