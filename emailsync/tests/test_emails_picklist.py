"""The mailbox picklist of the Emails list, its counts, "All", and group policies."""

import pytest
from django.contrib.auth.models import Group, Permission

from crm.models import Contact
from crm.tests.helpers import make_account
from emailsync.models import GroupSharingPolicy, Protocol, SharingLevel, SharingMode
from emailsync.related import build_email_list
from emailsync.sharing import effective_sharing, mailbox_access

from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(owner, teammate, outsider, django_user_model):
    """Five users who may all see every Contact; `viewer` is the one looking."""
    group = Group.objects.create(name="Sales")
    group.permissions.add(Permission.objects.get(codename="view_contact"))
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.test", "secret-v")
    private = django_user_model.objects.create_user("private", "private@example.test", "secret-p")
    for user in (owner, teammate, outsider, viewer, private):
        user.groups.add(group)
    return {"owner": owner, "teammate": teammate, "pop3": outsider, "viewer": viewer, "private": private, "group": group}


@pytest.fixture
def contact(owner):
    return Contact.objects.create(owner=owner, last_name="Moreno", email="lucia@acme.example")


def mail(account, number, message_id=None, cc=""):
    raw = raw_with_attachment(
        f"Mensaje {number}", "lucia@acme.example", account.email_address, "Texto", cc=cc,
        message_id=message_id or f"<{account.owner.username}-{number}@acme.example>",
    )
    return store_raw(account, raw)


@pytest.fixture
def mailboxes(sales):
    """owner: public IMAP, 3 messages; teammate: custom IMAP with the viewer, 2; pop3: public POP3, 2; private: 4."""
    owner_box = make_account(sales["owner"], sharing_mode=SharingMode.PUBLIC)
    teammate_box = make_account(sales["teammate"], sharing_mode=SharingMode.CUSTOM)
    teammate_box.shared_users.add(sales["viewer"])
    pop3_box = make_account(sales["pop3"], sharing_mode=SharingMode.PUBLIC)
    pop3_box.incoming_protocol = Protocol.POP3
    pop3_box.save()
    private_box = make_account(sales["private"])
    for account, count in ((owner_box, 3), (teammate_box, 2), (pop3_box, 2), (private_box, 4)):
        for number in range(count):
            mail(account, number)
    return {"owner": owner_box, "teammate": teammate_box, "pop3": pop3_box, "private": private_box}


def counts(email_list):
    return {choice.value: choice.count for choice in email_list.choices}


def test_picklist_lists_only_allowed_owners(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["viewer"])

    assert counts(email_list) == {
        "all": 5, str(sales["owner"].pk): 3, str(sales["teammate"].pk): 2, str(sales["pop3"].pk): 2,
    }


def test_picklist_all_leaves_out_pop3_mailboxes(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["viewer"])

    owners = {row.owners[0].pk for row in email_list.page.object_list}
    assert owners == {sales["owner"].pk, sales["teammate"].pk}
    assert email_list.pop3_owners == [sales["pop3"]]


def test_picklist_one_owner_lists_that_mailbox(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["viewer"], selected=str(sales["pop3"].pk))

    assert email_list.selected == str(sales["pop3"].pk)
    assert [row.message.account_id for row in email_list.page.object_list] == [mailboxes["pop3"].pk] * 2


def test_picklist_guessed_private_owner_falls_back_to_all(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["viewer"], selected=str(sales["private"].pk))

    assert email_list.selected == "all"
    assert str(sales["private"].pk) not in counts(email_list)


def test_picklist_without_imap_mailbox_offers_no_all(contact, sales, mailboxes):
    mailboxes["owner"].delete()
    mailboxes["teammate"].delete()

    email_list = build_email_list(contact, sales["viewer"])

    assert "all" not in counts(email_list)
    assert email_list.selected == str(sales["pop3"].pk)


def test_picklist_owner_sees_own_count(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["private"])

    assert counts(email_list)[str(sales["private"].pk)] == 4
    assert counts(email_list)["all"] == 7  # its own 4 and the public IMAP mailbox's 3


def test_all_lists_shared_copy_once_with_both_owners(contact, sales, mailboxes):
    """A colleague in Cc holds the same message: one row, both owners."""
    shared_id = "<comun@acme.example>"
    mail(mailboxes["owner"], 10, message_id=shared_id, cc="teammate@crm.example")
    mail(mailboxes["teammate"], 10, message_id=shared_id, cc="owner@crm.example")

    email_list = build_email_list(contact, sales["viewer"])

    rows = [row for row in email_list.page.object_list if row.message.message_id == "comun@acme.example"]
    assert len(rows) == 1
    assert {owner.pk for owner in rows[0].owners} == {sales["owner"].pk, sales["teammate"].pk}
    assert counts(email_list)["all"] == 6


def test_all_shows_viewers_own_copy(contact, sales, mailboxes):
    shared_id = "<comun@acme.example>"
    mail(mailboxes["owner"], 10, message_id=shared_id)
    own = mail(mailboxes["teammate"], 10, message_id=shared_id)

    email_list = build_email_list(contact, sales["teammate"])

    row = next(row for row in email_list.page.object_list if row.message.message_id == "comun@acme.example")
    assert row.message == own


def test_all_without_message_id_groups_by_content(contact, sales, mailboxes):
    """Two stored messages without a Message-ID stay two rows unless their bytes are equal."""
    first = raw_with_attachment("Sin id", "lucia@acme.example", "owner@crm.example", "Uno")
    second = raw_with_attachment("Sin id", "lucia@acme.example", "owner@crm.example", "Dos")
    store_raw(mailboxes["owner"], first)
    store_raw(mailboxes["owner"], second)
    store_raw(mailboxes["teammate"], first)

    email_list = build_email_list(contact, sales["viewer"], query="Sin id")

    assert email_list.total == 2
    assert sorted(len(row.owners) for row in email_list.page.object_list) == [1, 2]


def test_all_paginates_newest_first(contact, sales, mailboxes):
    email_list = build_email_list(contact, sales["viewer"], page_size=2, page_number=2)

    dates = [row.message.sort_date for row in email_list.page.object_list]
    assert email_list.page.paginator.num_pages == 3
    assert len(dates) == 2
    assert dates == sorted(dates, reverse=True)


def test_group_policy_replaces_owner_choice(contact, sales, mailboxes):
    policy_group = Group.objects.create(name="Fixed")
    sales["private"].groups.add(policy_group)
    GroupSharingPolicy.objects.create(group=policy_group, sharing_mode=SharingMode.PUBLIC, sharing_level=SharingLevel.METADATA)

    email_list = build_email_list(contact, sales["viewer"], selected=str(sales["private"].pk))

    assert email_list.selected == str(sales["private"].pk)
    assert not any(row.message.is_content_visible for row in email_list.page.object_list)


def test_group_policy_highest_priority_wins(sales, mailboxes):
    low = Group.objects.create(name="Low")
    high = Group.objects.create(name="High")
    sales["owner"].groups.add(low, high)
    GroupSharingPolicy.objects.create(group=low, sharing_mode=SharingMode.PUBLIC, sharing_level=SharingLevel.FULL, priority=1)
    fixed = GroupSharingPolicy.objects.create(group=high, sharing_mode=SharingMode.PRIVATE, sharing_level=SharingLevel.FULL, priority=5)

    setting = effective_sharing(mailboxes["owner"])

    assert setting.policy == fixed
    assert sales["owner"].pk not in mailbox_access(sales["viewer"]).grants


def test_group_policy_custom_audience(sales, mailboxes):
    policy_group = Group.objects.create(name="Fixed")
    sales["private"].groups.add(policy_group)
    policy = GroupSharingPolicy.objects.create(group=policy_group, sharing_mode=SharingMode.CUSTOM, sharing_level=SharingLevel.FULL)
    policy.shared_users.add(sales["viewer"])

    assert sales["private"].pk in mailbox_access(sales["viewer"]).grants
    assert sales["private"].pk not in mailbox_access(sales["teammate"]).grants


def test_picklist_query_count_constant(contact, sales, mailboxes, django_assert_max_num_queries):
    """The list costs the same number of queries with 11 messages or 31."""
    with django_assert_max_num_queries(20) as small:
        build_email_list(contact, sales["viewer"])
    for number in range(20, 40):
        mail(mailboxes["owner"], number)
    with django_assert_max_num_queries(20) as large:
        build_email_list(contact, sales["viewer"])

    assert len(large.captured_queries) == len(small.captured_queries)
