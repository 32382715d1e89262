"""Operators and rows for the admin and health tests.

`superuser` may do everything and read message content. `viewer` is staff
with view permissions on the email models only. `operator` is staff who may
also change mailboxes and retry failed messages, but reads no content.
"""

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from emailsync.models import Folder, MailAccount, Message, SyncFailure

VIEW_PERMISSIONS = [
    "view_mailaccount", "view_message", "view_syncfailure", "view_syncrun", "view_groupsharingpolicy",
    "view_useractivity",
]
OPERATOR_PERMISSIONS = [*VIEW_PERMISSIONS, "change_mailaccount", "change_syncfailure"]

INCOMING_PASSWORD = "incoming-Pa55-7f3a9c"
SMTP_PASSWORD = "smtp-Pa55-2b8e41"
REFRESH_TOKEN = "refresh-token-c01dbeef"
ACCESS_TOKEN = "access-token-0ddba11"


def make_staff(django_user_model, username, codenames):
    user = django_user_model.objects.create_user(username, f"{username}@crm.example", "secret-staff", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="emailsync", codename__in=codenames))
    return user


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@crm.example", "secret-root")


@pytest.fixture
def viewer(django_user_model):
    return make_staff(django_user_model, "viewer", VIEW_PERMISSIONS)


@pytest.fixture
def operator(django_user_model):
    return make_staff(django_user_model, "operator", OPERATOR_PERMISSIONS)


def login(client, user):
    """Sign `user` in; pages come in English so that tests can read them."""
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def make_mailbox(owner, **fields):
    """Create an account of `owner` with every kind of secret stored."""
    values = {
        "email_address": f"{owner.username}@crm.example", "incoming_host": "imap.crm.example",
        "incoming_port": 993, "incoming_login": f"{owner.username}@crm.example",
        "smtp_host": "smtp.crm.example", "smtp_port": 465, "smtp_same_credentials": False,
        "smtp_login": f"{owner.username}-smtp",
    }
    values.update(fields)
    account = MailAccount(owner=owner, **values)
    account.set_incoming_password(INCOMING_PASSWORD)
    account.set_smtp_password(SMTP_PASSWORD)
    from emailsync import crypto

    account.oauth_refresh_token_encrypted = crypto.encrypt(REFRESH_TOKEN)
    account.oauth_access_token_encrypted = crypto.encrypt(ACCESS_TOKEN)
    account.save()
    return account


def secrets_of(account):
    """Return every plaintext secret of the account and its stored ciphertexts."""
    account.refresh_from_db()
    return [
        INCOMING_PASSWORD, SMTP_PASSWORD, REFRESH_TOKEN, ACCESS_TOKEN,
        account.incoming_password_encrypted, account.smtp_password_encrypted,
        account.oauth_refresh_token_encrypted, account.oauth_access_token_encrypted,
    ]


def make_folder(account, name="INBOX", **fields):
    return Folder.objects.create(account=account, name=name, is_sync_enabled=True, **fields)


def make_failure(account, folder, uid, **fields):
    return SyncFailure.objects.create(
        account=account, folder=folder, uidvalidity=1, uid=uid, reason_code="store_failed",
        detail=fields.pop("detail", "IntegrityError: null value"), **fields,
    )


def bulk_messages(account, count, subject="Asunto privado"):
    """Insert `count` messages of `account` in batches, as a large mailbox would hold."""
    now = timezone.now()
    messages = [
        Message(
            account=account, owner=account.owner, content_hash=hashlib.sha256(f"{account.pk}-{i}".encode()).hexdigest(),
            subject=f"{subject} {i}", sort_date=now - timedelta(minutes=i), from_address="lucia@acme.example",
            size=1000 + i, text_body="Cuerpo privado",
        )
        for i in range(count)
    ]
    Message.objects.bulk_create(messages, batch_size=2000)


def queued_syncs():
    """Return the account ids of the sync tasks waiting in the ORM broker's queue."""
    tasks = [SignedPackage.loads(row.payload) for row in OrmQ.objects.all()]
    return sorted(task["args"][0] for task in tasks if task["func"] == "emailsync.tasks.sync_account_task")
