import pytest
from django.urls import reverse

from crm.models import Licence, Profile

from .conftest import make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operadora", "op@crm.example", "secret-op")
    client.force_login(operator)
    return client, operator


@pytest.mark.parametrize("model", ["lead", "contact", "licence", "profile"])
def test_admin_changelist_opens(admin_user_client, model):
    client, _operator = admin_user_client

    response = client.get(reverse(f"admin:crm_{model}_changelist"))

    assert response.status_code == 200


@pytest.mark.parametrize("model", ["lead", "contact", "licence", "profile"])
def test_admin_add_page_opens(admin_user_client, model):
    client, _operator = admin_user_client

    response = client.get(reverse(f"admin:crm_{model}_add"))

    assert response.status_code == 200


def test_admin_record_page_shows_secondary_addresses_inline(admin_user_client, kind):
    client, operator = admin_user_client
    record = make_record(kind, operator, secondary=["lucia@casa.example"])

    response = client.get(reverse(f"admin:crm_{kind.name}_change", args=[record.pk]))

    assert "lucia@casa.example" in response.content.decode()


def test_admin_search_finds_secondary_address(admin_user_client, kind):
    client, operator = admin_user_client
    record = make_record(kind, operator, secondary=["lucia@casa.example"])
    make_record(kind, operator, last_name="Otro", email="otro@acme.example")

    response = client.get(reverse(f"admin:crm_{kind.name}_changelist"), {"q": "casa.example"})

    assert list(response.context["cl"].result_list) == [record]


def test_admin_licence_and_profile_listed(admin_user_client):
    client, operator = admin_user_client
    Licence.objects.create(user=operator, kind=Licence.Kind.PAID)
    Profile.objects.create(user=operator, language="en")

    licences = client.get(reverse("admin:crm_licence_changelist"))
    profiles = client.get(reverse("admin:crm_profile_changelist"))

    assert licences.context["cl"].result_count == 1
    assert profiles.context["cl"].result_count == 1
