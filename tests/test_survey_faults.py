"""Faults: SMTP down for hours, a worker killed mid-survey, duplicate submissions, unreadable workbooks,
bounces, refused actions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from cmrt.builder import invalid_cmrt, valid_cmrt
from models.enums import SurveyOutcome, SurveyState
from models.policy import CampaignPolicy
from models.survey import ReplaceContact, SubmitCmrt, Withdraw
from models.tables import Finding, OutboxMessage, Submission
from outreach.db import session_scope
from tests.survey_harness import COMPLIANCE, SUPPLIER, dev_rig, rig, running  # noqa: F401 (fixtures)

D = timedelta(days=1)
POLICY = CampaignPolicy(reminder_offsets=[10 * D, 20 * D], response_due=30 * D, chase_reminder_every=5 * D,
                        grace_period=12 * D, correction_window=15 * D, correction_reminder_offsets=[4 * D, 9 * D],
                        max_correction_rounds=2, vp_reminder_every=3 * D, vp_max_reminders=1)



def outbox(rig) -> list[OutboxMessage]:
    with session_scope(rig.engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_smtp_down_for_hours_then_back_delivers_each_email_once(rig):
    from workflows.survey import SupplierSurveyWorkflow

    rig.smtp.stop()
    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(hours=6)  # the request is retried with backoff while the server is down
        assert rig.smtp.messages == []
        rows = outbox(rig)
        assert [r.template for r in rows] == ["request"] and rows[0].status == "pending" and rows[0].attempts >= 3
        rig.smtp.start()
        await rig.skip(minutes=15)  # the next retry (at most 10 minutes apart) gets through
        await rig.smtp.wait_for(1)
        await rig.skip(days=12)  # the first reminder, with the server up
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert v.state == SurveyState.closed
        await h.result()
    assert rig.templates(SUPPLIER) == ["request", "reminder", "accepted"]
    assert [(r.template, r.status) for r in outbox(rig)] == [("request", "sent"), ("reminder", "sent"), ("accepted", "sent")]


H = timedelta(hours=1)
# A policy in hours, so that a day-long outage passes the first reminder, the due date and the escalation as
# the survey's clock ran before it counted from delivery.
HOURLY = CampaignPolicy(reminder_offsets=[6 * H, 12 * H], response_due=18 * H, chase_reminder_every=3 * H,
                        grace_period=6 * H)


async def test_long_smtp_outage_the_clock_starts_when_the_request_is_delivered(rig):
    """30 hours without mail (past the first-attempt clock's reminders, due date and escalation): the request
    is retried, continues as new on the way, and nothing else is sent meanwhile. Once mail is back the request
    arrives first, stating the due date counted from its delivery, and the first reminder only at the
    policy's offset after delivery; every message once."""
    from workflows.survey import SupplierSurveyWorkflow

    rig.smtp.stop()
    async with running(rig):
        h = await rig.start(HOURLY, continue_as_new_at_events=300)
        t0 = await rig.now()
        await rig.skip(hours=30)
        assert rig.smtp.messages == []
        rows = outbox(rig)
        assert [(r.template, r.status) for r in rows] == [("request", "pending")]
        assert rows[0].attempts >= 150 and "Connect call failed" in rows[0].last_error
        assert rows[0].campaign_id == rig.campaign_id
        assert (await h.describe()).run_id != h.first_execution_run_id  # continued as new while undelivered
        assert [e.kind for e in rig.events(h.id)] == ["survey_started"]  # no reminder, chase or escalation

        rig.smtp.start()
        await rig.skip(minutes=11)  # the next attempt (at most 10 minutes after the last) gets through
        await rig.smtp.wait_for(1)
        st = await h.query(SupplierSurveyWorkflow.status)
        delivered = st.requested_at
        assert delivered >= t0 + 30 * H and st.state == SurveyState.awaiting_response
        assert st.due_at == delivered + HOURLY.response_due
        request = rig.smtp.to(SUPPLIER)[0]
        assert request.template == "request" and f"by {st.due_at.strftime('%d %B %Y')}" in request.text

        await rig.skip(seconds=(delivered + 6 * H - await rig.now()).total_seconds() - 600)
        assert rig.templates(SUPPLIER) == ["request"]  # ten minutes before the first reminder: only the request
        await rig.skip(minutes=20)
        await rig.smtp.wait_for(2)
        assert rig.templates(SUPPLIER) == ["request", "reminder"]
        assert rig.templates(COMPLIANCE) == [] and rig.templates("buyer.cm@company.test") == []
        reminder_at = next(e.at for e in rig.events(h.id) if e.kind == "reminder_sent")
        assert reminder_at - delivered >= HOURLY.reminder_offsets[0]

        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert v.state == SurveyState.closed
        await h.result()
    assert rig.templates(SUPPLIER) == ["request", "reminder", "accepted"]
    assert [(r.template, r.status) for r in outbox(rig)] == [("request", "sent"), ("reminder", "sent"), ("accepted", "sent")]
    assert len({m.message["Message-ID"] for m in rig.smtp.messages}) == len(rig.smtp.messages) == 3
    # The workflow's own retries (timers, one-attempt local activities, continue-as-new) replay.
    from tests.test_replay import replayer

    for run_id in {h.first_execution_run_id, (await h.describe()).run_id}:
        history = await rig.client.get_workflow_handle(h.id, run_id=run_id).fetch_history()
        assert (await replayer().replay_workflow(history)).replay_failure is None


async def test_worker_killed_mid_survey_no_duplicate_email_no_lost_submission(dev_rig):
    """On the dev server, in real seconds: the time-skipping server cannot move its clock while a task waits
    for a dead worker's sticky queue, which is exactly the situation this test is about."""
    from workflows.survey import SupplierSurveyWorkflow

    rig = dev_rig
    s = timedelta(seconds=1)
    policy = CampaignPolicy(reminder_offsets=[2 * s, 5 * s], response_due=600 * s, correction_window=600 * s,
                            correction_reminder_offsets=[300 * s])
    async with rig.worker(sticky_seconds=0.5):
        h = await rig.start(policy, search_attributes=True)
        await rig.smtp.wait_for(2)  # request and first reminder
    # The worker is gone (its cache with it) while the second reminder falls due.
    await asyncio.sleep(4)
    assert rig.templates(SUPPLIER) == ["request", "reminder"]
    async with rig.worker(sticky_seconds=0.5):  # a new worker replays the history and carries on
        await rig.smtp.wait_for(3)
        sha = rig.store(invalid_cmrt())
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha), id="portal-upload-1")
        assert v.state == SurveyState.correction_requested
        await rig.smtp.wait_for(4)
    await asyncio.sleep(1)
    async with running(rig):  # killed again right after the submission: nothing is lost
        st = await h.query(SupplierSurveyWorkflow.status)
        assert [x.file_sha256 for x in st.submissions] == [sha]
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert v.state == SurveyState.closed
        assert (await h.result()).outcome == SurveyOutcome.valid
        # The search attributes are published on a server that has them registered.
        from models.search_attributes import CAMPAIGN, OUTCOME, STATE

        attrs = (await h.describe()).typed_search_attributes
        assert (attrs.get(CAMPAIGN), attrs.get(STATE), attrs.get(OUTCOME)) == (rig.campaign_id, "closed", "valid")
    assert rig.templates(SUPPLIER) == ["request", "reminder", "reminder", "correction_request", "accepted"]
    with session_scope(rig.engine) as session:
        assert len(session.exec(select(Submission)).all()) == 2


async def test_same_submission_delivered_twice_changes_nothing_even_across_continue_as_new(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        # Continue-as-new as soon as the history passes 30 events (a few steps) to prove the carried state.
        h = await rig.start(POLICY, continue_as_new_at_events=30)
        first_run = (await h.describe()).run_id
        await rig.skip(hours=1)
        sha = rig.store(invalid_cmrt())
        v1 = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha), id="upload-42")
        v2 = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha), id="upload-42")
        assert v1 == v2 and v1.correction_round == 1
        # The same file again under another update ID (an email channel re-delivery): the same submission.
        v3 = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha, channel="email"))
        assert v3.submission_id == v1.submission_id and v3.correction_round == 1
        await rig.skip(days=5)  # a correction reminder: the history grows past the threshold
        desc = await rig.client.get_workflow_handle(h.id).describe()
        assert desc.run_id != first_run  # continued as new
        v4 = await rig.client.get_workflow_handle(h.id).execute_update(
            SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=sha), id="upload-42")
        assert v4.submission_id == v1.submission_id and v4.correction_round == 1
        st = await rig.client.get_workflow_handle(h.id).query(SupplierSurveyWorkflow.status)
        assert len(st.submissions) == 1 and st.state == SurveyState.correction_requested
        assert [e.kind for e in st.timeline].count("submission_received") == 1
        await rig.client.get_workflow_handle(h.id).execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        result = await h.result()  # follows the continue-as-new chain
    assert result.outcome == SurveyOutcome.withdrawn
    # One correction request and one reminder, each once, across both runs.
    assert rig.templates(SUPPLIER) == ["request", "correction_request", "correction_reminder", "withdrawn"]
    with session_scope(rig.engine) as s:
        assert len(s.exec(select(Submission)).all()) == 1


async def test_unreadable_workbook_is_a_finding_not_a_stuck_workflow(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(hours=1)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(b"%PDF-1.4 this is not a workbook", "cmrt.pdf"), filename="cmrt.pdf"))
        assert v.verdict == "unreadable" and v.findings and not v.accepted
        assert v.state == SurveyState.correction_requested
        # A file the store never received (a bad reference) is a finding too.
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256="0" * 64))
        assert v.verdict == "unreadable" and v.findings[0].code == "file_not_found"
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert v.verdict == "valid"
        assert (await h.result()).outcome == SurveyOutcome.valid
    assert rig.templates(SUPPLIER) == ["request", "correction_request", "correction_request", "accepted"]
    with session_scope(rig.engine) as s:
        codes = [f.code for f in s.exec(select(Finding).where(Finding.submission_id == f"{h.id}/submission/1"))]
        assert codes and s.get(Submission, f"{h.id}/submission/1").verdict == "unreadable"


async def test_bounce_pauses_the_contact_tells_compliance_and_resumes_with_a_new_contact(rig):
    from workflows.survey import SupplierSurveyWorkflow

    rig.smtp.refuse.add(SUPPLIER)
    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(days=40)  # bounced at once: no reminders, no chase while the contact is missing
        st = await h.query(SupplierSurveyWorkflow.status)
        assert (st.bounced, st.state, st.next_step) == (True, SurveyState.awaiting_response, "waiting for a new contact")
        assert rig.templates(COMPLIANCE) == ["bounce_notice"]
        assert "supplier@acme.test" in rig.smtp.to(COMPLIANCE)[0].text
        with pytest.raises(WorkflowUpdateFailedError):  # refused: nobody to remind
            from models.survey import ComplianceAction

            await h.execute_update(SupplierSurveyWorkflow.remind_now, ComplianceAction(by="ana"))
        await h.execute_update(SupplierSurveyWorkflow.replace_contact, ReplaceContact(
            email="new.contact@acme.test", name="Ken Sato", by="ana", reason="Jane left the company"))
        await rig.smtp.wait_for(2)
        assert rig.templates("new.contact@acme.test") == ["request"]
        await rig.skip(days=11)  # the clock resumed where it stopped: the first reminder 10 days on
        assert rig.templates("new.contact@acme.test") == ["request", "reminder"]
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    assert rig.templates(SUPPLIER) == []
    kinds = [e.kind for e in rig.events(h.id)]
    assert kinds[:4] == ["survey_started", "contact_bounced", "request_sent", "contact_replaced"]


async def test_refused_actions_name_the_reason(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(POLICY)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
                file_sha256=rig.store(valid_cmrt()), purpose="product_level"))
        assert "no product-level CMRT is requested" in str(err.value.cause)
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierSurveyWorkflow.resume_reminders, __import__("models.survey").survey.ComplianceAction(by="ana"))
        assert "not paused" in str(err.value.cause)
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
        # The survey keeps answering after a refused Update: nothing was poisoned.
        assert (await h.query(SupplierSurveyWorkflow.status)).outcome == SurveyOutcome.withdrawn
