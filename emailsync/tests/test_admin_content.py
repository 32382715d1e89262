"""Message content in the admin: superusers only."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.tests.helpers import make_account, make_message
from emailsync.sharing import can_view_content_in_admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(owner):
    return make_message(make_account(owner), "lucia@acme.example", ["owner@crm.example"],
                        subject="Asunto secreto", text_body="Cuerpo secreto")


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_user("staff", "staff@example.test", "secret-staff", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_message"))
    return user


def test_admin_content_rule(staff, django_user_model):
    superuser = django_user_model.objects.create_superuser("root", "root@example.test", "secret-root")

    assert can_view_content_in_admin(superuser)
    assert not can_view_content_in_admin(staff)


def test_admin_staff_sees_metadata_only(client, staff, message):
    client.force_login(staff)

    listing = client.get(reverse("admin:emailsync_message_changelist")).content.decode()
    detail = client.get(reverse("admin:emailsync_message_change", args=[message.pk])).content.decode()

    assert "Asunto secreto" not in listing
    assert "Asunto secreto" not in detail
    assert "Cuerpo secreto" not in detail


def test_admin_staff_search_ignores_content(client, staff, message):
    client.force_login(staff)

    response = client.get(reverse("admin:emailsync_message_changelist"), {"q": "secreto"})

    assert response.context["cl"].result_count == 0


def test_admin_superuser_sees_content(client, message, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.test", "secret-root"))

    detail = client.get(reverse("admin:emailsync_message_change", args=[message.pk])).content.decode()

    assert "Asunto secreto" in detail
    assert "Cuerpo secreto" in detail
