import pytest
from django.urls import reverse

from .conftest import form_data, make_record

pytestmark = pytest.mark.django_db


def post_create(client, kind, owner, **fields):
    return client.post(reverse(kind.url_names["create"]), form_data(kind, owner, **fields))


def secondary_errors(response):
    return response.context["form"].errors.get("secondary_emails", [])


def test_secondary_addresses_saved_one_per_line(owner_client, owner, kind):
    post_create(owner_client, kind, owner, secondary_emails="lucia@casa.example\nLucia.M@trabajo.example\n")

    record = kind.model.objects.get()
    addresses = sorted(record.secondary_emails.values_list("address_normalized", flat=True))
    assert addresses == ["lucia.m@trabajo.example", "lucia@casa.example"]


def test_secondary_invalid_address_named_in_error(owner_client, owner, kind):
    response = post_create(owner_client, kind, owner, secondary_emails="lucia@casa.example\nlucia-at-casa")

    assert response.status_code == 200
    assert any("lucia-at-casa" in error for error in secondary_errors(response))
    assert not kind.model.objects.exists()


def test_secondary_each_invalid_address_named(owner_client, owner, kind):
    response = post_create(owner_client, kind, owner, secondary_emails="uno@\ndos@@example.com\nbien@example.com")

    errors = secondary_errors(response)
    assert len(errors) == 2
    assert "uno@" in errors[0]
    assert "dos@@example.com" in errors[1]


def test_secondary_too_long_address_rejected(owner_client, owner, kind):
    address = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".example"

    response = post_create(owner_client, kind, owner, secondary_emails=address)

    assert any(address in error for error in secondary_errors(response))


def test_secondary_duplicate_of_primary_rejected(owner_client, owner, kind):
    response = post_create(
        owner_client, kind, owner, email="lucia@acme.example", secondary_emails=" LUCIA@Acme.Example ",
    )

    assert any("LUCIA@Acme.Example" in error for error in secondary_errors(response))
    assert not kind.model.objects.exists()


def test_secondary_duplicate_of_primary_idna_rejected(owner_client, owner, kind):
    response = post_create(
        owner_client, kind, owner, email="lucia@xn--espaa-rta.example", secondary_emails="lucia@españa.example",
    )

    assert secondary_errors(response)


def test_secondary_repeated_address_stored_once(owner_client, owner, kind):
    post_create(owner_client, kind, owner, secondary_emails="otra@acme.example\nOTRA@acme.example")

    assert kind.model.objects.get().secondary_emails.count() == 1


def test_secondary_edit_form_shows_current_addresses(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["uno@acme.example", "dos@acme.example"])

    response = owner_client.get(reverse(kind.url_names["edit"], args=[record.pk]))

    assert response.context["form"]["secondary_emails"].value() == "uno@acme.example\ndos@acme.example"


def test_secondary_edit_replaces_addresses(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["uno@acme.example", "dos@acme.example"])

    owner_client.post(
        reverse(kind.url_names["edit"], args=[record.pk]),
        form_data(kind, owner, secondary_emails="Dos@acme.example\ntres@acme.example"),
    )

    addresses = sorted(record.secondary_emails.values_list("address", flat=True))
    assert addresses == ["Dos@acme.example", "tres@acme.example"]


def test_secondary_edit_with_empty_text_removes_all(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["uno@acme.example"])

    owner_client.post(reverse(kind.url_names["edit"], args=[record.pk]), form_data(kind, owner))

    assert not record.secondary_emails.exists()
