"""The CLI a script or a cron job uses, against the dev server, the real worker (real survey workflow),
a real SMTP sink and SQLite: suppliers import, campaign start/status/pause/resume/add/cancel, survey
status/submit/extend/withdraw, users create, and one-line errors with exit code 2 for bad arguments.

The commands run in a thread (each calls asyncio.run) while the worker runs on the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outreach.cli import app

SUPPLIERS_CSV = (
    "supplier_id,name,category,annual_spend,commodity_manager_name,commodity_manager_email,contact_email,contact_language\n"
    "CLI-1,Acme Metals,strategic,900000,Ann Lee,ann@corp.example,jo@acme.example,de\n"
    "CLI-2,Bolt Co,preferred,80000,Ann Lee,ann@corp.example,sales@bolt.example,en\n"
    "CLI-3,Cobalt Ltd,,19000,,,info@cobalt.example,fr\n"
    "CLI-4,Delta Wire,,10,,,d@delta.example,en\n"
)


@pytest.fixture
def cli_env(tmp_path, db_url, smtp):
    """The environment variables a CLI user would set; the same values configure the test's worker."""
    return {
        "OUTREACH_DATA_DIR": str(tmp_path / "var"),
        "OUTREACH_DATABASE_URL": db_url,
        "OUTREACH_SMTP_PORT": str(smtp.port),
        "OUTREACH_SECRET_KEY": "test-secret-key-for-signed-links",
        "OUTREACH_PUBLIC_BASE_URL": "http://portal.test",
        "OUTREACH_TASK_QUEUE": f"cli-{uuid.uuid4().hex[:8]}",
        "OUTREACH_COMPLIANCE_EMAIL": "compliance@corp.example",
        "OUTREACH_VP_EMAIL": "vp@corp.example",
        "OUTREACH_SETTINGS_FILE": str(tmp_path / "none.env"),
        "USER": "ana",
    }


class Cli:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.runner = CliRunner()

    async def __call__(self, *args: str, input: str | None = None, code: int = 0):
        result = await asyncio.to_thread(self.runner.invoke, app, list(args), env=self.env, input=input)
        assert result.exit_code == code, (args, result.exit_code, result.stdout, result.stderr, result.exception)
        return result

    async def json(self, *args: str, **kw):
        result = await self(*args, "--json", **kw)
        return json.loads(result.stdout)


async def _eventually(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


def test_bad_arguments_are_one_line_and_exit_2(cli_env, tmp_path):
    runner = CliRunner()
    cases = [
        (["campaign", "start", "--year", "2026", "--select", "spend:lots"], "--select: 'lots' is not a share of spend"),
        (["campaign", "start", "--year", "2026", "--policy", "weekly"], "--policy: 'weekly' is neither annual nor demo"),
        (["campaign", "start", "--year", "2026", "--id", "has space"], "a campaign ID is 1-64 letters"),
        (["campaign", "start", "--year", "2026", "--ends-at", "soon"], "--ends-at: 'soon' is not a date"),
        (["campaign", "start", "--year", "2026", "--ends-at", "2020-01-01"],
         "--ends-at: 2020-01-01 23:59 UTC is in the past; a campaign closes after its surveys are due"),
        (["campaign", "start", "--year", "2026", "--ends-at", "+30d"], "before its surveys are due on"),
        (["suppliers", "import", str(tmp_path / "missing.csv")], "no such file"),
        (["decide", "CLI-1", "maybe", "--reason", "x"], "decision 'maybe': choose one of suspend"),
        (["survey", "extend", "CLI-1", "--until", "tomorrow-ish"], "--until: 'tomorrow-ish' is not a date"),
        (["users", "create", "x@corp.example", "--role", "king", "--password-stdin"], "--role"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)


async def test_suppliers_import_cli_reports_rows_and_writes_nothing_on_error(cli_env, tmp_path):
    cli = Cli(cli_env)
    bad = tmp_path / "bad.csv"
    bad.write_text("supplier_id,name,contact_email\nX-1,Fine,a@x.example\nX-2,,not-an-email\n")
    result = await cli("suppliers", "import", str(bad), code=1)
    assert "row 3, column name: the supplier name is empty" in result.stderr
    assert "nothing imported: 2 problem(s) in 2 row(s)" in result.stderr
    listed = await cli.json("suppliers", "list")
    assert listed == []

    good = tmp_path / "suppliers.csv"
    good.write_text(SUPPLIERS_CSV)
    report = await cli.json("suppliers", "import", str(good))
    assert (report["created"], report["updated"], report["imported"], report["errors"]) == (4, 0, True, [])
    listed = await cli.json("suppliers", "list", "--category", "strategic")
    assert [(s["supplier_id"], s["contacts"]) for s in listed] == [("CLI-1", ["jo@acme.example"])]


async def test_campaign_and_survey_commands_drive_the_real_workflows(dev_env, cli_env, tmp_path, smtp, engine, settings_for):
    from cmrt.builder import valid_cmrt
    from outreach.settings import load_settings
    from worker import build_worker

    cli = Cli(cli_env | {"OUTREACH_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host})
    settings = load_settings(**{k.removeprefix("OUTREACH_").lower(): v for k, v in cli.env.items()
                                if k.startswith("OUTREACH_") and k != "OUTREACH_SETTINGS_FILE"})
    (tmp_path / "suppliers.csv").write_text(SUPPLIERS_CSV)
    await cli("suppliers", "import", str(tmp_path / "suppliers.csv"))
    campaign = f"cli-{uuid.uuid4().hex[:6]}"

    async with build_worker(dev_env.client, settings, engine):
        # 99% of spend (989,020 of 999,010) needs CLI-1..CLI-3; the 10-unit supplier is left out.
        started = await cli.json("campaign", "start", "--year", "2025", "--id", campaign, "--select", "spend:0.99",
                                 "--policy", "demo", "--ends-at", "+1d")
        assert started["campaign_id"] == campaign and "99%" in started["selection"]
        await cli("campaign", "start", "--year", "2025", "--id", campaign, code=1)  # the same ID twice

        async def requests_sent():
            sent = {m.rcpt_tos[0] for m in smtp.messages if m.template == "request"}
            assert sent == {"jo@acme.example", "sales@bolt.example", "info@cobalt.example"}, sent
        await _eventually(requests_sent)

        async def surveys_recorded():
            progress = await cli.json("campaign", "status", campaign)
            assert progress["selected"] == 3 and progress["surveys"] == 3, progress
            return progress
        progress = await _eventually(surveys_recorded)
        assert progress["responded"] == 0 and progress["response_rate"] == 0.0 and progress["state"] == "running"
        listing = await cli.json("campaign", "status")
        assert [c["campaign_id"] for c in listing if c["campaign_id"] == campaign] == [campaign]

        status = await cli.json("survey", "status", "CLI-1", "--campaign", campaign)
        assert status["state"] == "awaiting_response" and status["contact"]["email"] == "jo@acme.example"
        # Without --campaign the supplier's latest survey is found in the database.
        text = await cli("survey", "status", "CLI-1")
        assert f"survey/{campaign}/CLI-1: Awaiting response" in text.stdout

        workbook = tmp_path / "acme.xlsx"
        workbook.write_bytes(valid_cmrt(company="Acme Metals"))
        verdict = await cli.json("survey", "submit", "CLI-1", str(workbook), "--campaign", campaign)
        assert verdict["verdict"] == "valid" and verdict["accepted"] is True

        extended = await cli.json("survey", "extend", "CLI-2", "--campaign", campaign, "--until", "+30d", "--reason", "holiday")
        assert "message" in extended
        await cli("survey", "withdraw", "CLI-3", "--campaign", campaign, "--reason", "left the supply base")
        await cli("survey", "withdraw", "CLI-3", "--campaign", campaign, "--reason", "again", code=1)

        paused = await cli.json("campaign", "pause", campaign, "--reason", "checking templates")
        assert paused["state"] == "paused"
        again = await cli("campaign", "pause", campaign, code=1)
        assert again.stderr.strip() == f"Error: cannot pause {campaign}: the campaign is already paused"
        await cli("campaign", "resume", campaign)
        added = await cli("campaign", "add", campaign, "CLI-4", "NOPE", code=1)
        assert "added 1: CLI-4" in added.stdout and "unknown supplier(s), not added: NOPE" in added.stderr

        async def late_request_sent():
            assert any(m.template == "request" and m.rcpt_tos == ["d@delta.example"] for m in smtp.messages)
        await _eventually(late_request_sent)

        async def answered():
            progress = await cli.json("campaign", "status", campaign)
            assert progress["responded"] == 1 and progress["by_outcome"].get("withdrawn") == 1, progress
            return progress
        progress = await _eventually(answered)
        assert progress["selected"] == 4 and progress["response_rate"] == pytest.approx(1 / progress["surveys"])

        cancelled = await cli.json("campaign", "cancel", campaign, "--reason", "test over")
        assert cancelled["state"] == "cancelled"

        async def campaign_cancelled():
            progress = await cli.json("campaign", "status", campaign)
            assert progress["state"] == "cancelled", progress
            assert progress["open_surveys"] == 0, progress
        await _eventually(campaign_cancelled, timeout=60)


async def test_users_create(cli_env):
    from sqlmodel import Session, select

    from models.tables import User
    from outreach.db import make_engine
    from outreach.users import authenticate, user_for_token

    cli = Cli(cli_env)
    created = await cli.json("users", "create", "Ana@Corp.example", "--name", "Ana", "--password-stdin", "--token",
                             input="correct horse battery\n")
    assert created["email"] == "ana@corp.example" and created["api_token"].startswith("out_")
    engine = make_engine(cli_env["OUTREACH_DATABASE_URL"])
    try:
        assert authenticate(engine, "ana@corp.example", "correct horse battery") is not None
        assert user_for_token(engine, created["api_token"]).email == "ana@corp.example"
        with Session(engine) as s:
            assert "correct horse" not in s.exec(select(User)).one().password_hash
    finally:
        engine.dispose()
    again = await cli("users", "create", "ana@corp.example", "--password-stdin", input="another password\n", code=1)
    assert "already exists" in again.stderr


async def test_users_roles_change_and_deactivate(cli_env):
    from outreach.db import make_engine
    from outreach.users import authenticate, user_for_token

    cli = Cli(cli_env)
    created = await cli.json("users", "create", "aud@corp.example", "--role", "auditor", "--password-stdin", "--token",
                             input="correct horse battery\n")
    assert created["role"] == "auditor"
    engine = make_engine(cli_env["OUTREACH_DATABASE_URL"])
    try:
        assert user_for_token(engine, created["api_token"]).role == "auditor"  # the token acts with the role
        assert (await cli.json("users", "role", "AUD@corp.example", "commodity_manager"))["role"] == "commodity_manager"
        assert user_for_token(engine, created["api_token"]).role == "commodity_manager"
        wrong = await cli("users", "role", "aud@corp.example", "superuser", code=2)
        assert "not a role" in wrong.stderr and "commodity_manager" in wrong.stderr
        assert "no user" in (await cli("users", "role", "nobody@corp.example", "auditor", code=1)).stderr
        await cli("users", "deactivate", "aud@corp.example")
        assert user_for_token(engine, created["api_token"]) is None
        assert authenticate(engine, "aud@corp.example", "correct horse battery") is None
        assert "deactivated" in (await cli("users", "token", "aud@corp.example", code=1)).stderr
        listed = await cli.json("users", "list")
        assert listed[0]["email"] == "aud@corp.example" and listed[0]["deactivated_at"]
    finally:
        engine.dispose()


async def test_decide_records_the_vps_decision_on_an_escalated_supplier(dev_env, cli_env, tmp_path, engine, db_url):
    from datetime import timedelta

    from models.campaign import SupplierSelection
    from models.policy import CampaignPolicy
    from outreach.campaigns import start_campaign
    from outreach.settings import load_settings
    from worker import build_worker

    cli = Cli(cli_env | {"OUTREACH_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host})
    settings = load_settings(**{k.removeprefix("OUTREACH_").lower(): v for k, v in cli.env.items()
                                if k.startswith("OUTREACH_") and k != "OUTREACH_SETTINGS_FILE"})
    (tmp_path / "one.csv").write_text("supplier_id,name,contact_email\nVP-1,Silent Supplier,quiet@silent.example\n")
    await cli("suppliers", "import", str(tmp_path / "one.csv"))
    s = timedelta(seconds=1)
    # A supplier that never answers reaches the VP in seconds on this policy.
    policy = CampaignPolicy(reminder_offsets=[s], response_due=2 * s, chase_reminder_every=s, grace_period=2 * s)
    campaign = f"vp-{uuid.uuid4().hex[:6]}"
    async with build_worker(dev_env.client, settings, engine):
        await start_campaign(dev_env.client, settings, year=2025, campaign_id=campaign, policy=policy,
                             selection=SupplierSelection(kind="all"))

        async def escalated():
            status = await cli.json("survey", "status", "VP-1", "--campaign", campaign)
            assert status["open_escalation_id"], status["state"]
            return status
        status = await _eventually(escalated, timeout=60)
        decided = await cli.json("decide", "VP-1", "suspend", "--campaign", campaign, "--reason", "no answer at all")
        assert decided["decision"] == "suspend" and decided["decided_by"] == "vp@corp.example"
        assert decided["escalation_id"] == status["open_escalation_id"]
        again = await cli("decide", status["open_escalation_id"], "waive", "--reason", "changed my mind", code=1)
        assert again.stderr.startswith("Error: decision refused by")


def test_campaign_status_in_words_and_an_escalated_outcome_not_final(cli_env, engine):
    """Human output reads as words, and an outcome set at escalation is not counted with the final ones."""
    from models.tables import Campaign, Supplier, Survey
    from outreach.db import session_scope

    with session_scope(engine) as s:
        s.add(Campaign(id="words", year=2025, name="Words", state="running",
                       selection={"description": "two suppliers", "supplier_ids": ["W-1", "W-2"]}))
        s.add_all([Supplier(id="W-1", name="One"), Supplier(id="W-2", name="Two")])
        s.flush()
        s.add(Survey(id="survey/words/W-1", campaign_id="words", supplier_id="W-1", state="escalated",
                     outcome="non_responsive"))
        s.add(Survey(id="survey/words/W-2", campaign_id="words", supplier_id="W-2", state="closed",
                     outcome="valid_with_cap"))
    result = CliRunner().invoke(app, ["campaign", "status", "words"], env=cli_env)
    assert result.exit_code == 0, result.stdout
    assert "non_responsive" not in result.stdout and "valid_with_cap" not in result.stdout, result.stdout
    assert "states: Closed 1, Escalated 1" in result.stdout, result.stdout
    assert "outcomes: Valid with corrective action 1\n" in result.stdout, result.stdout
    assert "provisional outcomes (case still open, e.g. awaiting the VP's decision): Non-responsive 1" in result.stdout


def test_unreachable_temporal_is_one_line_and_exit_1(cli_env):
    result = CliRunner().invoke(app, ["campaign", "pause", "cmrt-2025"],
                                env=cli_env | {"OUTREACH_TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach Temporal at 127.0.0.1:1")


async def test_campaign_schedule_cli_creates_the_yearly_schedule(dev_env, cli_env):
    cli = Cli(cli_env | {"OUTREACH_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host})
    created = await cli.json("campaign", "schedule", "--yearly", "--month", "2", "--day", "1", "--select", "all")
    schedule = dev_env.client.get_schedule_handle(created["schedule_id"])
    try:
        again = await cli("campaign", "schedule", "--yearly", code=1)
        assert "already exists (use --replace" in again.stderr
        await cli("campaign", "schedule", "--yearly", "--month", "1", "--day", "20", "--replace")
        desc = await schedule.describe()
        calendar = desc.schedule.spec.calendars[0]
        assert (calendar.month[0].start, calendar.day_of_month[0].start) == (1, 20)
        assert desc.schedule.action.workflow == "YearlyCampaignWorkflow"
        assert desc.schedule.action.task_queue == cli_env["OUTREACH_TASK_QUEUE"]
    finally:
        await schedule.delete()
    bad = await cli("campaign", "schedule", "--yearly", "--day", "31", code=2)
    assert "28" in bad.stderr  # the range, from the option's own check
