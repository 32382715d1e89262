"""The owner's Email sharing settings page (a section of the mailbox pages)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from crm.tests.helpers import make_account
from emailsync.models import GroupSharingPolicy, SharingLevel, SharingMode
from emailsync.sharing import effective_sharing

pytestmark = pytest.mark.django_db

URL = reverse("emailsync:sharing")


@pytest.fixture
def account(owner):
    return make_account(owner)


def post(client, **fields):
    data = {"sharing_mode": "private", "sharing_level": "full", "exclusions": ""}
    data.update(fields)
    return client.post(URL, data, headers={"accept-language": "en"})


def test_sharing_page_requires_permission(client, outsider):
    client.force_login(outsider)

    assert client.get(URL).status_code == 403


def test_sharing_page_without_mailbox_leads_to_setup(client, owner):
    client.force_login(owner)

    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("emailsync:settings")


def test_sharing_page_saves_custom_audience(client, owner, teammate, account):
    client.force_login(owner)

    response = post(client, sharing_mode="custom", sharing_level="metadata", shared_users=[teammate.pk])

    account.refresh_from_db()
    assert response.status_code == 302
    assert account.sharing_mode == SharingMode.CUSTOM
    assert account.sharing_level == SharingLevel.METADATA
    assert list(account.shared_users.all()) == [teammate]


def test_sharing_page_custom_needs_audience(client, owner, account):
    client.force_login(owner)

    response = post(client, sharing_mode="custom")

    account.refresh_from_db()
    assert response.status_code == 200
    assert account.sharing_mode == SharingMode.PRIVATE


def test_sharing_page_normalises_exclusions(client, owner, account):
    client.force_login(owner)

    post(client, sharing_mode="public", exclusions="RRHH@Acme.example\n@Privado.example\nprivado.example")

    assert sorted(account.sharing_exclusions.values_list("value", flat=True)) == ["privado.example", "rrhh@acme.example"]


def test_sharing_page_names_each_invalid_exclusion(client, owner, account):
    client.force_login(owner)

    response = post(client, sharing_mode="public", exclusions="no es válido\nana@\nbien.example")

    errors = response.context["form"].errors["exclusions"]
    assert len(errors) == 2
    assert "“no es válido”" in errors[0]
    assert "“ana@”" in errors[1]
    assert not account.sharing_exclusions.exists()


def test_sharing_page_removes_dropped_exclusions(client, owner, account):
    account.sharing_exclusions.create(value="viejo.example")
    client.force_login(owner)

    post(client, exclusions="nuevo.example")

    assert list(account.sharing_exclusions.values_list("value", flat=True)) == ["nuevo.example"]


def test_sharing_page_fixed_policy_cannot_change(client, owner, account):
    group = Group.objects.create(name="Dirección")
    owner.groups.add(group)
    GroupSharingPolicy.objects.create(group=group, sharing_mode=SharingMode.PUBLIC, sharing_level=SharingLevel.METADATA)
    client.force_login(owner)

    page = client.get(URL, headers={"accept-language": "en"}).content.decode()
    post(client, sharing_mode="private", exclusions="rrhh.example")

    account.refresh_from_db()
    assert "An administrator set the sharing of mailboxes for the group “Dirección”" in page
    assert effective_sharing(account).mode == SharingMode.PUBLIC
    assert effective_sharing(account).level == SharingLevel.METADATA
    assert list(account.sharing_exclusions.values_list("value", flat=True)) == ["rrhh.example"]
