"""Every model in the admin, as a superuser and as staff with limited permissions.

Staff see a model only with its "view" permission, and even then may not
add to it: operators are given exactly the permissions their job needs.
"""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = sorted(
    (model._meta.app_label, model._meta.model_name) for model in admin.site._registry
)


def url(model, view):
    return reverse(f"admin:{model[0]}_{model[1]}_{view}")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", "staff@crm.example", "secret-staff", is_staff=True)


def grant(user, model, action):
    user.user_permissions.add(Permission.objects.get(
        content_type__app_label=model[0], codename=f"{action}_{model[1]}",
    ))


@pytest.mark.parametrize("model", MODELS, ids=lambda model: ".".join(model))
def test_superuser_opens_changelist(client, django_user_model, model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@crm.example", "secret-root"))

    assert client.get(url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: ".".join(model))
def test_staff_without_permission_denied(client, staff, model):
    client.force_login(staff)

    assert client.get(url(model, "changelist")).status_code == 403


@pytest.mark.parametrize("model", MODELS, ids=lambda model: ".".join(model))
def test_staff_with_view_permission_cannot_add(client, staff, model):
    grant(staff, model, "view")
    client.force_login(staff)

    listing = client.get(url(model, "changelist"))
    add = client.get(url(model, "add"))

    assert listing.status_code == 200
    assert add.status_code == 403


def test_staff_index_lists_only_permitted_models(client, staff):
    grant(staff, ("emailsync", "mailaccount"), "view")
    client.force_login(staff)

    page = client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:emailsync_mailaccount_changelist") in page
    assert reverse("admin:emailsync_message_changelist") not in page
    assert reverse("admin:crm_licence_changelist") not in page
