"""Conversation keys at sync time, the backfill command and the conversation panel."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from crm.models import Contact
from crm.tests.helpers import make_account
from emailsync.models import Message, SharingMode
from emailsync.threads import normalize_subject
from tests.support.mail import make_raw

from .stored import store_raw

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("subject", "expected"), [
    ("Re: Presupuesto", "presupuesto"),
    ("RE: RV: Fwd:  Presupuesto  2027", "presupuesto 2027"),
    ("AW: WG: Angebot", "angebot"),
    ("Re[3]: oferta", "oferta"),
    ("Respuesta pendiente", "respuesta pendiente"),
    ("", ""),
])
def test_normalize_subject_strips_prefixes(subject, expected):
    assert normalize_subject(subject) == expected


@pytest.fixture
def account(owner):
    return make_account(owner)


def store(account, subject, message_id=None, extra="", sender="lucia@acme.example", date="Mon, 02 Nov 2026 10:00:00 +0000"):
    raw = make_raw(subject=subject, sender=sender, to="owner@crm.example", message_id=message_id, extra_headers=extra, date=date)
    return store_raw(account, raw, parse_body=False)


def test_thread_key_root_is_own_message_id(account):
    root = store(account, "Presupuesto", "<root@acme.example>")

    assert root.thread_key == "root@acme.example"


def test_thread_key_follows_first_reference(account):
    reply = store(account, "Re: Presupuesto", "<r2@x>", "References: <root@acme.example> <r1@x>\nIn-Reply-To: <r1@x>")

    assert reply.thread_key == "root@acme.example"


def test_thread_key_in_reply_to_takes_stored_parent_key(account):
    store(account, "Re: Presupuesto", "<r1@x>", "References: <root@acme.example>")

    reply = store(account, "Re: Presupuesto", "<r2@x>", "In-Reply-To: <r1@x>")

    assert reply.thread_key == "root@acme.example"


def test_thread_key_early_reply_adopted_by_parent(account):
    early = store(account, "Re: Presupuesto", "<r2@x>", "In-Reply-To: <r1@x>")

    store(account, "Re: Presupuesto", "<r1@x>", "References: <root@acme.example>")

    early.refresh_from_db()
    assert early.thread_key == "root@acme.example"


def test_thread_key_subject_fallback_needs_shared_participant(account):
    root = store(account, "Presupuesto", "<root@acme.example>", date="Mon, 02 Nov 2026 10:00:00 +0000")
    reply = store(account, "RE: presupuesto", "<r1@x>", date="Tue, 03 Nov 2026 10:00:00 +0000")
    stranger = store(account, "Re: Presupuesto", "<r9@x>", sender="otro@otra.example", date="Tue, 03 Nov 2026 11:00:00 +0000")

    assert reply.thread_key == root.thread_key
    assert stranger.thread_key == "r9@x"


def test_thread_key_same_subject_without_prefix_is_new(account):
    store(account, "Presupuesto", "<root@acme.example>")

    second = store(account, "Presupuesto", "<otro@acme.example>")

    assert second.thread_key == "otro@acme.example"


def test_thread_key_missing_message_id_uses_hash(account):
    raw = b"From: lucia@acme.example\r\nTo: owner@crm.example\r\nSubject: Hola\r\n\r\nTexto\r\n"

    message = store_raw(account, raw, parse_body=False)

    assert message.thread_key == "hash:" + message.content_hash


def test_assign_thread_keys_command_fills_old_rows(account):
    store(account, "Presupuesto", "<root@acme.example>")
    reply = store(account, "Re: Presupuesto", "<r1@x>", "In-Reply-To: <root@acme.example>")
    Message.objects.update(thread_key="")

    call_command("assign_thread_keys", batch_size=1, stdout=open("/dev/null", "w"))

    reply.refresh_from_db()
    assert reply.thread_key == "root@acme.example"


def test_conversation_panel_lists_visible_messages_only(client, owner, teammate):
    Contact.objects.create(owner=teammate, last_name="Moreno", email="lucia@acme.example")
    public = make_account(owner, sharing_mode=SharingMode.PUBLIC)
    private = make_account(teammate)
    root = store(public, "Presupuesto", "<root@acme.example>")
    store(private, "Re: Presupuesto", "<r1@x>", "References: <root@acme.example>")
    reply = store(public, "Re: Presupuesto", "<r2@x>", "References: <root@acme.example> <r1@x>")
    client.force_login(owner)

    conversation = client.get(reverse("emailsync:message_detail", args=[root.pk])).context["conversation"]

    assert conversation == [root, reply]
