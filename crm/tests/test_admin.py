from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

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


@pytest.fixture
def licences(django_user_model):
    """Licences that expired yesterday, expire today, in 30 and 31 days, and never."""
    today = timezone.localdate()
    expiries = {
        "yesterday": today - timedelta(days=1), "today": today, "in30": today + timedelta(days=30),
        "in31": today + timedelta(days=31), "never": None,
    }
    return {
        name: Licence.objects.create(user=django_user_model.objects.create_user(name), expires_on=expires_on)
        for name, expires_on in expiries.items()
    }


@pytest.mark.parametrize(("expiry", "expected"), [
    ("soon", ["in30", "today"]),
    ("expired", ["yesterday"]),
    ("never", ["never"]),
])
def test_admin_licence_expiry_filter(admin_user_client, licences, expiry, expected):
    client, _operator = admin_user_client

    response = client.get(reverse("admin:crm_licence_changelist"), {"expiry": expiry})

    assert sorted(licence.user.username for licence in response.context["cl"].result_list) == expected


def test_admin_licence_list_query_count_fixed(admin_user_client, django_user_model, django_assert_num_queries):
    client, _operator = admin_user_client
    for number in range(60):
        Licence.objects.create(
            user=django_user_model.objects.create_user(f"user{number}"),
            expires_on=timezone.localdate() + timedelta(days=number % 40),
        )

    # Session, user, profile, the filtered count, the full count and the page.
    with django_assert_num_queries(6):
        client.get(reverse("admin:crm_licence_changelist"), {"expiry": "soon"})
