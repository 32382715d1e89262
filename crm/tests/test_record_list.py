import pytest
from django.urls import reverse

from .conftest import grant, make_record

pytestmark = pytest.mark.django_db


def list_url(kind, **query):
    url = reverse(kind.url_names["list"])
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


def listed_pks(response):
    return [record.pk for record in response.context["page_obj"].object_list]


def test_list_requires_login(client, kind):
    response = client.get(list_url(kind))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_list_shows_only_own_records(owner_client, owner, teammate, kind):
    mine = make_record(kind, owner)
    theirs = make_record(kind, teammate)

    pks = listed_pks(owner_client.get(list_url(kind)))

    assert mine.pk in pks
    assert theirs.pk not in pks


def test_list_with_view_permission_shows_all(client, owner, teammate, kind):
    theirs = make_record(kind, teammate)
    manager = grant(owner, f"crm.view_{kind.name}")
    client.force_login(manager)

    pks = listed_pks(client.get(list_url(kind)))

    assert theirs.pk in pks


def test_list_search_matches_company(owner_client, owner, kind):
    acme = make_record(kind, owner, company="Acme Ibérica")
    other = make_record(kind, owner, company="Globex")

    pks = listed_pks(owner_client.get(list_url(kind, q="ibérica")))

    assert acme.pk in pks
    assert other.pk not in pks


def test_list_search_matches_secondary_address(owner_client, owner, kind):
    record = make_record(kind, owner, secondary=["lucia.personal@mail.example"])
    make_record(kind, owner, email="otro@acme.example")

    pks = listed_pks(owner_client.get(list_url(kind, q="lucia.personal")))

    assert pks == [record.pk]


def test_list_search_without_match_shows_empty_state(owner_client, owner, kind):
    make_record(kind, owner)

    response = owner_client.get(list_url(kind, q="nadie"))

    assert listed_pks(response) == []
    assert response.context["query"] == "nadie"


def test_list_paginates_25_per_page(owner_client, owner, kind):
    for number in range(30):
        make_record(kind, owner, last_name=f"Moreno {number:02d}")

    first = owner_client.get(list_url(kind))
    second = owner_client.get(list_url(kind, page=2))

    assert len(listed_pks(first)) == 25
    assert len(listed_pks(second)) == 5
    assert set(listed_pks(first)).isdisjoint(listed_pks(second))


def test_list_pagination_keeps_search(owner_client, owner, kind):
    for number in range(30):
        make_record(kind, owner, company="Acme", last_name=f"Moreno {number:02d}")

    response = owner_client.get(list_url(kind, q="Acme"))

    assert 'href="?q=Acme&amp;page=2"' in response.content.decode()


def test_list_shows_columns(owner_client, owner, kind):
    make_record(kind, owner, company="Acme Ibérica", email="lucia@acme.example", phone="+34 911 222 333")

    content = owner_client.get(list_url(kind)).content.decode()

    assert "Acme Ibérica" in content
    assert "lucia@acme.example" in content
    assert "+34 911 222 333" in content
    assert "Ana García" in content
