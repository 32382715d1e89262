"""The project's own programs run as real processes in tests.

Two kinds: workers that share the current test's database (`django_env`,
`start_python`, `start_manage`), and whole sites with a database of their
own under a data folder (`project_env`, `run_manage`, `Program`), such as
gunicorn or a task cluster. Each long-running process is stopped by its PID.
"""

import os
import signal
import socket
import subprocess
import sys
import time
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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project_env(data_dir, settings="config.settings.test", **variables):
    """Return an environment for the project's programs with its data under data_dir.

    The database is a SQLite file in data_dir unless `DATABASE_URL` is given.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": settings,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'crm.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({key: str(value) for key, value in variables.items()})
    return env


def run_manage(env, *args, timeout=120, check=True):
    """Run a manage.py command to completion and return the CompletedProcess.

    With `check`, a failing command raises with its output.
    """
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class Program:
    """A long-running program of the project; start() it, then stop() it by PID."""

    def __init__(self, args, env, log_path):
        self.args = args
        self.env = env
        self.log_path = Path(log_path)
        self.process = None

    @property
    def pid(self):
        return self.process.pid

    def start(self):
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        return self

    def is_running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=30):
        """Send SIGTERM to the PID and wait for the exit; SIGKILL after `timeout` seconds."""
        if not self.is_running():
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_port(self, port, timeout=30):
        """Wait until the program accepts connections on loopback `port`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise RuntimeError(f"{self.args[0]} exited:\n{self.log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.args[0]} did not listen on port {port}:\n{self.log()[-3000:]}")


def start_gunicorn(env, log_path, *options):
    """Start gunicorn with the project's config on a free loopback port; return (program, base URL)."""
    port = free_port()
    program = Program(
        [sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", *options, "config.wsgi:application"],
        env, log_path,
    ).start()
    program.wait_for_port(port)
    return program, f"http://127.0.0.1:{port}"


def start_qcluster(env, log_path):
    return Program([sys.executable, "manage.py", "qcluster"], env, log_path).start()


def wait_until(condition, timeout, interval=0.5, message="condition"):
    """Call condition() until it returns a true value, and return that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout} seconds")
