import pytest
from django.test import Client
from django.urls import reverse

from .conftest import form_data, grant, make_record

pytestmark = pytest.mark.django_db


def url(kind, action, record=None):
    args = [record.pk] if record else []
    return reverse(kind.url_names[action], args=args)


def test_create_form_defaults_owner_to_current_user(owner_client, owner, kind):
    response = owner_client.get(url(kind, "create"))

    assert response.context["form"].initial["owner"] == owner


def test_create_saves_record(owner_client, owner, kind):
    response = owner_client.post(url(kind, "create"), form_data(kind, owner, last_name="Navarro"))

    record = kind.model.objects.get(last_name="Navarro")
    assert response.status_code == 302
    assert response.url == record.get_absolute_url()
    assert record.owner == owner


def test_create_shows_success_message(owner_client, owner, kind):
    response = owner_client.post(url(kind, "create"), form_data(kind, owner), follow=True)

    assert 'class="alert alert-success' in response.content.decode()


def test_create_for_other_owner_redirects_to_list(owner_client, owner, teammate, kind):
    response = owner_client.post(url(kind, "create"), form_data(kind, teammate))

    assert kind.model.objects.get().owner == teammate
    assert response.url == url(kind, "list")


def test_detail_of_own_record(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["lucia.personal@mail.example"])

    response = owner_client.get(url(kind, "detail", record))

    assert response.status_code == 200
    assert "lucia.personal@mail.example" in response.content.decode()


@pytest.mark.parametrize("action", ["detail", "edit", "delete"])
def test_pages_of_other_users_record_answer_404(owner_client, teammate, kind, action):
    record = make_record(kind, teammate)

    response = owner_client.get(url(kind, action, record))

    assert response.status_code == 404


def test_delete_post_of_other_users_record_answers_404(owner_client, teammate, kind):
    record = make_record(kind, teammate)

    response = owner_client.post(url(kind, "delete", record))

    assert response.status_code == 404
    assert kind.model.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("action", ["edit", "delete"])
def test_change_pages_with_view_permission_only_answer_403(client, owner, teammate, kind, action):
    record = make_record(kind, teammate)
    client.force_login(grant(owner, f"crm.view_{kind.name}"))

    response = client.get(url(kind, action, record))

    assert response.status_code == 403


def test_detail_with_view_permission_hides_edit_buttons(client, owner, teammate, kind):
    record = make_record(kind, teammate)
    client.force_login(grant(owner, f"crm.view_{kind.name}"))

    response = client.get(url(kind, "detail", record))

    assert response.context["can_edit"] is False
    assert url(kind, "edit", record) not in response.content.decode()


def test_edit_with_change_permission(client, owner, teammate, kind):
    record = make_record(kind, teammate)
    client.force_login(grant(owner, f"crm.view_{kind.name}", f"crm.change_{kind.name}"))

    response = client.post(url(kind, "edit", record), form_data(kind, teammate, company="Globex"))

    record.refresh_from_db()
    assert response.status_code == 302
    assert record.company == "Globex"


def test_edit_of_own_record_saves_changes(owner_client, owner, kind):
    record = make_record(kind, owner)

    owner_client.post(url(kind, "edit", record), form_data(kind, owner, phone="+34 699 111 222"))

    record.refresh_from_db()
    assert record.phone == "+34 699 111 222"


def test_edit_invalid_form_shows_errors(owner_client, owner, kind):
    record = make_record(kind, owner)

    response = owner_client.post(url(kind, "edit", record), form_data(kind, owner, last_name=""))

    assert response.status_code == 200
    assert "last_name" in response.context["form"].errors


def test_delete_get_asks_for_confirmation(owner_client, owner, kind):
    record = make_record(kind, owner)

    response = owner_client.get(url(kind, "delete", record))

    assert response.status_code == 200
    assert kind.model.objects.filter(pk=record.pk).exists()


def test_delete_post_removes_record(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["lucia.personal@mail.example"])

    response = owner_client.post(url(kind, "delete", record))

    assert response.url == url(kind, "list")
    assert not kind.model.objects.filter(pk=record.pk).exists()


def test_delete_with_delete_permission(client, owner, teammate, kind):
    record = make_record(kind, teammate)
    client.force_login(grant(owner, f"crm.view_{kind.name}", f"crm.delete_{kind.name}"))

    client.post(url(kind, "delete", record))

    assert not kind.model.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_forms_reject_post_without_csrf_token(owner, kind, action):
    record = make_record(kind, owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    response = client.post(url(kind, action, None if action == "create" else record), form_data(kind, owner))

    assert response.status_code == 403


@pytest.mark.parametrize("action", ["create", "edit", "delete"])
def test_forms_carry_csrf_token(owner_client, owner, kind, action):
    record = make_record(kind, owner)

    response = owner_client.get(url(kind, action, None if action == "create" else record))

    assert 'name="csrfmiddlewaretoken"' in response.content.decode()
