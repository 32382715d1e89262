"""Run the product in worker subprocesses against the test database."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parent.parent.parent


def database_url():
    """Return a DATABASE_URL for the database the current test uses."""
    settings = connection.settings_dict
    if settings["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or "postgres"
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def django_env(**extra):
    """Environment for a subprocess that uses the test settings and database."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "PYTHONPATH": str(REPO),
    })
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_python(code, **env):
    """Start `python -c code` with Django set up; returns the Popen.

    The child gets its own session so that it and its children can be
    stopped together by process group id.
    """
    prelude = "import django; django.setup()\n"
    return subprocess.Popen(
        [sys.executable, "-c", prelude + code], cwd=REPO, env=django_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def start_manage(*args, **env):
    return subprocess.Popen(
        [sys.executable, "manage.py", *args], cwd=REPO, env=django_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
