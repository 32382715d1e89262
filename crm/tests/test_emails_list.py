import pytest
from django.urls import reverse

from emailsync.models import SharingLevel, SharingMode

from .conftest import grant, make_record
from .helpers import make_account, make_message

pytestmark = pytest.mark.django_db


def listed_messages(client, record, page=1):
    response = client.get(record.get_absolute_url(), {"page": page})
    return [row.message for row in response.context["email_page"].object_list]


def test_emails_list_shows_message_to_secondary_address(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example", secondary=["Lucia@Casa.example"])
    message = make_message(make_account(owner), "ana@crm.example", ["lucia@casa.example"])

    assert listed_messages(owner_client, record) == [message]


def test_emails_list_shows_message_from_primary_address(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    message = make_message(make_account(owner), "LUCIA@acme.example", ["ana@crm.example"])

    assert listed_messages(owner_client, record) == [message]


def test_emails_list_hides_unrelated_message(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example", secondary=["lucia@casa.example"])
    make_message(make_account(owner), "ana@crm.example", ["pedro@casa.example"])

    assert listed_messages(owner_client, record) == []


def test_emails_list_hides_other_users_private_mailbox(client, owner, teammate, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    make_message(make_account(teammate), "lucia@acme.example", ["bruno@crm.example"])
    client.force_login(grant(owner, f"crm.view_{kind.name}"))

    assert listed_messages(client, record) == []


def test_emails_list_shows_public_mailbox_of_teammate(owner_client, owner, teammate, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    account = make_account(teammate, sharing_mode=SharingMode.PUBLIC)
    message = make_message(account, "lucia@acme.example", ["bruno@crm.example"])

    assert listed_messages(owner_client, record) == [message]


def test_emails_list_metadata_sharing_hides_snippet(owner_client, owner, teammate, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    account = make_account(teammate, sharing_mode=SharingMode.PUBLIC, sharing_level=SharingLevel.METADATA)
    make_message(account, "lucia@acme.example", ["bruno@crm.example"], text_body="Precio confidencial")

    content = owner_client.get(record.get_absolute_url()).content.decode()

    assert "Precio confidencial" not in content


def test_emails_list_links_to_message_page(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    message = make_message(make_account(owner), "lucia@acme.example", ["ana@crm.example"])

    content = owner_client.get(record.get_absolute_url()).content.decode()

    assert reverse("emailsync:message_detail", args=[message.pk]) in content


def test_emails_list_shows_columns(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    make_message(
        make_account(owner), "lucia@acme.example", ["ana@crm.example"],
        subject="Presupuesto 2027", text_body="Adjunto el presupuesto revisado.",
    )

    content = owner_client.get(record.get_absolute_url()).content.decode()

    assert "Presupuesto 2027" in content
    assert "Adjunto el presupuesto revisado." in content
    assert "ana@crm.example" in content


def test_emails_list_newest_first_and_paginated(owner_client, owner, kind):
    record = make_record(kind, owner, email="lucia@acme.example")
    account = make_account(owner)
    messages = [make_message(account, "lucia@acme.example", ["ana@crm.example"]) for _ in range(27)]

    first = listed_messages(owner_client, record)
    second = listed_messages(owner_client, record, page=2)

    assert first == messages[:25]
    assert second == messages[25:]


def test_emails_list_empty_state_without_addresses(owner_client, owner, kind):
    record = make_record(kind, owner, email="")

    response = owner_client.get(record.get_absolute_url())

    assert response.context["email_page"].paginator.count == 0
