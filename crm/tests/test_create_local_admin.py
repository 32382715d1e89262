"""`manage.py create_local_admin` creates the development superuser once."""

import stat

import pytest
from django.contrib.auth import get_user_model

from tests.support.commands import run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def test_create_local_admin_creates_superuser(data_dir):
    result = run_command("create_local_admin")

    admin = get_user_model().objects.get(username="admin")
    password = (data_dir / "admin-credentials.txt").read_text().split("password: ")[1].strip()
    assert admin.is_superuser
    assert admin.user_permissions.filter(codename="integrate_email").exists()
    assert admin.check_password(password)
    assert password in result.stdout


def test_create_local_admin_file_is_private(data_dir):
    run_command("create_local_admin")

    mode = stat.S_IMODE((data_dir / "admin-credentials.txt").stat().st_mode)
    assert mode == 0o600


def test_create_local_admin_runs_once(data_dir):
    run_command("create_local_admin")
    first_file = (data_dir / "admin-credentials.txt").read_text()

    result = run_command("create_local_admin")

    assert get_user_model().objects.filter(username="admin").count() == 1
    assert (data_dir / "admin-credentials.txt").read_text() == first_file
    assert "password:" not in result.stdout.lower()
