"""A quoted local part that needs no quotes names the same mailbox as the bare one."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from crm.addresses import normalize_address
from crm.models import Contact, ContactEmail
from crm.tests.helpers import make_account
from emailsync.models import FromAddress, Participant, SharingExclusion, SharingLevel, SharingMode

from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("value", "expected"), [
    ('"nominas"@RRHH.example', "nominas@rrhh.example"),
    ('"ana.garcia"@x.example', "ana.garcia@x.example"),
    ('"a\\.b"@x.example', "a.b@x.example"),
    ('"ana garcía"@x.example', '"ana garcía"@x.example'),
    ('""@x.example', '""@x.example'),
    ('"ab"c@x.example', '"ab"c@x.example'),
])
def test_normalize_quoted_local_part(value, expected):
    assert normalize_address(value) == expected


def test_exclusion_hides_quoted_sender(client, owner, teammate):
    account = make_account(owner, SharingMode.PUBLIC, SharingLevel.FULL)
    SharingExclusion.objects.create(account=account, value="nominas@rrhh.example")
    Contact.objects.create(owner=teammate, last_name="Pérez", email="pedro@rrhh.example")
    message = store_raw(account, raw_with_attachment(
        "Nómina de junio", 'RRHH <"nominas"@rrhh.example>', f"{account.email_address}, pedro@rrhh.example",
        "Importe", message_id="<payroll@rrhh.example>",
    ))
    client.force_login(teammate)

    response = client.get(reverse("emailsync:message_detail", args=[message.pk]))

    assert response.status_code == 404


def test_migration_unquotes_stored_addresses(owner):
    migration = importlib.import_module("emailsync.migrations.0008_unquote_local_parts")
    account = make_account(owner)
    alias = FromAddress.objects.create(account=account, address="ventas@crm.example")
    contact = Contact.objects.create(owner=owner, last_name="Pérez", email="pedro@rrhh.example")
    ContactEmail.objects.create(record=contact, address="nominas@rrhh.example")
    duplicate = ContactEmail.objects.create(record=contact, address="otro@rrhh.example")
    message = store_raw(account, raw_with_attachment(
        "Nómina", "nominas@rrhh.example", account.email_address, "x", message_id="<m@rrhh.example>",
    ))
    # Rows as the earlier normalisation left them; `duplicate` becomes a
    # quoted copy of the first secondary address.
    FromAddress.objects.filter(pk=alias.pk).update(address='"ventas"@crm.example', address_normalized='"ventas"@crm.example')
    ContactEmail.objects.filter(pk=duplicate.pk).update(address='"nominas"@rrhh.example', address_normalized='"nominas"@rrhh.example')
    Participant.objects.filter(message=message, address="nominas@rrhh.example").update(address='"nominas"@rrhh.example')

    migration.renormalize(apps, None)

    alias.refresh_from_db()
    assert alias.address_normalized == "ventas@crm.example"
    assert list(contact.secondary_emails.values_list("address_normalized", flat=True)) == ["nominas@rrhh.example"]
    assert Participant.objects.filter(message=message, address="nominas@rrhh.example").count() == 1
    assert not Participant.objects.filter(address__contains='"').exists()
