"""A real django-q2 cluster seen through the health page: running, then stopped.

The cluster, the web server and the database are real processes and files.
`manage.py qcluster` and gunicorn share a database of their own: a SQLite
file, or a fresh PostgreSQL database when the suite runs on PostgreSQL.
The cluster status therefore travels through the same cache and tables as
in production.
"""

import json
import os

import psycopg
import pytest

from tests.support.http import HttpSession
from tests.support.processes import project_env, run_manage, start_gunicorn, start_qcluster, wait_until

CREATE_STAFF = """
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
ops = get_user_model().objects.create_user("ops", password="ops-secret-1", is_staff=True)
ops.user_permissions.add(Permission.objects.get(codename="view_mailaccount"))
"""


@pytest.fixture
def database_url(tmp_path):
    """Return a database for the processes: PostgreSQL when the suite uses it, else a SQLite file."""
    suite_url = os.environ.get("DATABASE_URL", "")
    if not suite_url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'cluster.sqlite3'}"
        return

    server_url, _slash, name = suite_url.rpartition("/")
    name = f"{name}_cluster"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{server_url}/{name}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def site(tmp_path, database_url):
    """A migrated database, a staff user who may view mailboxes, the schedules and a web server."""
    env = project_env(tmp_path, DATABASE_URL=database_url)
    run_manage(env, "migrate", "--verbosity", "0")
    run_manage(env, "setup_schedules")
    run_manage(env, "shell", "--command", CREATE_STAFF)
    web, url = start_gunicorn(env, tmp_path / "web.log", "--no-control-socket")
    yield env, url
    web.stop()


def cluster_report(session):
    response = session.get("/admin/health/?format=json")
    return response.status, json.loads(response.text)


def test_health_reports_stopped_cluster(site, tmp_path):
    env, url = site
    session = HttpSession(url, headers={"Accept-Language": "en"})
    session.login("/admin/login/", "ops", "ops-secret-1")
    cluster = start_qcluster(env, tmp_path / "cluster.log")
    try:
        # The scheduler first looks for due schedules 30 seconds after start.
        wait_until(lambda: cluster_report(session)[1]["cluster"]["state"] == "running", timeout=90,
                   message=f"a running cluster; its log:\n{cluster.log()[-2000:]}")
        running_page = session.get("/admin/health/")

        cluster.stop()
        status, report = cluster_report(session)
        stopped_page = session.get("/admin/health/")
    finally:
        cluster.stop()

    assert 'class="health-cluster-running"' in running_page.text
    assert not cluster.is_running()
    assert status == 503
    assert report["cluster"]["state"] == "stopped"
    assert "cluster_stopped" in [problem["code"] for problem in report["problems"]]
    assert stopped_page.status == 503
    assert 'class="health-cluster-stopped"' in stopped_page.text
    assert "No task cluster is running" in stopped_page.text
