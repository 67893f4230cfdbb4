"""Outages are seen: a mail outage and an activity that keeps failing degrade /healthz, put a banner on the
dashboard and list what waits on the campaign page; both clear once things work again. With the real worker
on the time-skipping server, a real SMTP server that is stopped and started, and the real web app."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from models.policy import CampaignPolicy
from models.tables import ActivityFailure, OutboxMessage
from outreach.db import session_scope
from tests.survey_harness import SUPPLIER, rig, running  # noqa: F401 (fixture)
from tests.web_support import make_web

D = timedelta(days=1)
POLICY = CampaignPolicy(reminder_offsets=[10 * D, 20 * D], response_due=30 * D)


def pending(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")))


def backdate_outbox(engine, minutes: int) -> None:
    """The time-skipping server moves the workflows' clock, not the wall clock the outbox stamps: age the
    waiting rows as the hours skipped would have."""
    with session_scope(engine) as s:
        for row in s.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")):
            row.created_at = row.created_at - timedelta(minutes=minutes)
            s.add(row)


async def until(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


async def test_mail_outage_degrades_healthz_shows_the_banner_and_the_campaign_list_then_recovers(rig, caplog):  # noqa: F811
    caplog.set_level(logging.INFO)
    web = make_web(rig.settings, rig.engine)
    rig.smtp.stop()
    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(hours=2)
        [row] = pending(rig.engine)
        assert row.template == "request" and row.attempts >= 10 and row.campaign_id == rig.campaign_id

        # Just failed, not yet past the threshold (15 minutes of wall clock): not an outage yet.
        r = await web.client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert (await web.client.get("/livez")).status_code == 200

        backdate_outbox(rig.engine, 20)
        r = await web.client.get("/healthz")
        body = r.json()
        assert r.status_code == 503 and body["status"] == "degraded" and body["undelivered"] == 1
        assert body["mail"].startswith("1 message undelivered, oldest since ")
        assert "request to supplier@acme.test" in body["mail"] and "Connect call failed" in body["mail"]
        assert (await web.client.get("/livez")).status_code == 200  # the app itself is fine

        await web.login()
        home = (await web.client.get("/")).text
        assert 'role="alert"' in home and "1 message undelivered" in home
        assert "supplier@acme.test" in home and "Connect call failed" in home and "S-100" in home
        page = (await web.client.get(f"/campaigns/{rig.campaign_id}")).text
        waiting = page.split('id="waiting"')[1].split("</section>")[0]
        assert "supplier@acme.test" in waiting and "Request" in waiting and "S-100" in waiting
        assert "Connect call failed" in waiting and "No longer retried" not in waiting
        assert (await web.client.get("/campaigns/other-campaign")).status_code == 404

        rig.smtp.start()
        await rig.skip(minutes=11)
        await rig.smtp.wait_for(1)
        await until(lambda: not pending(rig.engine))
        r = await web.client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        home = (await web.client.get("/")).text
        assert 'role="alert"' not in home and "undelivered" not in home
        page = (await web.client.get(f"/campaigns/{rig.campaign_id}")).text
        assert "Every message of this campaign has been delivered." in page
        await h.terminate("test finished")
    # One line per failed attempt, no traceback: neither ours nor the SDK's.
    mail_lines = [r for r in caplog.records if r.name == "outreach.mail"]
    assert len(mail_lines) >= 10 and all(r.exc_info is None for r in mail_lines)
    assert all("send_email" not in r.getMessage() for r in caplog.records if r.exc_info)
    assert not [r for r in caplog.records if r.name == "temporalio.activity" and r.levelno >= logging.WARNING]
    await web.client.aclose()


async def test_an_activity_that_keeps_failing_is_recorded_shown_and_cleared(rig, caplog):  # noqa: F811
    """The read model's table is gone for a while: the survey's first write fails, from the third attempt on
    it is recorded (which activity, which survey, attempts, the error) and shown; once the table is back the
    write succeeds and the record is cleared. The log holds one traceback, then one line per retry."""
    caplog.set_level(logging.INFO)
    web = make_web(rig.settings, rig.engine)
    with rig.engine.begin() as conn:
        conn.execute(text("ALTER TABLE survey_event RENAME TO survey_event_away"))
    try:
        async with running(rig):
            h = await rig.start(POLICY)

            def failures():
                with Session(rig.engine) as s:
                    return list(s.exec(select(ActivityFailure)))

            [f] = await until(failures)
            assert f.activity == "record_survey_event" and f.workflow_id == h.id and f.campaign_id == rig.campaign_id
            assert f.attempts >= 3 and "survey_event" in f.last_error and "OperationalError" in f.last_error
            r = await web.client.get("/healthz")
            body = r.json()
            assert r.status_code == 503 and body["failing_activities"] == 1 and "mail" not in body
            assert body["activities"].startswith(f"record_survey_event failing for {h.id} since ")
            await web.login()
            home = (await web.client.get("/")).text
            assert 'role="alert"' in home and "record_survey_event" in home and h.id in home
            page = (await web.client.get(f"/campaigns/{rig.campaign_id}")).text
            assert "Steps that keep failing" in page and "record_survey_event" in page

            with rig.engine.begin() as conn:
                conn.execute(text("ALTER TABLE survey_event_away RENAME TO survey_event"))
            await until(lambda: not failures(), timeout=30)
            await rig.smtp.wait_for(1)  # the survey carried on: its request went out
            r = await web.client.get("/healthz")
            assert r.status_code == 200 and r.json() == {"status": "ok"}
            assert 'role="alert"' not in (await web.client.get("/")).text
            await h.terminate("test finished")
    finally:
        with rig.engine.begin() as conn:
            names = {n for (n,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
            if "survey_event_away" in names:
                conn.execute(text("ALTER TABLE survey_event_away RENAME TO survey_event"))
    tracebacks = [r for r in caplog.records if r.exc_info and "record_survey_event" in r.getMessage()]
    again = [r for r in caplog.records if r.name == "outreach.activities" and "failed again" in r.getMessage()]
    assert len(tracebacks) == 1 and len(again) >= 2 and all(r.exc_info is None for r in again)
    await web.client.aclose()


def test_health_counts_only_messages_still_retried_past_the_threshold(engine, settings_for):
    from outreach.health import check, waiting_messages

    settings = settings_for(health_mail_waiting_minutes=15)
    now = datetime.now(timezone.utc)

    def msg(key, created_min, last_min, status="pending"):
        return OutboxMessage(idempotency_key=key, template="reminder", to_addr=f"{key.split('/')[2]}@x.test",
                             subject="s", body_text="b", message_id=f"<{key}>", status=status, attempts=4,
                             last_error="451 try later", campaign_id=key.split("/")[1],
                             created_at=now - timedelta(minutes=created_min),
                             last_attempt_at=now - timedelta(minutes=last_min))

    with session_scope(engine) as s:
        s.add(msg("survey/c1/S-1/reminder/r0/n1", 40, 5))     # an outage: counted, the oldest
        s.add(msg("survey/c1/S-2/reminder/r0/n1", 20, 2))     # counted
        s.add(msg("survey/c1/S-3/reminder/r0/n1", 5, 1))      # too recent to be an outage
        s.add(msg("survey/c1/S-4/reminder/r0/n1", 600, 300))  # no longer retried: listed, not counted
        s.add(msg("survey/c2/S-5/reminder/r0/n1", 90, 1, status="sent"))
    health = check(engine, settings, now)
    assert health.degraded and health.undelivered == 2 and health.oldest.supplier_id == "S-1"
    assert health.as_json()["mail"].startswith("2 messages undelivered, oldest since ")
    listed = waiting_messages(engine, "c1")
    assert [m.supplier_id for m in listed] == ["S-4", "S-1", "S-2", "S-3"]
    assert [m.still_retried for m in listed] == [False, True, True, True]
    assert waiting_messages(engine, "c2") == []
    with session_scope(engine) as s:
        s.exec(update(OutboxMessage).values(status="sent"))
    assert not check(engine, settings, now).degraded


@pytest.mark.parametrize("key, campaign, survey", [
    ("survey/cmrt-2026/S-1/request/r0/n0", "cmrt-2026", "survey/cmrt-2026/S-1"),
    ("survey/cmrt-2026/S-1/cap/2/cap_request/n0", "cmrt-2026", "survey/cmrt-2026/S-1"),
    ("campaign/cmrt-2026/summary/closed", "cmrt-2026", None),
    ("mail-check/abc", None, None),
])
def test_the_campaign_and_survey_of_an_idempotency_key(key, campaign, survey):
    assert OutboxMessage.campaign_of_key(key) == campaign
    assert OutboxMessage.survey_of_key(key) == survey
