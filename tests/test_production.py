"""The production settings, checked by Django and served by a real gunicorn.

Requests carry "X-Forwarded-Proto: https" as the reverse proxy in front of
gunicorn would; without it the site redirects to HTTPS.
"""

import json
import re
import secrets
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.http import HttpSession
from tests.support.processes import REPO, project_env, run_manage, start_gunicorn, wait_until

ADMIN_URL = "ops-console/"
HTTPS = {"X-Forwarded-Proto": "https", "Accept-Language": "en"}


def production_env(data_dir, **variables):
    return project_env(
        data_dir, settings="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(50), EMAILSYNC_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,crm.example.com", STATIC_ROOT=data_dir / "static", ADMIN_URL=ADMIN_URL,
        **variables,
    )


def test_check_deploy_has_no_warnings(tmp_path):
    result = run_manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING", check=False)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "EMAILSYNC_ENCRYPTION_KEYS", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(tmp_path, missing):
    env = production_env(tmp_path)
    del env[missing]

    result = run_manage(env, "check", check=False)

    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


def test_production_rejects_unknown_log_format(tmp_path):
    result = run_manage(production_env(tmp_path, LOG_FORMAT="xml"), "check", check=False)

    assert result.returncode != 0
    assert "LOG_FORMAT must be" in result.stderr


def test_invalid_provider_overrides_named(tmp_path):
    env = project_env(tmp_path, EMAILSYNC_PROVIDER_OVERRIDES='{"gmail": {"imap_host": }')

    result = run_manage(env, "check", check=False)

    assert result.returncode != 0
    assert "EMAILSYNC_PROVIDER_OVERRIDES is not valid JSON" in result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with the production settings, after collectstatic and migrate."""
    data_dir = tmp_path_factory.mktemp("production")
    env = production_env(data_dir)
    run_manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    run_manage(env, "migrate", "--verbosity", "0")
    program, url = start_gunicorn(env, data_dir / "gunicorn.log", "--no-control-socket")
    yield program, url
    program.stop()


@pytest.fixture
def session(server):
    _program, url = server
    return HttpSession(url, headers=HTTPS)


def test_gunicorn_serves_login_page(session):
    response = session.get("/login/")

    assert response.status == 200
    assert 'name="password"' in response.text


@pytest.mark.parametrize(("header", "expected"), [
    ("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
])
def test_gunicorn_sends_security_headers(session, header, expected):
    response = session.get("/login/")

    assert response.headers[header] == expected


def test_gunicorn_sends_content_security_policy(session):
    policy = session.get("/login/").headers["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy


def test_gunicorn_sets_secure_cookies(session):
    cookie = session.get("/login/").headers["Set-Cookie"]

    assert cookie.startswith("csrftoken=")
    assert "Secure" in cookie


def test_gunicorn_redirects_plain_http_to_https(server):
    _program, url = server

    response = HttpSession(url).get("/login/")

    assert response.status == 301
    assert response.headers["Location"] == url.replace("http://", "https://") + "/login/"


def test_gunicorn_serves_hashed_static_file(session):
    page = session.get("/login/").text
    path = re.search(r'href="(/static/crm/crm\.[0-9a-f]{12}\.css)"', page).group(1)

    response = session.get(path, headers={"Accept-Encoding": "gzip"})

    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_gunicorn_static_file_matches_source(session):
    page = session.get("/login/").text
    path = re.search(r'href="(/static/crm/crm\.[0-9a-f]{12}\.css)"', page).group(1)

    response = session.get(path)

    assert response.body == (REPO / "static" / "crm" / "crm.css").read_bytes()


def test_gunicorn_serves_admin_under_admin_url(session):
    moved = session.get(f"/{ADMIN_URL}login/")
    default = session.get("/admin/login/")

    assert moved.status == 200
    assert default.status == 404


def test_gunicorn_writes_json_log_lines(server, session):
    program, _url = server
    agent = f"log-test-{secrets.token_hex(4)}"
    session.get("/login/?q=private-search-words", headers={"User-Agent": agent})

    # gunicorn writes the access line after it sent the response.
    line = wait_until(lambda: next((
        entry for entry in map(json.loads, program.log().splitlines()) if entry.get("user_agent") == agent
    ), None), timeout=10, message="the access log line")

    assert line["logger"] == "gunicorn.access"
    assert line["path"] == "/login/"
    assert line["status"] == "200"
    assert "private-search-words" not in program.log()


def test_static_root_is_collected(server):
    assert Path(server[0].env["STATIC_ROOT"], "staticfiles.json").exists()
