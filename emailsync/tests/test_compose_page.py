"""The compose page: who may send, what it offers, and header injection."""

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact, Lead
from emailsync.models import FromAddress, MailAccount, Message
from emailsync.outgoing import Draft

from .sending_support import (  # noqa: F401 - fixtures
    account, compose_data, compose_url, contact, lead, owner_client, received_with_subject, rejecting_smtp,
)

pytestmark = pytest.mark.django_db


def test_record_page_has_send_email_action(owner_client, contact, lead):
    for record in (contact, lead):
        page = owner_client.get(record.get_absolute_url())
        assert compose_url(record) in page.content.decode(), record


def test_compose_prefills_primary_address(owner_client, account, contact):
    response = owner_client.get(compose_url(contact))

    assert response.status_code == 200
    assert response.context["form"]["to"].value() == "Lucía Moreno <lucia@acme.example>"


def test_compose_offers_secondary_addresses(owner_client, account, contact):
    response = owner_client.get(compose_url(contact))

    choices = response.context["form"].fields["also_to"].choices
    assert choices == [("lucia.moreno@personal.example", "lucia.moreno@personal.example")]


def test_compose_quotes_name_with_comma(owner_client, account, owner):
    record = Contact.objects.create(owner=owner, first_name="Lucía", last_name="Moreno, hija", email="l@acme.example")

    response = owner_client.get(compose_url(record))

    assert response.context["form"]["to"].value() == '"Lucía Moreno, hija" <l@acme.example>'


def test_compose_preselects_default_from(owner_client, account):
    FromAddress.objects.create(
        account=account, address="alias@example.test", display_name="Ventas", confirmed_at=timezone.now(),
    )
    record = Lead.objects.create(owner=account.owner, last_name="Pérez", email="p@acme.example")

    form = owner_client.get(compose_url(record)).context["form"]

    assert form["from_address"].value() == account.from_addresses.get(is_default=True).pk
    assert len(form.fields["from_address"].queryset) == 2


def test_selected_secondary_address_receives(owner_client, account, contact, smtp_server):
    data = compose_data(account, also_to=["lucia.moreno@personal.example"])

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    assert sorted(received.rcpt_tos) == ["lucia.moreno@personal.example", "lucia@acme.example"]


def test_send_from_alias_address(owner_client, account, contact, smtp_server):
    alias = FromAddress.objects.create(
        account=account, address="ventas@example.test", display_name="Ventas", confirmed_at=timezone.now(),
    )
    data = compose_data(account, from_address=alias.pk)

    owner_client.post(compose_url(contact), data)

    [received] = received_with_subject(smtp_server, data["subject"])
    assert received.mail_from == "ventas@example.test"


def test_from_address_of_other_mailbox_rejected(owner_client, account, contact, teammate, mailbox_user, connect_account, dovecot):
    from conftest import add_mailbox_user

    other = connect_account(teammate, *add_mailbox_user(dovecot))
    data = compose_data(account, from_address=other.from_addresses.get().pk)

    response = owner_client.post(compose_url(contact), data)

    assert "from_address" in response.context["form"].errors
    assert Message.objects.count() == 0


def test_no_recipient_is_form_error(owner_client, account, contact):
    response = owner_client.post(compose_url(contact), compose_data(account, to=""))

    assert response.context["form"].errors["to"] == ["Enter at least one recipient."]


def test_invalid_address_named_in_error(owner_client, account, contact):
    response = owner_client.post(compose_url(contact), compose_data(account, cc="jefa@acme.example, no-es-correo"))

    assert response.context["form"].errors["cc"] == ["“no-es-correo” is not a valid email address."]


def test_every_invalid_address_named(owner_client, account, contact):
    response = owner_client.post(compose_url(contact), compose_data(account, cc="no-es-correo, ana@acme.example, x@"))

    assert response.context["form"].errors["cc"] == [
        "“no-es-correo” is not a valid email address.",
        "“x@” is not a valid email address.",
    ]
    assert Message.objects.count() == 0


INJECTIONS = [
    ("subject", "Hola\r\nBcc: espia@evil.example"),
    ("subject", "Hola\nBcc: espia@evil.example"),
    ("subject", "Hola\r"),
    ("to", "lucia@acme.example\r\nBcc: espia@evil.example"),
    ("cc", "jefa@acme.example\nBcc: espia@evil.example"),
    ("bcc", "oculto@acme.example\r\n"),
    ("to", '"Lucía\r\nBcc: espia@evil.example" <lucia@acme.example>'),
    ("cc", "Jefa\n <jefa@acme.example>"),
    ("subject", "Hola\u2028Bcc: espia@evil.example"),
    ("subject", "Hola\u2029Bcc: espia@evil.example"),
    ("subject", "Hola\x85Bcc: espia@evil.example"),
    ("to", '"Lucía\u2028Bcc: espia@evil.example" <lucia@acme.example>'),
]


@pytest.mark.parametrize(("field", "value"), INJECTIONS)
def test_line_break_in_header_field_is_form_error(owner_client, account, contact, smtp_server, field, value):
    data = compose_data(account, **{field: value})

    response = owner_client.post(compose_url(contact), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Message.objects.count() == 0
    assert not [item for item in smtp_server.messages if b"espia@evil.example" in item.data]


def test_body_over_limit_is_form_error(owner_client, account, contact, smtp_server):
    from emailsync.compose_forms import MAX_BODY_CHARACTERS

    data = compose_data(account, body="ñ" * (MAX_BODY_CHARACTERS + 1))

    response = owner_client.post(compose_url(contact), data)

    assert response.status_code == 200
    assert "body" in response.context["form"].errors
    assert Message.objects.count() == 0


def test_from_name_line_break_is_form_error(owner_client, account, contact):
    account.from_addresses.update(display_name="Ana\r\nBcc: espia@evil.example")

    response = owner_client.post(compose_url(contact), compose_data(account))

    assert "from_address" in response.context["form"].errors
    assert Message.objects.count() == 0


def test_build_email_rejects_line_break_in_name():
    from emailsync.outgoing import build_email

    draft = Draft(sender=("Ana\nBcc: x@evil.example", "ana@example.test"), to=[("", "l@acme.example")],
                  subject="Hola", body="")

    with pytest.raises(ValueError):
        build_email(draft, "<id@example.test>")


# --- Who may send ------------------------------------------------------------


def test_compose_requires_login(client, contact):
    response = client.get(compose_url(contact))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_compose_for_invisible_record_is_404(client, account, teammate):
    record = Contact.objects.create(owner=teammate, last_name="Ajeno", email="ajeno@acme.example")
    client.force_login(account.owner)

    assert client.get(compose_url(record)).status_code == 404


def test_compose_without_mailbox_explains_and_links_setup(owner_client, contact):
    response = owner_client.get(compose_url(contact))

    assert response.context["unavailable"].reason == "no_mailbox"
    assert response.context["form"] is None
    assert reverse("emailsync:settings") in response.content.decode()


def test_compose_without_permission_explains(client, outsider):
    record = Contact.objects.create(owner=outsider, last_name="Propio", email="p@acme.example")
    client.force_login(outsider)

    response = client.get(compose_url(record))

    assert response.context["unavailable"].reason == "no_permission"
    assert reverse("emailsync:settings") not in response.content.decode()


def test_compose_paused_mailbox_explains_reason(owner_client, account, contact):
    MailAccount.objects.filter(pk=account.pk).update(status=MailAccount.Status.PAUSED, pause_reason="auth_failed")

    response = owner_client.get(compose_url(contact))

    assert response.context["unavailable"].reason == "paused"
    assert "rejected the username or password" in response.content.decode()


def test_post_without_mailbox_is_403_and_sends_nothing(owner_client, contact, smtp_server):
    count = len(smtp_server.messages)

    response = owner_client.post(compose_url(contact), {"subject": "x", "to": "lucia@acme.example"})

    assert response.status_code == 403
    assert len(smtp_server.messages) == count


def test_compose_form_carries_csrf_token(owner_client, account, contact):
    response = owner_client.get(compose_url(contact))

    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_compose_page_in_spanish_by_default(client, account, contact, rejecting_smtp):
    rejecting_smtp.add("nadie@acme.example")
    client.force_login(account.owner)

    record_page = client.get(contact.get_absolute_url()).content.decode()
    response = client.post(compose_url(contact), compose_data(account, to="nadie@acme.example"))

    assert "Enviar correo electrónico" in record_page
    assert "Su correo no se ha enviado." in response.content.decode()
    assert "rechazó el destinatario nadie@acme.example" in response.content.decode()
