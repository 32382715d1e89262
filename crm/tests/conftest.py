"""Personas and record builders shared by the page tests.

`owner` owns the records under test, `teammate` works in the same sales
team, `outsider` shares nothing with either. None has any permission until
a test grants one with `grant`.
"""

import pytest
from django.contrib.auth.models import Permission

from crm.kinds import CONTACTS, LEADS


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user(
        "ana", "ana@crm.example", "secret-ana", first_name="Ana", last_name="García",
    )


@pytest.fixture
def teammate(django_user_model):
    return django_user_model.objects.create_user("bruno", "bruno@crm.example", "secret-bruno")


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("carmen", "carmen@crm.example", "secret-carmen")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture(params=[LEADS, CONTACTS], ids=["lead", "contact"])
def kind(request):
    return request.param


def grant(user, *permissions):
    """Give `user` the permissions named "app_label.codename" and return it reloaded.

    Reloading drops Django's per-instance permission cache.
    """
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return type(user).objects.get(pk=user.pk)


def make_record(kind, owner, secondary=(), **fields):
    """Create a record of `kind` owned by `owner`, with secondary addresses."""
    values = {"first_name": "Lucía", "last_name": "Moreno", "company": "Acme", "email": "lucia@acme.example"}
    values.update(fields)
    record = kind.model.objects.create(owner=owner, **values)
    for address in secondary:
        record.secondary_emails.create(address=address)
    return record


def form_data(kind, owner, **fields):
    """Return valid POST data of the record form of `kind`."""
    data = {
        "first_name": "Lucía", "last_name": "Moreno", "company": "Acme", "email": "lucia@acme.example",
        "phone": "+34 600 000 000", "owner": owner.pk, "secondary_emails": "",
        "status": "new", "title": "",
    }
    data.update(fields)
    return data
