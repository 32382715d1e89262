"""A record carrying a mailbox owner's own address opens nothing of that mailbox.

Nearly every message of a mailbox carries its owner's address (and sent mail its
From alias), so matching on it would let anyone who may create a Lead read
a shared mailbox whole, including mail that involves no customer.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact, Lead
from crm.tests.helpers import make_account
from emailsync.models import FromAddress, SharingLevel, SharingMode

from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

SECRET = "diagnósticoreservado"


@pytest.fixture
def mailbox(owner):
    account = make_account(owner, SharingMode.PUBLIC, SharingLevel.FULL)
    FromAddress.objects.create(account=account, address="ventas@crm.example", confirmed_at=timezone.now())
    customer = store_raw(account, raw_with_attachment(
        "Oferta", "Lucía <lucia@acme.example>", account.email_address, "Precio acordado",
        message_id="<offer@acme.example>",
    ))
    private = store_raw(account, raw_with_attachment(
        "Resultados", "Clínica <citas@clinica.example>", account.email_address, SECRET,
        message_id="<results@clinica.example>",
    ))
    from_alias = store_raw(account, raw_with_attachment(
        "Boletín", "Ventas <ventas@crm.example>", "lista@boletines.example", SECRET,
        message_id="<news@crm.example>",
    ))
    return {"account": account, "customer": customer, "private": private, "from_alias": from_alias}


def create_lead(client, user, address):
    client.force_login(user)
    response = client.post(reverse("crm:lead_create"), {
        "last_name": "Prueba", "status": "new", "email": address, "owner": user.pk,
    })
    assert response.status_code == 302
    return Lead.objects.get(owner=user, email=address)


def message_status(client, message):
    return client.get(reverse("emailsync:message_detail", args=[message.pk])).status_code


def attachment_status(client, message):
    return client.get(reverse("emailsync:message_attachment", args=[message.pk, "2"])).status_code


def test_lead_with_mailbox_address_opens_no_message(client, mailbox, outsider):
    lead = create_lead(client, outsider, mailbox["account"].email_address)

    page = client.get(lead.get_absolute_url()).content.decode()

    assert "Resultados" not in page
    assert "Oferta" not in page
    assert message_status(client, mailbox["private"]) == 404
    assert attachment_status(client, mailbox["private"]) == 404
    assert message_status(client, mailbox["customer"]) == 404


def test_lead_with_from_alias_opens_no_message(client, mailbox, outsider):
    lead = create_lead(client, outsider, "VENTAS@crm.example")

    page = client.get(lead.get_absolute_url()).content.decode()

    assert "Boletín" not in page
    assert message_status(client, mailbox["from_alias"]) == 404


def test_custom_teammate_gets_no_more_with_own_address(client, mailbox, teammate):
    account = mailbox["account"]
    account.sharing_mode = SharingMode.CUSTOM
    account.save()
    account.shared_users.add(teammate)
    client.force_login(teammate)
    Contact.objects.create(owner=teammate, last_name="Dueño", email=account.email_address)

    assert message_status(client, mailbox["private"]) == 404
    assert attachment_status(client, mailbox["private"]) == 404


def test_customer_address_still_shares_public_mailbox(client, mailbox, outsider):
    lead = create_lead(client, outsider, "lucia@acme.example")

    page = client.get(lead.get_absolute_url()).content.decode()

    assert "Oferta" in page
    assert message_status(client, mailbox["customer"]) == 200
    assert message_status(client, mailbox["private"]) == 404


def test_owner_sees_own_mail_through_own_address(client, mailbox, owner):
    lead = create_lead(client, owner, mailbox["account"].email_address)

    page = client.get(lead.get_absolute_url()).content.decode()

    assert "Resultados" in page
    assert message_status(client, mailbox["private"]) == 200
