"""Stored messages in the admin: read-only, content for superusers only, fast lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.tests.helpers import make_message
from emailsync.admin import CappedCountPaginator
from emailsync.models import RawMessage

from .admin_helpers import (  # noqa: F401  (fixtures)
    bulk_messages, login, make_failure, make_folder, make_mailbox, operator, superuser, viewer,
)

pytestmark = pytest.mark.django_db

MESSAGES = reverse("admin:emailsync_message_changelist")
ACCOUNTS = reverse("admin:emailsync_mailaccount_changelist")


@pytest.fixture
def message(owner):
    account = make_mailbox(owner)
    message = make_message(
        account, "lucia@acme.example", ["owner@crm.example"], subject="Contrato confidencial",
        text_body="Cuerpo secreto del contrato", html_body="<p>Cuerpo <b>HTML</b> secreto</p>",
        attachments=[{"filename": "oferta-final.pdf", "content_type": "application/pdf", "size": 2048}],
        has_attachments=True,
    )
    RawMessage.objects.create(message=message, data=b"Subject: Contrato confidencial\r\n\r\nRaw body\r\n")
    return message


def message_url(message):
    return reverse("admin:emailsync_message_change", args=[message.pk])


CONTENT = [
    "Contrato confidencial", "Cuerpo secreto del contrato", "oferta-final.pdf", "HTML</b> secreto",
    "lucia@acme.example",
]


def test_superuser_reads_message_content(client, superuser, message):
    page = login(client, superuser).get(message_url(message)).content.decode()

    for text in ["Contrato confidencial", "Cuerpo secreto del contrato", "oferta-final.pdf"]:
        assert text in page
    assert "&lt;b&gt;HTML&lt;/b&gt;" in page


def test_viewer_sees_metadata_without_content(client, viewer, message):
    page = login(client, viewer).get(message_url(message)).content.decode()

    assert message.content_hash in page
    for text in CONTENT:
        assert text not in page


def test_viewer_list_has_no_subject_or_sender(client, viewer, message):
    page = login(client, viewer).get(MESSAGES).content.decode()

    assert f">{message.pk}<" in page
    assert "Contrato confidencial" not in page
    assert "lucia@acme.example" not in page


def test_superuser_list_shows_subject(client, superuser, message):
    page = login(client, superuser).get(MESSAGES).content.decode()

    assert "Contrato confidencial" in page


@pytest.mark.parametrize("lookup", [
    "subject__icontains", "text_body__contains", "raw__data__contains", "from_address__startswith",
    "to_display__contains",
])
def test_viewer_content_lookup_refused(client, viewer, message, lookup):
    response = login(client, viewer).get(MESSAGES, {lookup: "Contrato"})

    assert response.status_code == 400


def test_superuser_content_lookup_allowed(client, superuser, message):
    response = login(client, superuser).get(MESSAGES, {"subject__icontains": "Contrato"})

    assert list(response.context["cl"].result_list) == [message]


@pytest.mark.parametrize(("user_fixture", "found"), [("superuser", True), ("viewer", False)])
def test_subject_search_for_superuser_only(client, request, message, user_fixture, found):
    user = request.getfixturevalue(user_fixture)

    response = login(client, user).get(MESSAGES, {"q": "Contrato"})

    assert (list(response.context["cl"].result_list) == [message]) is found


@pytest.mark.parametrize("term", ["LUCIA@acme.example", "owner@crm.example"])
def test_superuser_searches_by_exact_address(client, superuser, message, term):
    response = login(client, superuser).get(MESSAGES, {"q": term})

    assert list(response.context["cl"].result_list) == [message]


def test_superuser_searches_by_message_id(client, superuser, message):
    message.message_id = "<abc123@acme.example>"
    message.save()

    response = login(client, superuser).get(MESSAGES, {"q": "<abc123@acme.example>"})

    assert list(response.context["cl"].result_list) == [message]


@pytest.mark.parametrize("term", ["lucia@acme.example", "<abc123@acme.example>"])
def test_viewer_search_ignores_addresses_and_headers(client, viewer, message, term):
    message.message_id = "<abc123@acme.example>"
    message.save()

    response = login(client, viewer).get(MESSAGES, {"q": term})

    assert list(response.context["cl"].result_list) == []


def test_viewer_searches_by_number_and_owner(client, viewer, message):
    client = login(client, viewer)

    by_number = client.get(MESSAGES, {"q": str(message.pk)})
    by_owner = client.get(MESSAGES, {"q": message.owner.username})

    assert list(by_number.context["cl"].result_list) == [message]
    assert list(by_owner.context["cl"].result_list) == [message]


def test_viewer_cannot_open_message_history(client, viewer, message):
    response = login(client, viewer).get(reverse("admin:emailsync_message_history", args=[message.pk]))

    assert response.status_code == 403


def test_messages_read_only_for_everyone(client, superuser, message):
    client = login(client, superuser)

    change = client.post(message_url(message), {"subject": "changed"})
    delete = client.get(reverse("admin:emailsync_message_delete", args=[message.pk]))
    add = client.get(reverse("admin:emailsync_message_add"))

    message.refresh_from_db()
    assert change.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert message.subject == "Contrato confidencial"


def test_raw_download_for_superuser(client, superuser, message):
    response = login(client, superuser).get(reverse("admin:emailsync_message_raw", args=[message.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "message/rfc822"
    assert response.content == b"Subject: Contrato confidencial\r\n\r\nRaw body\r\n"
    assert "attachment" in response["Content-Disposition"]


def test_raw_download_denied_to_viewer(client, viewer, message):
    response = login(client, viewer).get(reverse("admin:emailsync_message_raw", args=[message.pk]))

    assert response.status_code == 403


def test_message_breadcrumb_shows_number_not_subject(client, viewer, message):
    page = login(client, viewer).get(message_url(message)).content.decode()

    assert f"#{message.pk}" in page


def test_messages_denied_without_permission(client, django_user_model, message):
    staff = django_user_model.objects.create_user("nobody", is_staff=True)

    response = login(client, staff).get(MESSAGES)

    assert response.status_code == 403


# --- Query counts ---------------------------------------------------------


@pytest.fixture
def ten_thousand_messages(django_user_model):
    """Four mailboxes with 2,500 messages each, folders with a backlog, and failures."""
    accounts = []
    for number in range(4):
        owner = django_user_model.objects.create_user(f"rep{number}")
        account = make_mailbox(owner)
        folder = make_folder(account, backlog=number)
        make_folder(account, "Sent")
        make_failure(account, folder, uid=number + 1)
        bulk_messages(account, 2500)
        accounts.append(account)
    return accounts


def count_queries(client, url, query=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, query or {})
    assert response.status_code == 200
    return len(queries)


# Every page: the session, the user and the user's language profile.
# Accounts: the filtered count, the full count, the page with its backlog
# and failure annotations, and the provider filter's values.
def test_account_changelist_query_count_with_ten_thousand_messages(client, superuser, ten_thousand_messages):
    client = login(client, superuser)

    assert count_queries(client, ACCOUNTS) == 7
    assert count_queries(client, ACCOUNTS, {"status__exact": "active", "failed": "yes", "error": "no"}) == 7
    assert count_queries(client, ACCOUNTS, {"q": "rep1", "o": "-8"}) == 7


# Messages: the accounts of the "account" filter, the filtered count (no
# full count) and the page with its account and owner joined.
def test_message_changelist_query_count_with_ten_thousand_messages(
    client, superuser, viewer, ten_thousand_messages,
):
    account = ten_thousand_messages[0]
    as_superuser = login(client, superuser)

    assert count_queries(as_superuser, MESSAGES) == 6
    assert count_queries(as_superuser, MESSAGES, {"p": "40"}) == 6
    assert count_queries(as_superuser, MESSAGES, {"direction__exact": "received", "origin__exact": "sync"}) == 6
    assert count_queries(as_superuser, MESSAGES, {"account__id__exact": account.pk}) == 6
    assert count_queries(as_superuser, MESSAGES, {"q": "lucia@acme.example"}) == 6
    # Staff who are not superusers load their permissions: two more.
    assert count_queries(login(client, viewer), MESSAGES) == 8


def test_message_list_counts_up_to_cap(client, viewer, owner, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 20)
    bulk_messages(make_mailbox(owner), 30)

    with CaptureQueriesContext(connection) as queries:
        response = login(client, viewer).get(MESSAGES)

    count_sql = next(query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"])
    assert "More than 20 messages" in response.content.decode()
    assert "LIMIT 21" in count_sql


def test_message_list_below_cap_shows_exact_count(client, viewer, owner):
    bulk_messages(make_mailbox(owner), 30)

    response = login(client, viewer).get(MESSAGES)

    assert "30 messages" in response.content.decode()
