"""A real IMAP server for the bounce tests: Debian's dovecot (package dovecot-imapd), started with a
configuration of its own in a temporary folder, on a free 127.0.0.1 port, plain login allowed on
loopback, one passwd-file user, mail as Maildir in the same folder. Skips with a reason when dovecot is
not installed (`make test` installs it when run as root)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

USER, PASSWORD = "bounces", "bounce-box-secret"


@dataclass
class ImapServer:
    root: Path
    port: int
    process: subprocess.Popen | None = None
    user: str = USER
    password: str = PASSWORD

    def settings(self) -> dict:
        """The product's settings that read this mailbox."""
        return dict(bounce_imap_host="127.0.0.1", bounce_imap_port=self.port, bounce_imap_security="none",
                    bounce_imap_user=self.user, bounce_imap_password=self.password)

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """What a relay's delivery to the bounce mailbox amounts to: the message appended, unseen."""
        imap = self.connect()
        try:
            typ, data = imap.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            imap.logout()

    def unseen(self, folder: str = "INBOX") -> int:
        imap = self.connect()
        try:
            imap.select(folder)
            return len(imap.uid("SEARCH", None, "UNSEEN")[1][0].split())
        finally:
            imap.logout()

    def count(self, folder: str = "INBOX") -> int:
        imap = self.connect()
        try:
            typ, data = imap.select(folder)
            return int(data[0]) if typ == "OK" else 0
        finally:
            imap.logout()


def _config(root: Path, port: int, mail_user: str, introspection_url: str | None = None) -> str:
    internal, login = ("dovecot", "dovenull") if os.getuid() == 0 else (mail_user, mail_user)
    oauth = ""
    if introspection_url:  # XOAUTH2: dovecot asks the token's issuer whether the token is good
        (root / "oauth2.conf.ext").write_text(f"introspection_mode = post\nintrospection_url = {introspection_url}\n"
                                              "username_attribute = username\nactive_attribute = active\n"
                                              "active_value = true\n")
        oauth = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {root}/oauth2.conf.ext\n}}\n"
    return oauth + f"""
base_dir = {root}/run
state_dir = {root}/state
instance_name = outreach-test-{port}
log_path = {root}/dovecot.log
protocols = imap
first_valid_uid = 1
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{' xoauth2' if introspection_url else ''}
mail_location = maildir:{root}/mail/%u
default_login_user = {login}
default_internal_user = {internal}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={pwd.getpwnam(mail_user).pw_gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _die_with_parent() -> None:
    """Linux: dovecot is sent SIGTERM when the test process dies, even killed: no server is left behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_imap_server(root: Path, introspection_url: str | None = None) -> ImapServer:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd; `make test` does it as root)")
    mail_user = "dovecot" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the mail user reads its Maildir below
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(exist_ok=True)
    if os.getuid() == 0:
        for sub in ("mail", "home"):
            shutil.chown(root / sub, mail_user, mail_user)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    (root / "dovecot.conf").write_text(_config(root, port, mail_user, introspection_url))
    proc = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_die_with_parent)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.skip(f"dovecot did not start: {err.strip()[:300]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return ImapServer(root, port, proc)
        except OSError:
            time.sleep(0.1)
    stop_imap_server(ImapServer(root, port, proc))
    pytest.skip("dovecot did not listen within 15 s")


def stop_imap_server(server: ImapServer) -> None:
    proc = server.process
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # dovecot's own children (auth, imap) are in its session
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def imap_server():
    # Not under pytest's tmp_path: its folders are private to the test's user, and the mail user (dovecot,
    # when the tests run as root) must reach the Maildir.
    root = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
    try:
        server = start_imap_server(root)
        yield server
        stop_imap_server(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class TokenIssuer:
    """A stand-in for an OAuth 2.0 issuer (Microsoft Entra ID's token endpoint): the client credentials grant
    for one client, and the introspection dovecot asks."""

    CLIENT, SECRET, TOKEN = "outreach-bounces", "client-secret", "access-token-4711"

    def __init__(self) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import parse_qs

        issuer = self
        self.grants: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()).items()}
                if self.path == "/token":
                    issuer.grants.append(form)
                    ok = form.get("client_id") == issuer.CLIENT and form.get("client_secret") == issuer.SECRET
                    status, body = (200, {"access_token": issuer.TOKEN, "token_type": "Bearer", "expires_in": 3599}) if ok \
                        else (401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
                else:
                    status, body = 200, {"active": form.get("token") == issuer.TOKEN, "username": USER}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def imap_oauth_server():
    """dovecot taking XOAUTH2 tokens from a local issuer (and passwords as well), with the issuer."""
    issuer = TokenIssuer()
    root = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
    try:
        server = start_imap_server(root, introspection_url=f"{issuer.url}/introspect")
        yield server, issuer
        stop_imap_server(server)
    finally:
        issuer.close()
        shutil.rmtree(root, ignore_errors=True)
