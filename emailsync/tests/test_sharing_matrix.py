"""What each persona sees of one message under each sharing setting.

The mailbox belongs to `owner`. The Contact involved in the message
belongs to `owner` too, and every other persona may see it through the
"view contact" permission of the Sales group, so only the mailbox's
sharing setting decides. For each pair the test reads the Emails list,
its counts, the message page, the attachment URL and a search for a word
of the body.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from crm.models import Contact
from crm.tests.helpers import make_account
from emailsync.models import MailAccount, SharingExclusion, SharingLevel, SharingMode

from .stored import raw_with_attachment, store_raw

pytestmark = pytest.mark.django_db

BODY_WORD = "confidencialísimo"
SUBJECT = "Oferta anual"

# What a viewer gets: "full" (everything), "metadata" (headers only) or "none".
FULL, METADATA, NONE = "full", "metadata", "none"

SETTINGS = ["private", "public", "custom_user", "custom_group", "metadata", "excluded_domain"]

EXPECTED = {
    "owner": dict.fromkeys(SETTINGS, FULL),
    "teammate": {
        "private": NONE, "public": FULL, "custom_user": FULL, "custom_group": FULL,
        "metadata": METADATA, "excluded_domain": NONE,
    },
    "outsider": {
        "private": NONE, "public": FULL, "custom_user": NONE, "custom_group": NONE,
        "metadata": METADATA, "excluded_domain": NONE,
    },
    "superuser": {
        "private": NONE, "public": FULL, "custom_user": NONE, "custom_group": NONE,
        "metadata": METADATA, "excluded_domain": NONE,
    },
}

CASES = [(viewer, setting, EXPECTED[viewer][setting]) for viewer in EXPECTED for setting in SETTINGS]


@pytest.fixture
def world(owner, teammate, outsider, django_user_model):
    """Create the personas' groups, the Contact, and the owner's mailbox with one message."""
    superuser = django_user_model.objects.create_superuser("root", "root@example.test", "secret-root")
    sales = Group.objects.create(name="Sales")
    sales.permissions.add(Permission.objects.get(codename="view_contact"))
    for user in (teammate, outsider):
        user.groups.add(sales)
    team = Group.objects.create(name="Team of owner")
    teammate.groups.add(team)

    contact = Contact.objects.create(owner=owner, last_name="Moreno", email="lucia@acme.example")
    account = make_account(owner)
    raw = raw_with_attachment(
        SUBJECT, "Lucía <lucia@acme.example>", "owner@crm.example", f"Precio {BODY_WORD} para 2027.",
        message_id="<oferta-1@acme.example>",
    )
    message = store_raw(account, raw)
    users = {"owner": owner, "teammate": teammate, "outsider": outsider, "superuser": superuser}
    return {"contact": contact, "account": account, "message": message, "users": users, "team": team}


def apply_setting(world, setting):
    account = world["account"]
    mode = {"private": SharingMode.PRIVATE, "custom_user": SharingMode.CUSTOM, "custom_group": SharingMode.CUSTOM}
    account.sharing_mode = mode.get(setting, SharingMode.PUBLIC)
    account.sharing_level = SharingLevel.METADATA if setting == "metadata" else SharingLevel.FULL
    account.save()
    if setting == "custom_user":
        account.shared_users.add(world["users"]["teammate"])
    if setting == "custom_group":
        account.shared_groups.add(world["team"])
    if setting == "excluded_domain":
        SharingExclusion.objects.create(account=account, value="acme.example")


def observe(client, world):
    """Return what one logged-in client sees of the message, in every place it can show up."""
    contact, message = world["contact"], world["message"]
    listing = client.get(contact.get_absolute_url())
    email_list = listing.context["email_list"]
    rows = list(email_list.page.object_list)
    detail = client.get(reverse("emailsync:message_detail", args=[message.pk]))
    attachment = client.get(reverse("emailsync:message_attachment", args=[message.pk, "2"]))
    body_search = client.get(contact.get_absolute_url(), {"q": BODY_WORD}).context["email_list"]
    subject_search = client.get(contact.get_absolute_url(), {"q": "anual"}).context["email_list"]
    return {
        "rows": len(rows),
        "list_html": listing.content.decode(),
        "counts": {choice.value: choice.count for choice in email_list.choices},
        "total": email_list.total,
        "detail_status": detail.status_code,
        "detail_html": detail.content.decode() if detail.status_code == 200 else "",
        "attachment_status": attachment.status_code,
        "body_search": body_search.total,
        "subject_search": subject_search.total,
    }


@pytest.mark.parametrize(("viewer", "setting", "expected"), CASES, ids=[f"{v}-{s}" for v, s, _e in CASES])
def test_sharing_matrix(client, world, viewer, setting, expected):
    apply_setting(world, setting)
    client.force_login(world["users"][viewer])

    seen = observe(client, world)

    owner_key = str(world["users"]["owner"].pk)
    if expected == NONE:
        assert seen["rows"] == 0
        assert seen["total"] == 0
        assert owner_key not in seen["counts"]
        assert SUBJECT not in seen["list_html"]
        assert seen["detail_status"] == 404
        assert seen["attachment_status"] == 404
        assert seen["body_search"] == 0
        assert seen["subject_search"] == 0
        return

    assert seen["rows"] == 1
    assert seen["total"] == 1
    assert seen["counts"] == {"all": 1, owner_key: 1}
    assert seen["detail_status"] == 200
    assert SUBJECT in seen["detail_html"]
    assert seen["subject_search"] == 1
    if expected == FULL:
        assert BODY_WORD in seen["list_html"]
        assert BODY_WORD in seen["detail_html"]
        assert "oferta.pdf" in seen["detail_html"]
        assert seen["attachment_status"] == 200
        assert seen["body_search"] == 1
    else:
        assert BODY_WORD not in seen["list_html"]
        assert BODY_WORD not in seen["detail_html"]
        assert "oferta.pdf" not in seen["detail_html"]
        assert "message-content-hidden" in seen["detail_html"]
        assert seen["attachment_status"] == 404
        assert seen["body_search"] == 0


def test_sharing_change_applies_to_earlier_messages(client, world):
    apply_setting(world, "public")
    client.force_login(world["users"]["teammate"])
    before = observe(client, world)

    MailAccount.objects.filter(pk=world["account"].pk).update(sharing_mode=SharingMode.PRIVATE)
    after = observe(client, world)

    assert before["rows"] == 1
    assert after["rows"] == 0
    assert after["detail_status"] == 404


def test_sharing_guessed_ids_answer_404(client, world):
    apply_setting(world, "public")
    client.force_login(world["users"]["owner"])
    message = world["message"]

    missing_message = client.get(reverse("emailsync:message_detail", args=[message.pk + 1000]))
    missing_part = client.get(reverse("emailsync:message_attachment", args=[message.pk, "9"]))
    body_part = client.get(reverse("emailsync:message_attachment", args=[message.pk, "1"]))
    other_message = client.get(reverse("emailsync:message_attachment", args=[message.pk + 1000, "2"]))

    assert missing_message.status_code == 404
    assert missing_part.status_code == 404
    assert body_part.status_code == 404
    assert other_message.status_code == 404


def test_sharing_needs_a_visible_record(client, world, django_user_model):
    """A public mailbox's message stays hidden from a user who may see no record it involves."""
    apply_setting(world, "public")
    stranger = django_user_model.objects.create_user("stranger", "s@example.test", "secret-s")
    client.force_login(stranger)

    response = client.get(reverse("emailsync:message_detail", args=[world["message"].pk]))

    assert response.status_code == 404


def test_sharing_excluded_address_keeps_others_visible(client, world):
    apply_setting(world, "public")
    SharingExclusion.objects.create(account=world["account"], value="pedro@acme.example")
    client.force_login(world["users"]["teammate"])

    assert observe(client, world)["rows"] == 1


def test_sharing_excluded_parent_domain_covers_subdomain(client, world):
    apply_setting(world, "public")
    SharingExclusion.objects.create(account=world["account"], value="@ACME.example")
    Contact.objects.filter(pk=world["contact"].pk).update(email="lucia@ventas.acme.example")
    raw = raw_with_attachment("Sub", "lucia@ventas.acme.example", "owner@crm.example", "Texto", message_id="<s@x>")
    store_raw(world["account"], raw)
    world["contact"].refresh_from_db()
    client.force_login(world["users"]["teammate"])

    assert observe(client, world)["rows"] == 0


def test_sharing_inactive_user_sees_nothing(client, world):
    apply_setting(world, "public")
    teammate = world["users"]["teammate"]
    client.force_login(teammate)
    teammate.is_active = False
    teammate.save()

    response = client.get(reverse("emailsync:message_detail", args=[world["message"].pk]))

    # Django's session backend logs an inactive user out, so the page redirects to the login.
    assert response.status_code == 302
