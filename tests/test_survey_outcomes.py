"""One test per outcome: the emails (who, which template, how many, in which order), the timeline and the rows.

Time-skipping server, the real worker, a real SMTP sink, SQLite. The annual policy throughout.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from cmrt.builder import high_risk_cmrt, invalid_cmrt, valid_builder, valid_cmrt
from models.enums import Decision, SurveyOutcome, SurveyState
from models.policy import CampaignPolicy
from models.survey import (
    ActionStatusReport,
    PlannedAction,
    SubmitCmrt,
    SurveyResult,
    VerifyAction,
    VpDecision,
    Withdraw,
)
from models.tables import CorrectiveAction, CorrectiveActionPlan, Escalation, Finding, Submission, Supplier, Survey
from outreach.db import session_scope
from outreach.progress import campaign_progress
from tests.survey_harness import CM, COMPLIANCE, SUPPLIER, VP, rig, running  # noqa: F401 (rig is a fixture)

P = CampaignPolicy.annual()



def survey_row(rig, survey_id) -> Survey:
    with session_scope(rig.engine) as s:
        return s.get(Survey, survey_id)


async def test_valid_declaration_closes_valid(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        await rig.skip(days=3)
        sha = rig.store(valid_cmrt())
        verdict = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=sha, filename="acme.xlsx", submitted_by="jane@acme.test"))
        assert (verdict.verdict, verdict.accepted, verdict.state) == ("valid", True, SurveyState.closed)
        result: SurveyResult = await h.result()
    assert result.outcome == SurveyOutcome.valid
    assert rig.templates(SUPPLIER) == ["request", "accepted"]
    assert rig.templates(CM) == [] and rig.templates(VP) == []
    kinds = [e.kind for e in rig.events(h.id)]
    assert kinds == ["survey_started", "request_sent", "submission_received", "submission_checked", "risk_review",
                     "declaration_valid"]
    row = survey_row(rig, h.id)
    assert (row.state, row.outcome, row.reminders_sent) == ("closed", "valid", 0)
    assert row.program_strength == "strong" and row.last_submission_id == f"{h.id}/submission/1"
    with session_scope(rig.engine) as s:
        sub = s.get(Submission, f"{h.id}/submission/1")
        assert (sub.verdict, sub.file_sha256, sub.submitted_by) == ("valid", sha, "jane@acme.test")


async def test_non_responsive_reminds_chases_escalates_then_lapses(rig):
    async with running(rig):
        h = await rig.start()
        result: SurveyResult = await h.result()
    assert result.outcome == SurveyOutcome.non_responsive
    # 3 reminders before the due date; 4 overdue reminders inside the 30-day grace period (every 7 days).
    assert rig.templates(SUPPLIER) == ["request", "reminder", "reminder", "reminder"] + ["overdue_reminder"] * 4
    assert rig.templates(CM) == ["due_date_chase", "escalation_notice"]
    assert rig.templates(VP) == ["escalation_to_vp"] + ["vp_reminder"] * P.vp_max_reminders
    # The compliance team is copied on the chase and the escalation notice, never on the VP's decision link.
    assert rig.templates(COMPLIANCE) == ["due_date_chase", "escalation_notice", "decision_notice"]
    assert "/portal/" not in rig.smtp.to(CM)[0].html and "/decide/" not in rig.smtp.to(CM)[1].text
    subjects = [m.subject for m in rig.smtp.to(SUPPLIER)][1:4]
    assert subjects[0].startswith("Reminder:") and subjects[1].startswith("Second reminder")
    assert subjects[2].startswith("Final reminder")
    vp_mail = rig.smtp.to(VP)[0]
    assert "http://portal.test/decide/" in vp_mail.text and "125,000" in vp_mail.text
    events = rig.events(h.id)
    kinds = [e.kind for e in events]
    assert kinds[:5] == ["survey_started", "request_sent", "reminder_sent", "reminder_sent", "reminder_sent"]
    assert kinds[5:] == ["due_date_passed"] + ["overdue_reminder_sent"] * 4 + ["escalated", "escalation_lapsed"]
    row = survey_row(rig, h.id)
    assert (row.state, row.outcome, row.reminders_sent) == ("closed", "non_responsive", 7)
    with session_scope(rig.engine) as s:
        esc = s.exec(select(Escalation)).one()
        assert (esc.reason, esc.decision, esc.reminders_sent) == ("non_responsive", None, P.vp_max_reminders)
        assert esc.summary["supplier_name"] == "Acme Components Ltd." and esc.summary["annual_spend"] == 125000.0
        # Lapsed, not open: closed when the survey recorded the lapse.
        assert (esc.closed_as, esc.closed_at) == ("lapsed", events[-1].at)
    progress = campaign_progress(rig.engine, row.campaign_id)
    assert (progress.open_surveys, progress.open_escalations_count, progress.lapsed_escalations_count) == (0, 0, 1)
    assert progress.lapsed_escalations[0].outcome == "non_responsive"


async def test_invalid_uncorrected_after_max_rounds(rig):
    from workflows.survey import SupplierSurveyWorkflow

    bad = [invalid_cmrt(problem=p) for p in ("missing_contact_email", "malformed_email", "missing_q1", "missing_smelters")]
    async with running(rig):
        h = await rig.start()
        for i, data in enumerate(bad):
            await rig.skip(days=2)
            v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(data)))
            assert v.verdict == "invalid" and not v.accepted and v.findings
            assert all(f.sheet for f in v.findings if f.severity == "error")
            if i < P.max_correction_rounds:
                assert (v.state, v.correction_round) == (SurveyState.correction_requested, i + 1)
        assert v.state == SurveyState.escalated
        result = await h.result()
    assert result.outcome == SurveyOutcome.invalid_uncorrected and result.correction_rounds == 3
    assert rig.templates(SUPPLIER) == ["request"] + ["correction_request"] * 3
    corr = rig.smtp.to(SUPPLIER)[1]
    assert "Declaration" in corr.text and "D16" in corr.text  # the finding's sheet and cell
    assert rig.templates(VP)[0] == "escalation_to_vp"
    row = survey_row(rig, h.id)
    assert (row.outcome, row.correction_round) == ("invalid_uncorrected", 3)
    with session_scope(rig.engine) as s:
        assert len(s.exec(select(Submission)).all()) == 4
        assert s.exec(select(Finding).where(Finding.submission_id == f"{h.id}/submission/1")).first().cell == "D16"


async def _escalate_non_responsive(rig, h):
    """Skip to the escalation (due + grace) and return the open escalation's ID."""
    from workflows.survey import SupplierSurveyWorkflow

    await rig.skip(days=(P.response_due + P.grace_period).days + 1)
    st = await h.query(SupplierSurveyWorkflow.status)
    assert st.state == SurveyState.escalated
    return st.open_escalation_id


@pytest.mark.parametrize("decision,outcome,status", [
    (Decision.suspend, SurveyOutcome.suspended, "suspended"),
    (Decision.disengage, SurveyOutcome.disengaged, "disengaged"),
    (Decision.waive, SurveyOutcome.waived, "active"),
])
async def test_vp_decision_sets_outcome(rig, decision, outcome, status):
    from workflows.escalation import EscalationWorkflow

    async with running(rig):
        h = await rig.start()
        esc_id = await _escalate_non_responsive(rig, h)
        esc = rig.client.get_workflow_handle(esc_id)
        await esc.execute_update(EscalationWorkflow.decide, VpDecision(
            decision=decision, decided_by=VP, reason="no CMRT after every reminder"))
        # A second decision is refused: the first one stands.
        with pytest.raises(Exception) as err:
            await esc.execute_update(EscalationWorkflow.decide, VpDecision(decision=Decision.waive, decided_by=VP))
        assert "already decided" in str(err.value.__cause__ or err.value)
        result = await h.result()
    assert result.outcome == outcome
    assert rig.templates(COMPLIANCE)[-1] == "decision_notice"
    assert rig.templates(SUPPLIER)[-1] == "decision_notice"
    notice = rig.smtp.to(SUPPLIER)[-1]
    assert "has decided to" in notice.text
    with session_scope(rig.engine) as s:
        esc_row = s.get(Escalation, esc_id)
        assert (esc_row.decision, esc_row.decided_by) == (decision.value, VP)
        assert esc_row.decided_at is not None and esc_row.decision_reason == "no CMRT after every reminder"
        assert s.get(Supplier, "S-100").status == status
    assert [e.kind for e in rig.events(h.id)][-1] == "vp_decided"


async def test_withdrawn_stops_everything(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        await rig.skip(days=20)  # one reminder out
        ack = await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="not a 3TG supplier"))
        assert ack.state == SurveyState.closed
        result = await h.result()
    assert result.outcome == SurveyOutcome.withdrawn
    assert rig.templates(SUPPLIER) == ["request", "reminder", "withdrawn"]
    events = rig.events(h.id)
    assert (events[-1].kind, events[-1].actor, events[-1].reason) == ("withdrawn", "ana", "not a 3TG supplier")
    assert survey_row(rig, h.id).outcome == "withdrawn"


async def test_high_risk_product_level_then_cap_closed_valid_with_cap(rig):
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        await rig.skip(days=5)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
        assert (v.verdict, v.state) == ("valid", SurveyState.product_level_requested)
        # The product-level CMRT still lists the high-risk refinery: risk confirmed, a plan is required.
        from cmrt.builder import DEFAULT_SMELTERS, SCOPE_PRODUCT

        product = valid_builder(smelters=list(DEFAULT_SMELTERS) + [{"metal": "Gold", "lookup_name": "African Gold Refinery"}],
                                scope=SCOPE_PRODUCT).answer("Q3", "Gold", "Yes").answer("Q4", "Gold", "Yes").to_bytes()
        await rig.skip(days=3)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(product), purpose="product_level"))
        assert v.state == SurveyState.corrective_action
        st = await h.query(SupplierSurveyWorkflow.status)
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        await rig.skip(days=2)
        now = await rig.now()
        await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlanFor(now))
        await rig.skip(days=40)  # action 1: a reminder 7 days before its target, one overdue reminder 7 days after
        await cap.execute_update(CorrectiveActionWorkflow.report_action_status, ActionStatusReport(
            number=1, status="reported_done", note="refinery removed from the BOM"))
        await cap.execute_update(CorrectiveActionWorkflow.verify_action, VerifyAction(number=1, verified_by="ana"))
        await cap.execute_update(CorrectiveActionWorkflow.report_action_status, ActionStatusReport(
            number=2, status="reported_done"))
        # Verified through the survey: forwarded to the plan.
        await h.execute_update(SupplierSurveyWorkflow.verify_action, VerifyAction(number=2, verified_by="ana"))
        result = await h.result()
    assert result.outcome == SurveyOutcome.valid_with_cap
    assert rig.templates(SUPPLIER) == ["request", "product_level_request", "cap_request", "cap_reminder",
                                       "cap_overdue", "accepted"]
    assert "corrective action plan is closed" in rig.smtp.to(SUPPLIER)[-1].text
    assert "Action 1" in rig.smtp.to(SUPPLIER)[3].subject
    with session_scope(rig.engine) as s:
        plan = s.get(CorrectiveActionPlan, st.open_cap_id)
        assert (plan.state, plan.reason) == ("closed", "high_risk_confirmed") and plan.closed_at
        actions = s.exec(select(CorrectiveAction).order_by(CorrectiveAction.number)).all()
        assert [(a.number, a.status, a.verified_by) for a in actions] == [(1, "verified", "ana"), (2, "verified", "ana")]
    kinds = [e.kind for e in rig.events(h.id)]
    assert "product_level_requested" in kinds and kinds[-2:] == ["corrective_action_opened", "corrective_action_closed"]


def SubmitPlanFor(now):
    from models.survey import SubmitPlan

    return SubmitPlan(submitted_by="jane@acme.test", actions=[
        PlannedAction(description="Remove African Gold Refinery from the gold supply", owner="Jane Doe",
                      target_date=now + timedelta(days=30)),
        PlannedAction(description="Ask the refinery to enrol in RMAP", owner="Raj Patel",
                      target_date=now + timedelta(days=60)),
    ])


async def _plan_after_high_risk(rig, h):
    """A valid company-level CMRT with a high-risk refinery, then a product-level one that still lists it:
    the risk is confirmed and a corrective action plan is opened."""
    from cmrt.builder import DEFAULT_SMELTERS, SCOPE_PRODUCT
    from workflows.survey import SupplierSurveyWorkflow

    await rig.skip(days=5)
    await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
    product = valid_builder(smelters=list(DEFAULT_SMELTERS) + [{"metal": "Gold", "lookup_name": "African Gold Refinery"}],
                            scope=SCOPE_PRODUCT).answer("Q3", "Gold", "Yes").answer("Q4", "Gold", "Yes").to_bytes()
    v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(product),
                                                                         purpose="product_level"))
    assert v.state == SurveyState.corrective_action


async def test_an_answering_supplier_whose_plan_went_overdue_is_not_called_non_responsive(rig):
    """It sent valid CMRTs: escalated for its overdue plan, it would end "Corrective action not completed"
    unless the VP decides otherwise, and that is what it ends as when the VP lets the escalation lapse."""
    from outreach.wording import outcome_words
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        await _plan_after_high_risk(rig, h)
        for _ in range(40):  # the plan is never sent: overdue, then escalated to the VP
            await rig.skip(days=7)
            st = await h.query(SupplierSurveyWorkflow.status)
            if st.state == SurveyState.escalated:
                break
        assert st.state == SurveyState.escalated
        assert st.outcome == SurveyOutcome.cap_not_completed
        row = survey_row(rig, h.id)
        assert outcome_words(row.outcome, row.state) == "Corrective action not completed (pending VP decision)"
        result = await h.result()  # the VP never decides: the escalation lapses
    assert result.outcome == SurveyOutcome.cap_not_completed
    assert outcome_words(survey_row(rig, h.id).outcome, "closed") == "Corrective action not completed"
    assert "escalated" in [e.kind for e in rig.events(h.id)]


async def test_after_the_vp_requires_a_plan_no_earlier_outcome_is_stated(rig):
    from workflows.escalation import EscalationWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start()
        esc_id = await _escalate_non_responsive(rig, h)
        assert (await h.query(SupplierSurveyWorkflow.status)).outcome == SurveyOutcome.non_responsive
        await rig.client.get_workflow_handle(esc_id).execute_update(EscalationWorkflow.decide, VpDecision(
            decision=Decision.corrective_action, decided_by=VP, reason="one more chance"))
        for _ in range(20):
            st = await h.query(SupplierSurveyWorkflow.status)
            if st.state == SurveyState.corrective_action:
                break
            await rig.skip(hours=1)
        assert st.state == SurveyState.corrective_action and st.outcome is None
        assert survey_row(rig, h.id).outcome is None
