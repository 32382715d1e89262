import pytest
from django.conf import settings
from django.urls import reverse

from crm.models import Profile

pytestmark = pytest.mark.django_db


def test_pages_render_in_spanish_by_default(owner_client):
    content = owner_client.get(reverse("crm:home")).content.decode()

    assert '<html lang="es">' in content
    assert "Clientes potenciales" in content
    assert "Contactos" in content
    assert "Configuración" in content


def test_login_page_in_spanish_by_default(client):
    content = client.get(reverse("login")).content.decode()

    assert "Iniciar sesión" in content


def test_pages_render_in_english_for_english_browser(owner_client):
    content = owner_client.get(reverse("crm:home"), headers={"accept-language": "en"}).content.decode()

    assert '<html lang="en">' in content
    assert "Leads" in content
    assert "Clientes potenciales" not in content


def test_saved_language_wins_over_browser(owner_client, owner):
    Profile.objects.create(user=owner, language="en")

    content = owner_client.get(reverse("crm:home"), headers={"accept-language": "es"}).content.decode()

    assert '<html lang="en">' in content


def test_preferences_save_language(owner_client, owner):
    response = owner_client.post(reverse("crm:preferences"), {"language": "en"})

    assert Profile.objects.get(user=owner).language == "en"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_preferences_success_message_in_chosen_language(owner_client):
    response = owner_client.post(reverse("crm:preferences"), {"language": "en"}, follow=True)

    assert "Your preferences are saved." in response.content.decode()


def test_preferences_follow_browser_clears_cookie(owner_client, owner):
    Profile.objects.create(user=owner, language="en")

    response = owner_client.post(reverse("crm:preferences"), {"language": ""})

    assert Profile.objects.get(user=owner).language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""


def test_preferences_reject_unknown_language(owner_client, owner):
    response = owner_client.post(reverse("crm:preferences"), {"language": "fr"})

    assert "language" in response.context["form"].errors


def test_language_menu_switches_to_english(owner_client):
    owner_client.post(reverse("crm:switch_language"), {"language": "en", "next": "/"})

    content = owner_client.get(reverse("crm:home")).content.decode()
    assert '<html lang="en">' in content


def test_language_menu_updates_saved_language(owner_client, owner):
    Profile.objects.create(user=owner, language="es")

    owner_client.post(reverse("crm:switch_language"), {"language": "en", "next": "/"})

    assert Profile.objects.get(user=owner).language == "en"


def test_language_menu_keeps_browser_preference(owner_client, owner):
    Profile.objects.create(user=owner, language="")

    owner_client.post(reverse("crm:switch_language"), {"language": "en", "next": "/"})

    assert Profile.objects.get(user=owner).language == ""


def test_language_menu_works_before_login(client):
    client.post(reverse("crm:switch_language"), {"language": "en", "next": "/login/"})

    content = client.get(reverse("login")).content.decode()
    assert "Log in" in content


def test_form_errors_in_spanish(owner_client, owner):
    response = owner_client.post(
        reverse("crm:lead_create"),
        {"last_name": "Moreno", "owner": owner.pk, "status": "new", "secondary_emails": "mal@"},
    )

    assert "«mal@» no es una dirección de correo electrónico válida." in response.content.decode()


def test_model_labels_in_spanish(owner_client):
    content = owner_client.get(reverse("crm:contact_create")).content.decode()

    assert "Apellidos" in content
    assert "Cargo" in content
