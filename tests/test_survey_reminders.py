"""Reminders: exact counts and times for a given policy, none after a submission, none while paused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from cmrt.builder import invalid_cmrt, valid_cmrt
from models.enums import SurveyOutcome, SurveyState
from models.policy import CampaignPolicy
from models.survey import ComplianceAction, ExtendDeadline, SubmitCmrt, Withdraw
from tests.survey_harness import CM, SUPPLIER, rig, running  # noqa: F401 (rig is a fixture)

D = timedelta(days=1)
POLICY = CampaignPolicy(
    reminder_offsets=[10 * D, 20 * D], response_due=30 * D, chase_reminder_every=5 * D, grace_period=12 * D,
    correction_window=15 * D, correction_reminder_offsets=[4 * D, 9 * D], max_correction_rounds=2,
    vp_reminder_every=3 * D, vp_max_reminders=1,
)



def offsets(rig, survey_id, *kinds):
    """Days from the request to each event of these kinds."""
    events = rig.events(survey_id)
    start = next(e.at for e in events if e.kind == "request_sent")
    # Events are written once the step's email went out: a few milliseconds of worker time after the timer.
    return [round((e.at - start) / D, 3) for e in events if e.kind in kinds]


async def test_reminder_times_follow_the_policy_exactly(rig):
    async with running(rig):
        h = await rig.start(POLICY)
        result = await h.result()
    assert result.outcome == SurveyOutcome.non_responsive
    assert offsets(rig, h.id, "reminder_sent") == [10, 20]
    assert offsets(rig, h.id, "due_date_passed") == [30]
    # Past due: every 5 days while under the 12-day grace period (35, 40), then the escalation at 42.
    assert offsets(rig, h.id, "overdue_reminder_sent") == [35, 40]
    assert offsets(rig, h.id, "escalated") == [42]
    # The VP: one reminder 3 days later, then it lapses 3 days after that.
    assert offsets(rig, h.id, "escalation_lapsed") == [48]
    assert rig.templates(SUPPLIER) == ["request", "reminder", "reminder", "overdue_reminder", "overdue_reminder"]
    assert rig.templates(CM) == ["due_date_chase", "escalation_notice"]
    # The caught messages carry the same step in their idempotency-derived Message-IDs: all distinct.
    assert len({m.message["Message-ID"] for m in rig.smtp.messages}) == len(rig.smtp.messages)


async def test_no_reminder_after_a_submission_and_correction_reminders_in_the_window(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(days=12)  # one reminder out (day 10)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(invalid_cmrt())))
        assert v.state == SurveyState.correction_requested
        await rig.skip(days=10)  # correction reminders at +4 and +9 days; no survey reminder at day 20
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.next_step == "correction window ends: escalation"
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert v.state == SurveyState.closed
        await h.result()
    assert rig.templates(SUPPLIER) == ["request", "reminder", "correction_request", "correction_reminder",
                                       "correction_reminder", "accepted"]
    assert offsets(rig, h.id, "correction_reminder_sent") == [16, 21]
    assert rig.templates(CM) == []


async def test_no_reminder_while_paused_and_the_schedule_shifts_on_resume(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(days=5)
        await h.execute_update(SupplierSurveyWorkflow.pause_reminders, ComplianceAction(by="ana", reason="plant shutdown"))
        with pytest.raises(WorkflowUpdateFailedError):  # refused: already paused
            await h.execute_update(SupplierSurveyWorkflow.pause_reminders, ComplianceAction(by="ana"))
        await rig.skip(days=60)  # far past the due date: nothing happens while paused
        st = await h.query(SupplierSurveyWorkflow.status)
        assert (st.state, st.paused, st.next_step) == (SurveyState.awaiting_response, True, "reminders paused")
        assert rig.templates(SUPPLIER) == ["request"]
        await h.execute_update(SupplierSurveyWorkflow.resume_reminders, ComplianceAction(by="ana"))
        st = await h.query(SupplierSurveyWorkflow.status)
        # Paused 60 days on day 5: the first reminder (day 10) now falls on day 70, the due date on day 90.
        assert st.next_step == "reminder 1" and round((st.next_step_at - st.requested_at) / D, 3) == 70
        assert round((st.due_at - st.requested_at) / D, 3) == 90
        await rig.skip(days=6)
        assert rig.templates(SUPPLIER) == ["request", "reminder"]
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    assert offsets(rig, h.id, "reminder_sent") == [70]
    kinds = [e.kind for e in rig.events(h.id)]
    assert kinds.index("reminders_paused") < kinds.index("reminders_resumed") < kinds.index("reminder_sent")


async def test_remind_now_and_extend_deadline(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(POLICY)
        await rig.skip(days=2)
        ack = await h.execute_update(SupplierSurveyWorkflow.remind_now, ComplianceAction(by="ana"))
        assert "reminder" in ack.message
        await rig.skip(hours=1)
        assert rig.templates(SUPPLIER) == ["request", "reminder"]
        now = await rig.now()
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierSurveyWorkflow.extend_deadline,
                                   ExtendDeadline(new_due_at=now - 1 * D, by="ana"))
        assert "later than the current one" in str(err.value.cause)
        st = await h.query(SupplierSurveyWorkflow.status)
        await h.execute_update(SupplierSurveyWorkflow.extend_deadline,
                               ExtendDeadline(new_due_at=st.due_at + 20 * D, by="ana", reason="new ERP"))
        await rig.skip(days=40)  # the old due date (day 30) passes without a chase
        assert rig.templates(CM) == []
        await rig.skip(days=10)  # the new one (day 50) brings it
        assert rig.templates(CM) == ["due_date_chase"]
        await rig.skip(days=6)  # an overdue reminder (day 55)
        # Extended again while chasing: back to waiting; the next due date starts a second chase with
        # messages of its own (nothing is swallowed as "already sent").
        st = await h.query(SupplierSurveyWorkflow.status)
        ack = await h.execute_update(SupplierSurveyWorkflow.extend_deadline,
                                     ExtendDeadline(new_due_at=st.due_at + 10 * D, by="ana"))
        assert ack.state == SurveyState.awaiting_response
        await rig.skip(days=10)  # day 66: past the new due date (60) and its first overdue reminder (65)
        assert rig.templates(CM) == ["due_date_chase", "due_date_chase"]
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana"))
        await h.result()
    assert offsets(rig, h.id, "due_date_passed") == [50, 60]
    assert offsets(rig, h.id, "overdue_reminder_sent") == [55, 65]
    assert rig.templates(SUPPLIER).count("overdue_reminder") == 2
    assert offsets(rig, h.id, "reminder_sent") == [10, 20]
