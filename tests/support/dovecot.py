"""A private Dovecot instance for tests, started from tests/support/dovecot.conf.in.

Facts this relies on (Dovecot 2.3.19, Debian 12):
- Dovecot refuses uid 0 for mail processes, so as root the mail runs as a
  system user `vmail`, created here when missing.
- The auth and mail processes must traverse every ancestor folder (o+x),
  and unix socket paths must stay under about 107 bytes, so the instance
  lives in a short folder under /tmp.
- Each user has a passwd-file of their own, so users can be added while
  the server runs (see add_user).
"""

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

from .certs import write_self_signed

TEMPLATE = Path(__file__).with_name("dovecot.conf.in")
MAIL_USER = "vmail"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dovecot_binary():
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def _ensure_mail_user():
    try:
        pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", MAIL_USER],
            check=True,
        )


class Dovecot:
    """Start with `start()`, stop with `stop()` (SIGTERM to the master's PID)."""

    def __init__(self, extra_config="", extra_passdb="", extra_mechanisms="", imap_capability="",
                 ssl_from=None):
        """`ssl_from`: another Dovecot whose certificate to reuse, so one CA
        file trusts both."""
        self.ssl_from = ssl_from
        self.dir = Path(tempfile.mkdtemp(prefix="dc", dir="/tmp"))
        self.dir.chmod(0o755)
        self.extra_config = extra_config
        self.extra_passdb = extra_passdb
        self.extra_mechanisms = extra_mechanisms
        self.imap_capability = imap_capability
        self.host = "127.0.0.1"
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.pop3_port = free_port()
        self.pop3s_port = free_port()
        self.process = None
        self.users = {}

    @property
    def config_path(self):
        return self.dir / "dovecot.conf"

    @property
    def cafile(self):
        return str(self.dir / "ssl" / "cert.pem")

    @property
    def log_path(self):
        return self.dir / "log" / "dovecot.log"

    def _write_config(self):
        for name in ("run", "state", "log", "mail"):
            (self.dir / name).mkdir(exist_ok=True)
        if self.ssl_from is not None:
            (self.dir / "ssl").mkdir(exist_ok=True)
            for name in ("cert.pem", "key.pem"):
                shutil.copy(self.ssl_from.dir / "ssl" / name, self.dir / "ssl" / name)
        else:
            write_self_signed(self.dir / "ssl")
        (self.dir / "users").mkdir(exist_ok=True)
        (self.dir / "users").chmod(0o755)

        if os.geteuid() == 0:
            _ensure_mail_user()
            mail_user, mail_group = MAIL_USER, MAIL_USER
            non_root, login_chroot = "", ""
            uid, gid = pwd.getpwnam(MAIL_USER).pw_uid, grp.getgrnam(MAIL_USER).gr_gid
            os.chown(self.dir / "mail", uid, gid)
        else:
            mail_user = pwd.getpwuid(os.geteuid()).pw_name
            mail_group = grp.getgrgid(os.getegid()).gr_name
            non_root = (
                f"default_internal_user = {mail_user}\n"
                f"default_internal_group = {mail_group}\n"
                f"default_login_user = {mail_user}\n"
            )
            login_chroot = "chroot ="

        values = {
            "DIR": str(self.dir), "IMAP_PORT": self.imap_port, "IMAPS_PORT": self.imaps_port,
            "POP3_PORT": self.pop3_port, "POP3S_PORT": self.pop3s_port,
            "MAIL_USER": mail_user, "MAIL_GROUP": mail_group, "NON_ROOT": non_root,
            "LOGIN_CHROOT": login_chroot, "ANVIL_CHROOT": login_chroot, "EXTRA": self.extra_config,
            "EXTRA_PASSDB": self.extra_passdb, "EXTRA_MECHANISMS": self.extra_mechanisms,
            "IMAP_CAPABILITY": self.imap_capability,
        }
        text = TEMPLATE.read_text()
        for key, value in values.items():
            text = text.replace(f"@{key}@", str(value))
        self.config_path.write_text(text)

    def start(self):
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError(
                "dovecot is not installed; run: apt-get install -y dovecot-imapd dovecot-pop3d"
            )
        self._write_config()
        self.process = subprocess.Popen(
            [binary, "-c", str(self.config_path), "-F"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "log" / "stderr.log", "wb"),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self._log_tail()}")
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not start: {self._log_tail()}")

    def _log_tail(self):
        parts = []
        for path in (self.log_path, self.dir / "log" / "stderr.log"):
            if path.exists():
                parts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def stop(self):
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def add_user(self, name, password):
        """Add (or change the password of) a mailbox user.

        Each user has a passwd-file of their own: Dovecot opens a new file at
        the first lookup, while it notices a change to a file it has already
        read only after a few seconds.
        """
        self.users[name] = password
        users_file = self.dir / "users" / name
        temporary = self.dir / "users" / f".{name}.new"
        temporary.write_text(f"{name}:{{PLAIN}}{password}\n")
        temporary.chmod(0o644)
        os.replace(temporary, users_file)
        return name

    def change_password(self, name, password):
        """Change a user's password and wait until Dovecot applies it.

        Dovecot re-reads a passwd-file it has already loaded only after a
        few seconds, so this polls until the old password is rejected.
        """
        old = self.users[name]
        self.add_user(name, password)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                probe = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=10)
                probe.login(name, old)
                probe.logout()
            except IMAPClient.Error:
                return
            time.sleep(0.2)
        raise RuntimeError(f"dovecot kept the old password of {name}")

    def client(self, user, tls=False):
        """Return a logged-in IMAPClient for a test user (plain or IMAPS)."""
        if tls:
            context = ssl.create_default_context(cafile=self.cafile)
            client = IMAPClient(self.host, port=self.imaps_port, ssl=True, ssl_context=context, timeout=30)
        else:
            client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=30)
        client.login(user, self.users[user])
        return client

    def append(self, user, folder, messages):
        """APPEND raw messages (bytes) to a folder; returns how many the server took."""
        taken = 0
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for data in messages:
                try:
                    client.append(folder, data)
                    taken += 1
                except client.Error:
                    continue
        return taken

    def server_messages(self, user, folder):
        """Return {uid: bytes} exactly as the server returns them."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            result = {}
            for start in range(0, len(uids), 200):
                chunk = uids[start:start + 200]
                for uid, item in client.fetch(chunk, [b"BODY.PEEK[]"]).items():
                    result[uid] = bytes(item[b"BODY[]"])
            return result
