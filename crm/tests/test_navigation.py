import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.staticfiles import finders
from django.urls import reverse

from crm.kinds import CONTACTS, LEADS
from crm.tests.helpers import make_account
from emailsync.models import MailAccount

from .conftest import grant, make_record

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/settings/email/"


def test_email_settings_url_name():
    assert reverse("emailsync:settings") == SETTINGS_URL


def test_email_settings_menu_hidden_without_permission(owner_client):
    content = owner_client.get(reverse("crm:home")).content.decode()

    assert f'href="{SETTINGS_URL}"' not in content


def test_email_settings_answers_403_without_permission(owner_client):
    response = owner_client.get(SETTINGS_URL)

    assert response.status_code == 403


def test_email_settings_redirects_anonymous_to_login(client):
    response = client.get(SETTINGS_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_email_settings_menu_shown_with_permission(client, owner):
    client.force_login(grant(owner, "emailsync.integrate_email"))

    content = client.get(reverse("crm:home")).content.decode()

    assert f'href="{SETTINGS_URL}"' in content


def test_email_settings_opens_with_permission(client, owner):
    client.force_login(grant(owner, "emailsync.integrate_email"))

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200


def test_email_settings_opens_with_group_permission(client, owner):
    group = Group.objects.create(name="Ventas")
    group.permissions.add(Permission.objects.get(codename="integrate_email"))
    owner.groups.add(group)
    client.force_login(owner)

    response = client.get(SETTINGS_URL)

    assert response.status_code == 200


def test_navbar_links_to_leads_and_contacts(owner_client):
    content = owner_client.get(reverse("crm:home")).content.decode()

    assert f'href="{reverse("crm:lead_list")}"' in content
    assert f'href="{reverse("crm:contact_list")}"' in content


def test_logout_is_a_post_form(owner_client):
    content = owner_client.get(reverse("crm:home")).content.decode()

    assert f'method="post" action="{reverse("logout")}"' in content


def test_logout_post_signs_out(owner_client):
    owner_client.post(reverse("logout"))

    response = owner_client.get(reverse("crm:home"))
    assert response.status_code == 302


def test_login_page_renders_crispy_form(client):
    content = client.get(reverse("login")).content.decode()

    assert 'class="textinput form-control' in content
    assert 'name="csrfmiddlewaretoken"' in content


def test_login_signs_in(client, owner):
    response = client.post(reverse("login"), {"username": "ana", "password": "secret-ana"})

    assert response.url == reverse("crm:home")


def test_home_counts_own_records(owner_client, owner, teammate):
    make_record(LEADS, owner)
    make_record(LEADS, owner)
    make_record(LEADS, teammate)
    make_record(CONTACTS, owner)

    response = owner_client.get(reverse("crm:home"))

    assert response.context["lead_count"] == 2
    assert response.context["contact_count"] == 1


def test_home_names_connected_mailbox(owner_client, owner):
    grant(owner, "emailsync.integrate_email")
    account = make_account(owner)

    content = owner_client.get(reverse("crm:home")).content.decode()

    assert account.email_address in content
    assert "Connect your mailbox" not in content
    assert "Conecte su buzón" not in content


def test_home_says_paused_mailbox(owner_client, owner):
    account = make_account(owner)
    MailAccount.objects.filter(pk=account.pk).update(status=MailAccount.Status.PAUSED)

    content = owner_client.get(reverse("crm:home")).content.decode()

    assert 'id="home-mailbox"' in content
    assert reverse("emailsync:mailbox") in content


def test_base_page_loads_bootstrap_from_own_static_files(owner_client):
    content = owner_client.get(reverse("crm:home")).content.decode()

    assert 'href="/static/bootstrap/css/bootstrap.min.css"' in content
    assert 'src="/static/bootstrap/js/bootstrap.bundle.min.js"' in content


def test_bootstrap_files_found_by_staticfiles():
    assert finders.find("bootstrap/css/bootstrap.min.css")
    assert finders.find("bootstrap/js/bootstrap.bundle.min.js")


def test_messages_rendered_as_bootstrap_alerts(owner_client):
    response = owner_client.post(reverse("crm:preferences"), {"language": "en"}, follow=True)

    assert 'class="alert alert-success alert-dismissible' in response.content.decode()
