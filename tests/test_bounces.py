"""Bounces from a real relay: every message's own return path (VERP), delivery-status notifications of
several relay styles read from a real IMAP server (dovecot) and from the catcher's Maildir, tied to the
message they are about, recorded once; soft bounces retried then given up; auto-replies ignored; unknown
bounces kept. The survey path (pause, fallback to the next contact, compliance told) is in
tests/test_bounces_survey.py."""

from __future__ import annotations

import mailbox
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st
from sqlmodel import select

from models.facts.bounces import (
    HARD, NOT_A_BOUNCE, SOFT, ContactOption, after_soft_bounce, bounce_kind, next_contact, return_path, token_in,
)
from models.tables import AuditEntry, BounceMail, OutboxMessage
from outreach.bounces.parse import read_bounce
from outreach.bounces.record import record_bounce
from outreach.db import session_scope
from tests import bounce_samples as samples
from tests.imap_server import imap_oauth_server, imap_server  # noqa: F401 (fixtures)

BOUNCE_BOX = "bounces@company.test"
MAIL_FROM = "Responsible Minerals Program <minerals@company.test>"
JANE, KEN = "jane@acme.test", "ken@acme.test"


def _settings(settings_for, smtp, **extra):
    return settings_for(smtp_port=smtp.port, mail_from=MAIL_FROM, **extra)


async def _send(acts, key: str, to: str) -> OutboxMessage:
    from activities.email import EmailRequest

    await acts.send_email(EmailRequest(idempotency_key=key, template="mail_check", to=to,
                                       context={"requested_by": "ops", "smtp_host": "h"}))
    with session_scope(acts.engine) as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def _row(engine, row_id: int) -> OutboxMessage:
    with session_scope(engine) as s:
        return s.get(OutboxMessage, row_id)


def _audit(engine, action: str) -> list[AuditEntry]:
    with session_scope(engine) as s:
        return list(s.exec(select(AuditEntry).where(AuditEntry.action == action)))


# --- the return path ---------------------------------------------------------------------------


async def test_every_message_leaves_with_its_own_return_path_and_the_same_from(smtp, engine, settings_for):
    from activities.email import EmailActivities

    acts = EmailActivities(_settings(settings_for, smtp), engine)
    a, b = await _send(acts, "k/a", JANE), await _send(acts, "k/b", KEN)
    assert a.return_token and b.return_token and a.return_token != b.return_token
    senders = {m.rcpt_tos[0]: m.mail_from for m in smtp.messages}
    assert senders == {JANE: f"bounces+{a.return_token}@company.test", KEN: f"bounces+{b.return_token}@company.test"}
    assert {m.message["From"] for m in smtp.messages} == {MAIL_FROM}  # what the supplier sees is unchanged

    off = EmailActivities(_settings(settings_for, smtp, bounce_verp=False), engine)
    await _send(off, "k/c", "x@acme.test")
    assert smtp.messages[-1].mail_from == "minerals@company.test"


def test_return_path_round_trip():
    assert return_path("bounces@company.test", "ab12cd34ef") == "bounces+ab12cd34ef@company.test"
    assert token_in("Delivered-To: bounces+ab12cd34ef@company.test", "bounces@company.test") == "ab12cd34ef"
    assert token_in("bounces+ab12cd34ef@other.test", "bounces@company.test") is None
    assert token_in("xbounces+ab12cd34ef@company.test", "bounces@company.test") is None
    assert token_in("bounces@company.test", "bounces@company.test") is None


# --- every relay style: classified and tied to the right message ---------------------------------


@pytest.mark.parametrize("style", sorted(samples.HARD_STYLES))
@pytest.mark.parametrize("tie", ["return path", "message id"])
async def test_each_relay_style_is_a_hard_bounce_tied_to_its_message(style, tie, smtp, engine, settings_for):
    from activities.email import EmailActivities

    settings = _settings(settings_for, smtp)
    acts = EmailActivities(settings, engine)
    other = await _send(acts, "k/other", KEN)  # a second message: a wrong tie would land here
    mine = await _send(acts, "k/mine", JANE)
    to = acts.return_path(mine) if tie == "return path" else BOUNCE_BOX
    raw = samples.HARD_STYLES[style](to, JANE, mine.message_id)

    reading = read_bounce(raw, settings.effective_bounce_address)
    assert (reading.kind, reading.recipients) == (HARD, [JANE])
    assert "5.1.1" in reading.diagnostic or "5.1.10" in reading.diagnostic or "550" in reading.diagnostic
    recorded = record_bounce(engine, settings, raw, reading, datetime.now(timezone.utc))
    assert recorded is not None and recorded.kind == HARD
    with session_scope(engine) as s:
        mail = s.get(BounceMail, recorded.bounce_id)
        assert (mail.outbox_id, mail.matched_by, mail.kind) == (mine.id, tie, HARD)
    row = _row(engine, mine.id)
    assert (row.status, row.bounce_kind) == ("bounced", HARD) and row.bounce_detail
    assert _row(engine, other.id).status == "sent"
    [entry] = _audit(engine, "mail.bounced")
    assert entry.object_id == "k/mine" and entry.after["tied_by"] == tie

    # The same message read again changes nothing.
    assert record_bounce(engine, settings, raw, reading, datetime.now(timezone.utc)) is None
    assert len(_audit(engine, "mail.bounced")) == 1


async def test_auto_reply_is_no_bounce_and_an_unknown_bounce_is_kept(smtp, engine, settings_for):
    from activities.email import EmailActivities

    settings = _settings(settings_for, smtp)
    acts = EmailActivities(settings, engine)
    mine = await _send(acts, "k/mine", JANE)
    now = datetime.now(timezone.utc)

    ooo = samples.out_of_office(acts.return_path(mine), JANE, mine.message_id)
    reading = read_bounce(ooo, settings.effective_bounce_address)
    assert reading.kind == NOT_A_BOUNCE
    assert record_bounce(engine, settings, ooo, reading, now).kind == NOT_A_BOUNCE
    assert (_row(engine, mine.id).status, _row(engine, mine.id).bounce_kind) == ("sent", None)

    stranger = samples.postfix_dsn(BOUNCE_BOX, "someone@else.test", "<never-sent-by-us@elsewhere.test>")
    reading = read_bounce(stranger, settings.effective_bounce_address)
    recorded = record_bounce(engine, settings, stranger, reading, now)
    assert recorded.kind == HARD and recorded.email is None
    with session_scope(engine) as s:
        kept = s.exec(select(BounceMail).where(BounceMail.outbox_id.is_(None), BounceMail.kind == HARD)).one()
        assert kept.recipients == ["someone@else.test"] and "never-sent-by-us" in kept.raw
    assert [e.object_id for e in _audit(engine, "mail.bounce_unmatched")] == [str(kept.id)]
    assert _row(engine, mine.id).status == "sent"


def test_a_message_no_detector_understands_is_no_bounce_and_no_crash():
    for raw in (b"", b"\x00\xff garbage", b"Content-Type: multipart/report; boundary=x\r\n\r\n--x\r\n",
                b"Subject: hi\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n"):
        assert read_bounce(raw, BOUNCE_BOX).kind == NOT_A_BOUNCE


# --- soft bounces ----------------------------------------------------------------------------------


async def test_soft_bounce_is_retried_then_given_up_as_hard(smtp, engine, settings_for, tmp_path):
    from activities.bounces import BounceActivities
    from activities.email import EmailActivities

    settings = _settings(settings_for, smtp, bounce_maildir=str(tmp_path / "bounces"), bounce_soft_limit=2,
                         bounce_soft_retry_minutes=1)
    acts = EmailActivities(settings, engine)
    bounces = BounceActivities(settings, engine, acts)
    mine = await _send(acts, "k/mine", JANE)
    box = mailbox.Maildir(str(tmp_path / "bounces"), create=True)

    box.add(samples.postfix_mailbox_full(acts.return_path(mine), JANE, mine.message_id))
    first = await bounces.read_bounces()
    assert (first.read, first.soft, first.hard, first.retried) == (1, 1, 0, 0)  # retried in a minute, not now
    row = _row(engine, mine.id)
    assert (row.status, row.bounce_kind, row.soft_bounces) == ("sent", SOFT, 1) and "Mailbox full" in row.bounce_detail
    assert row.retry_at is not None

    with session_scope(engine) as s:  # the minute has passed
        r = s.get(OutboxMessage, mine.id)
        r.retry_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        s.add(r)
    again = await bounces.read_bounces()
    assert again.retried == 1 and len(smtp.to(JANE)) == 2
    resent = smtp.to(JANE)[-1]
    assert resent.message["Message-ID"] == mine.message_id and resent.mail_from == acts.return_path(mine)

    box.add(samples.postfix_mailbox_full(acts.return_path(mine), JANE, mine.message_id).replace(b"11AA2A0123", b"22BB2A0123"))
    last = await bounces.read_bounces()
    assert (last.soft, last.hard) == (0, 1)
    row = _row(engine, mine.id)
    assert (row.status, row.bounce_kind, row.soft_bounces, row.retry_at) == ("bounced", HARD, 2, None)
    assert "2 temporary failures" in row.bounce_detail
    assert [e.after["bounce_kind"] for e in _audit(engine, "mail.bounced")] == [SOFT, HARD]
    assert len(_audit(engine, "mail.retried")) == 1
    assert (await bounces.read_bounces()).read == 0  # every message marked read in the Maildir


# --- a real IMAP server --------------------------------------------------------------------------


@pytest.mark.parametrize("done_folder", ["", "Processed"])
async def test_imap_bounce_mailbox_is_read_once(done_folder, imap_server, smtp, engine, settings_for):  # noqa: F811
    from activities.bounces import BounceActivities
    from activities.email import EmailActivities

    settings = _settings(settings_for, smtp, bounce_imap_done_folder=done_folder, **imap_server.settings())
    acts = EmailActivities(settings, engine)
    jane, ken = await _send(acts, "k/jane", JANE), await _send(acts, "k/ken", KEN)
    gmail = samples.gmail_dsn(acts.return_path(jane), JANE, jane.message_id)
    imap_server.deliver(gmail)
    imap_server.deliver(samples.microsoft365_ndr(BOUNCE_BOX, KEN, ken.message_id))
    imap_server.deliver(samples.out_of_office(acts.return_path(jane), JANE, jane.message_id))
    imap_server.deliver(samples.qmail_bounce(BOUNCE_BOX, "who@else.test", "<unknown@else.test>"))

    found = await BounceActivities(settings, engine, acts).read_bounces()
    assert (found.read, found.hard, found.not_bounces, found.unmatched) == (4, 3, 1, 1)
    assert (_row(engine, jane.id).status, _row(engine, ken.id).status) == ("bounced", "bounced")
    assert imap_server.unseen() == 0
    if done_folder:
        assert (imap_server.count(), imap_server.count(done_folder)) == (0, 4)

    imap_server.deliver(gmail)  # the same bounce delivered twice: counted once
    again = await BounceActivities(settings, engine, acts).read_bounces()
    assert (again.read, again.already_read, again.hard) == (1, 1, 0)
    assert len(_audit(engine, "mail.bounced")) == 2


async def test_an_unreachable_or_refusing_mailbox_is_a_clear_error(imap_server, engine, settings_for):  # noqa: F811
    from temporalio.exceptions import ApplicationError

    from activities.bounces import BounceActivities

    wrong = settings_for(**{**imap_server.settings(), "bounce_imap_password": "wrong"})
    with pytest.raises(ApplicationError, match="refused user 'bounces'"):
        BounceActivities(wrong, engine).read_mailbox()
    closed = settings_for(**{**imap_server.settings(), "bounce_imap_port": 1})
    with pytest.raises(ApplicationError, match="cannot reach the bounce mailbox at 127.0.0.1:1"):
        BounceActivities(closed, engine).read_mailbox()


# --- the pure rules --------------------------------------------------------------------------------


def test_bounce_kind_reads_the_status_codes():
    assert bounce_kind([], ["a@x.test"], ["5.1.1"]) == HARD
    assert bounce_kind([], ["a@x.test"], ["4.2.2"]) == SOFT  # the relay gave up on a full mailbox
    assert bounce_kind([], ["a@x.test"], []) == HARD
    assert bounce_kind(["a@x.test"], [], ["4.4.7"]) == SOFT
    assert bounce_kind([], [], ["5.1.1"]) == NOT_A_BOUNCE


T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


@hsettings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 200))
def test_soft_bounces_give_up_only_at_the_limit_within_the_period(count, limit, hours):
    period = timedelta(hours=72)
    v = after_soft_bounce(soft_bounces=count, first_soft_at=T0, now=T0 + timedelta(hours=hours), limit=limit,
                          period=period, retry_after=timedelta(minutes=30))
    assert v.give_up == (count >= limit and timedelta(hours=hours) <= period)
    assert (v.retry_at is None) == v.give_up


emails = st.sampled_from(["a@x.test", "b@x.test", "c@x.test", "d@x.test", "B@X.test"])


@hsettings(max_examples=300, deadline=None)
@given(st.lists(emails, max_size=5, unique_by=str.lower), st.lists(emails, max_size=4), emails)
def test_the_next_contact_never_is_one_that_bounced(contacts, failed, current):
    options = [ContactOption(email=e) for e in contacts]
    chosen = next_contact(options, failed, current)
    dead = {e.lower() for e in failed} | {current.lower()}
    alive = [c for c in options if c.email.lower() not in dead]
    assert chosen == (alive[0] if alive else None)  # the first left, in the supplier list's order


# --- the embedded stack: the mail catcher keeps the bounce mailbox ------------------------------


async def test_the_catcher_keeps_what_is_sent_to_the_bounce_address_for_the_same_reader(engine, settings_for, tmp_path):
    import aiosmtplib

    from activities.bounces import BounceActivities
    from activities.email import EmailActivities
    from outreach.mailcatcher import list_messages, start_mail_catcher
    from tests.conftest import free_port

    port = free_port()
    settings = settings_for(smtp_port=port, mail_from=MAIL_FROM, bounce_maildir=str(tmp_path / "bounces"))
    server = await start_mail_catcher(tmp_path / "mail", port=port, bounce_address=settings.effective_bounce_address,
                                      bounce_dir=settings.bounce_maildir_path)
    try:
        acts = EmailActivities(settings, engine)
        mine = await _send(acts, "k/mine", JANE)
        # A relay's bounce for it, sent to the message's return path (the envelope recipient).
        await aiosmtplib.send(samples.exim_bounce(acts.return_path(mine), JANE, mine.message_id),
                              sender="mailer-daemon@mx1.hosting.test", recipients=[acts.return_path(mine)], hostname="127.0.0.1", port=port)
        assert len(list_messages(tmp_path / "mail")) == 2  # both kept for the mail page, as every message
        found = await BounceActivities(settings, engine, acts).read_bounces()
    finally:
        server.close()
        await server.wait_closed()
    assert (found.read, found.hard) == (1, 1)  # the request itself never reached the bounce mailbox
    assert (_row(engine, mine.id).status, _row(engine, mine.id).bounce_kind) == ("bounced", HARD)


async def test_the_worker_starts_one_bounce_watch_that_reads_on_a_schedule(dev_env, smtp, engine, settings_for,
                                                                           tmp_path):
    import asyncio

    from temporalio.client import WorkflowExecutionStatus

    from activities.email import EmailActivities
    from worker import build_worker, start_bounce_watch
    from workflows.bounce_watch import WORKFLOW_ID

    settings = _settings(settings_for, smtp, bounce_maildir=str(tmp_path / "bounces"), bounce_poll_seconds=1)
    acts = EmailActivities(settings, engine)
    mine = await _send(acts, "k/mine", JANE)
    handle = dev_env.client.get_workflow_handle(WORKFLOW_ID)
    try:
        async with build_worker(dev_env.client, settings, engine):
            await start_bounce_watch(dev_env.client, settings)
            first_run = (await handle.describe()).run_id
            await start_bounce_watch(dev_env.client, settings)  # a second worker finds it running
            assert (await handle.describe()).run_id == first_run
            mailbox.Maildir(str(tmp_path / "bounces"), create=True).add(
                samples.ses_dsn(acts.return_path(mine), JANE, mine.message_id))
            for _ in range(200):  # the next pass, a second or so later
                if _row(engine, mine.id).status == "bounced":
                    break
                await asyncio.sleep(0.1)
            assert _row(engine, mine.id).bounce_kind == HARD
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    finally:
        await handle.terminate("test finished")


# --- the faces: the compliance team sees every report, an unmatched one stands out ----------------


async def test_the_bounces_page_and_command_show_the_reports(smtp, engine, db_url, settings_for, tmp_path):
    import json as jsonlib

    from typer.testing import CliRunner

    from activities.email import EmailActivities
    from outreach.cli import app
    from tests.web_support import make_web

    settings = _settings(settings_for, smtp, db_url=db_url)
    acts = EmailActivities(settings, engine)
    mine = await _send(acts, "k/mine", JANE)
    now = datetime.now(timezone.utc)
    for raw in (samples.gmail_dsn(acts.return_path(mine), JANE, mine.message_id),
                samples.postfix_dsn(BOUNCE_BOX, "stranger@else.test", "<not-ours@else.test>")):
        record_bounce(engine, settings, raw, read_bounce(raw, BOUNCE_BOX), now)

    web = make_web(settings, engine)
    await web.login()
    page = await web.client.get("/bounces")
    assert page.status_code == 200
    assert "No message the product sent" in page.text and "stranger@else.test" in page.text
    assert f"to {JANE}" in page.text and "tied by return path" in page.text
    only = await web.client.get("/bounces?unmatched=1")
    assert "stranger@else.test" in only.text and f"to {JANE}" not in only.text

    env = {"OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_DATABASE_URL": db_url,
           "OUTREACH_SETTINGS_FILE": str(tmp_path / "none.env")}
    listed = CliRunner().invoke(app, ["bounces", "list", "--unmatched", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = jsonlib.loads(listed.output)
    assert [(r["kind"], r["recipients"], r["unmatched"]) for r in rows] == [("hard", ["stranger@else.test"], True)]
    plain = CliRunner().invoke(app, ["bounces", "list"], env=env)
    assert "NO MESSAGE THE PRODUCT SENT: stranger@else.test" in plain.output and f"mail_check to {JANE}" in plain.output


async def test_the_bounce_mailbox_signs_in_with_oauth_as_microsoft_365_requires(imap_oauth_server, smtp, engine,
                                                                                 settings_for):
    from temporalio.exceptions import ApplicationError

    from activities.bounces import BounceActivities
    from activities.email import EmailActivities
    from tests.imap_server import TokenIssuer

    server, issuer = imap_oauth_server
    oauth = dict(server.settings(), bounce_imap_password="", bounce_imap_oauth_token_url=f"{issuer.url}/token",
                 bounce_imap_oauth_client_id=TokenIssuer.CLIENT, bounce_imap_oauth_client_secret=TokenIssuer.SECRET)
    settings = _settings(settings_for, smtp, **oauth)
    acts = EmailActivities(settings, engine)
    mine = await _send(acts, "k/mine", JANE)
    server.deliver(samples.microsoft365_ndr(acts.return_path(mine), JANE, mine.message_id))
    found = await BounceActivities(settings, engine, acts).read_bounces()
    assert (found.read, found.hard) == (1, 1)
    assert issuer.grants[-1]["grant_type"] == "client_credentials"
    assert issuer.grants[-1]["scope"] == "https://outlook.office365.com/.default"

    wrong = _settings(settings_for, smtp, **{**oauth, "bounce_imap_oauth_client_secret": "expired"})
    with pytest.raises(ApplicationError, match="refused the client 'outreach-bounces': AADSTS7000215"):
        BounceActivities(wrong, engine).read_mailbox()


async def test_recording_holds_on_postgresql_too(any_db_url, smtp, settings_for):
    """The same tie, write and audit entry on SQLite and PostgreSQL; a second copy changes nothing."""
    from activities.email import EmailActivities
    from outreach.db import make_engine

    engine = make_engine(any_db_url)
    try:
        settings = _settings(settings_for, smtp, db_url=any_db_url)
        acts = EmailActivities(settings, engine)
        mine = await _send(acts, "k/mine", JANE)
        now = datetime.now(timezone.utc)
        for raw in (samples.ses_notification(acts.return_path(mine), JANE, mine.message_id),
                    samples.postfix_dsn(BOUNCE_BOX, "x@else.test", "<nope@else.test>")):
            assert record_bounce(engine, settings, raw, read_bounce(raw, BOUNCE_BOX), now) is not None
            assert record_bounce(engine, settings, raw, read_bounce(raw, BOUNCE_BOX), now) is None
        assert (_row(engine, mine.id).status, _row(engine, mine.id).bounce_kind) == ("bounced", HARD)
        assert [len(_audit(engine, a)) for a in ("mail.bounced", "mail.bounce_unmatched")] == [1, 1]
    finally:
        engine.dispose()
