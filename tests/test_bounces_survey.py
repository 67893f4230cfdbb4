"""A bounce from a real relay, end to end: the survey's request is delivered (accepted by SMTP), minutes later
the relay's DSN lands in the bounce mailbox (a real IMAP server, dovecot), the bounce watch reads it, and
the survey pauses as bounced, falls back to the supplier's second contact (who gets the request) and tells
the compliance team which address failed and which one is used now. With no other contact, it stays paused.
The supplier's API page shows it all. Real Temporal (time-skipping), real SMTP, real SQLite."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from models.policy import CampaignPolicy
from models.tables import AuditEntry, OutboxMessage, SupplierContact, Survey
from outreach.db import session_scope
from tests import bounce_samples as samples
from tests.imap_server import imap_server  # noqa: F401 (fixture)
from tests.survey_harness import COMPLIANCE, SUPPLIER, SurveyRig, running

D = timedelta(days=1)
POLICY = CampaignPolicy(reminder_offsets=[10 * D, 20 * D], response_due=30 * D, chase_reminder_every=5 * D,
                        grace_period=12 * D, correction_window=15 * D, correction_reminder_offsets=[4 * D, 9 * D],
                        max_correction_rounds=2, vp_reminder_every=3 * D, vp_max_reminders=1)
KEN = "ken.sato@acme.test"


def _request_to(engine, address: str) -> OutboxMessage:
    with session_scope(engine) as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.to_addr == address,
                                                  OutboxMessage.template == "request")).one()


async def _read_bounces(rig) -> object:
    from workflows.bounce_watch import BounceWatchInput, BounceWatchWorkflow

    # Real time while the mailbox is read: the survey's clock does not jump to its next reminder meanwhile.
    with rig.env.auto_time_skipping_disabled():
        return await rig.client.execute_workflow(BounceWatchWorkflow.run, BounceWatchInput(once=True),
                                                 id=f"bounce-watch-{uuid.uuid4().hex[:8]}",
                                                 task_queue=rig.settings.task_queue)


async def _until(check, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check()


async def test_a_relay_bounce_falls_back_to_the_next_contact_then_pauses(ts_env, smtp, engine, db_url, settings_for,
                                                                          imap_server):  # noqa: F811
    from activities.email import EmailActivities
    from workflows.survey import SupplierSurveyWorkflow

    settings = settings_for(smtp_port=smtp.port, db_url=db_url, mail_from="Minerals <minerals@company.test>",
                            **imap_server.settings())
    rig = SurveyRig(ts_env, smtp, engine, settings)
    with session_scope(engine) as s:
        s.add(SupplierContact(supplier_id="S-100", email=SUPPLIER, name="Jane Doe", is_primary=True))
        s.add(SupplierContact(supplier_id="S-100", email=KEN, name="Ken Sato", language="ja", is_primary=False))
    verp = EmailActivities(settings, engine).return_path
    try:
        async with running(rig):
            h = await rig.start(POLICY)
            await smtp.wait_for(1)  # the relay took the request: SMTP said yes
            request = _request_to(engine, SUPPLIER)
            assert smtp.messages[0].mail_from == verp(request)

            # Minutes later the relay's DSN reaches the bounce mailbox.
            imap_server.deliver(samples.microsoft365_ndr(verp(request), SUPPLIER, request.message_id))
            # A pass records it and stops before telling the survey (the worker died): the next pass tells it.
            from activities.bounces import BounceActivities

            recorded = await BounceActivities(settings, engine).read_bounces()
            assert (recorded.hard, [b.survey_id for b in recorded.surveys]) == (1, [h.id])
            assert not (await h.query(SupplierSurveyWorkflow.status)).bounced
            found = await _read_bounces(rig)
            assert (found.read, [b.survey_id for b in found.surveys]) == (0, [h.id])
            await _until(lambda: rig.templates(KEN) == ["request"])
            st = await h.query(SupplierSurveyWorkflow.status)
            assert (st.contact.email, st.contact.language, st.bounced) == (KEN, "ja", False)
            [notice] = smtp.to(COMPLIANCE)
            assert notice.template == "bounce_notice"
            assert SUPPLIER in notice.subject and KEN in notice.subject
            assert "RESOLVER.ADR.RecipientNotFound" in notice.text and f"{KEN} (Ken Sato) is now" in notice.text
            kinds = [e.kind for e in rig.events(h.id)]
            assert kinds[-2:] == ["contact_bounced", "contact_fallback"]

            # Reading the mailbox again changes nothing (the survey is not told twice).
            again = await _read_bounces(rig)
            assert (again.read, again.surveys) == (0, [])

            # The second contact's address bounces too: nobody is left, the survey waits for a new contact.
            second = _request_to(engine, KEN)
            imap_server.deliver(samples.gmail_dsn(verp(second), KEN, second.message_id))
            assert (await _read_bounces(rig)).hard == 1
            await _until(lambda: len(smtp.to(COMPLIANCE)) == 2)
            st = await h.query(SupplierSurveyWorkflow.status)
            assert (st.contact.email, st.bounced, st.next_step) == (KEN, True, "waiting for a new contact")
            last = smtp.to(COMPLIANCE)[-1]
            assert KEN in last.text and "paused" in last.text and "is now the survey's contact" not in last.text
            await rig.skip(days=15)  # paused: no reminder to a dead address
            assert rig.templates(SUPPLIER) == ["request"] and rig.templates(KEN) == ["request"]
    finally:
        await rig.terminate_leftovers()

    with session_scope(engine) as s:
        survey = s.get(Survey, h.id)
        assert (survey.contact_email, survey.contact_bounced) == (KEN, True)
        primary = s.exec(select(SupplierContact).where(SupplierContact.supplier_id == "S-100",
                                                       SupplierContact.is_primary)).one()
        assert primary.email == KEN  # the supplier list's next campaign starts with the contact that was used
        actions = [a.action for a in s.exec(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions.count("mail.bounced") == 2 and "survey.contact_fallback" in actions

    from tests.web_support import make_web

    web = make_web(settings, engine)
    r = await web.client.get(f"/api/v1/surveys/{h.id}", headers={"Authorization": f"Bearer {web.api_token()}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["contact_bounced"] is True
    bounced = [(m["to"], m["bounce"]) for m in body["emails"] if m["status"] == "bounced"]
    assert bounced == [(SUPPLIER, "hard"), (KEN, "hard")]
    assert [e["kind"] for e in body["events"]].count("contact_fallback") == 1
    await web.login()
    page = (await web.client.get("/suppliers/S-100")).text
    assert "Contact bounced" in page and "Bounced, reported by the relay: 550 5.1.10 RESOLVER.ADR.RecipientNotFound" in page


async def test_a_bounce_for_an_old_contact_changes_nothing(ts_env, smtp, engine, db_url, settings_for,
                                                          imap_server):  # noqa: F811
    """The compliance team replaced the contact before the relay's DSN arrived: the survey goes on."""
    from activities.email import EmailActivities
    from models.survey import ReplaceContact
    from workflows.survey import SupplierSurveyWorkflow

    settings = settings_for(smtp_port=smtp.port, db_url=db_url, **imap_server.settings())
    rig = SurveyRig(ts_env, smtp, engine, settings)
    verp = EmailActivities(settings, engine).return_path
    try:
        async with running(rig):
            h = await rig.start(POLICY)
            await smtp.wait_for(1)
            request = _request_to(engine, SUPPLIER)
            await h.execute_update(SupplierSurveyWorkflow.replace_contact, ReplaceContact(
                email=KEN, name="Ken Sato", by="ana", reason="Jane left"))
            await _until(lambda: rig.templates(KEN) == ["request"])
            imap_server.deliver(samples.exim_bounce(verp(request), SUPPLIER, request.message_id))
            assert (await _read_bounces(rig)).hard == 1
            await asyncio.sleep(1)
            st = await h.query(SupplierSurveyWorkflow.status)
            assert (st.contact.email, st.bounced) == (KEN, False)
            assert smtp.to(COMPLIANCE) == []
            assert "contact_bounced" not in [e.kind for e in rig.events(h.id)]
    finally:
        await rig.terminate_leftovers()
    with session_scope(engine) as s:
        assert s.exec(select(OutboxMessage).where(OutboxMessage.id == request.id)).one().status == "bounced"


@pytest.mark.parametrize("bounced", [True, False])
async def test_a_bounce_of_the_plans_message_pauses_the_plan_too(bounced, ts_env, smtp, engine, db_url, settings_for,
                                                                 imap_server):  # noqa: F811
    """In corrective action, without another contact: the survey pauses as bounced and the open plan stops
    writing to the dead address: the plan's reminder, which the same plan without a bounce sends in the same
    week, does not go out."""
    from activities.email import EmailActivities
    from cmrt.builder import high_risk_cmrt
    from models.enums import SurveyState
    from models.survey import SubmitCmrt
    from tests.survey_scenarios import SHORT
    from workflows.survey import SupplierSurveyWorkflow

    settings = settings_for(smtp_port=smtp.port, db_url=db_url, **imap_server.settings())
    rig = SurveyRig(ts_env, smtp, engine, settings)
    verp = EmailActivities(settings, engine).return_path
    try:
        async with running(rig):
            h = await rig.start(SHORT)
            await rig.skip(hours=2)
            await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
            await rig.skip(days=11)  # no product-level file within its window: the plan
            await _until(lambda: "cap_request" in rig.templates(SUPPLIER))
            assert (await h.query(SupplierSurveyWorkflow.status)).state == SurveyState.corrective_action
            if bounced:
                with session_scope(engine) as s:
                    cap = s.exec(select(OutboxMessage).where(OutboxMessage.template == "cap_request")).one()
                imap_server.deliver(samples.postfix_dsn(verp(cap), SUPPLIER, cap.message_id))
                assert (await _read_bounces(rig)).hard == 1
                await _until(lambda: smtp.templates_to(COMPLIANCE).count("bounce_notice") == 1)
                assert (await h.query(SupplierSurveyWorkflow.status)).bounced
            await rig.skip(days=8)  # the plan's reminder falls 3 days before its due date (10 days)
            plan_mail = [t for t in rig.templates(SUPPLIER) if t.startswith("cap_") and t != "cap_request"]
            assert plan_mail == ([] if bounced else ["cap_reminder"])
    finally:
        await rig.terminate_leftovers()


async def test_a_bounce_for_a_closed_survey_is_recorded_and_the_watch_goes_on(ts_env, smtp, engine, db_url,
                                                                              settings_for, imap_server):  # noqa: F811
    from activities.email import EmailActivities
    from models.survey import Withdraw
    from workflows.survey import SupplierSurveyWorkflow

    settings = settings_for(smtp_port=smtp.port, db_url=db_url, **imap_server.settings())
    rig = SurveyRig(ts_env, smtp, engine, settings)
    verp = EmailActivities(settings, engine).return_path
    try:
        async with running(rig):
            h = await rig.start(POLICY)
            await smtp.wait_for(1)
            request = _request_to(engine, SUPPLIER)
            await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="out of scope"))
            await h.result()
            imap_server.deliver(samples.qmail_bounce(verp(request), SUPPLIER, request.message_id))
            found = await _read_bounces(rig)  # the survey cannot be told: the watch finishes all the same
            assert (found.hard, [b.survey_id for b in found.surveys]) == (1, [h.id])
    finally:
        await rig.terminate_leftovers()
    with session_scope(engine) as s:
        assert s.get(OutboxMessage, request.id).status == "bounced"
