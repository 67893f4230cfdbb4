"""Representative survey runs, each returning the IDs of the workflows it ran (survey first, then children).

tests/record_histories.py records their histories into tests/histories/; tests/test_replay.py replays
those files (and, live, the histories of fresh runs) against the current workflow code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Awaitable, Callable

from cmrt.builder import SCOPE_PRODUCT, high_risk_cmrt, invalid_cmrt, valid_builder
from models.enums import Decision, SurveyOutcome
from models.policy import CampaignPolicy
from models.survey import (
    ActionStatusReport,
    AddNote,
    ComplianceAction,
    ExtendDeadline,
    PlannedAction,
    ReplaceContact,
    SubmitCmrt,
    SubmitPlan,
    VerifyAction,
    VpDecision,
    Withdraw,
)
from tests.survey_harness import SurveyRig

D = timedelta(days=1)
SHORT = CampaignPolicy(reminder_offsets=[10 * D, 20 * D], response_due=30 * D, chase_reminder_every=5 * D,
                       grace_period=12 * D, correction_window=15 * D, correction_reminder_offsets=[4 * D, 9 * D],
                       max_correction_rounds=2, product_level_window=10 * D, cap_plan_window=10 * D,
                       cap_reminder_before_target=3 * D, cap_reminder_after_target_every=4 * D,
                       cap_overdue_escalation=10 * D, cap_review_every=5 * D, vp_reminder_every=3 * D,
                       vp_max_reminders=2)


def weak_cmrt() -> bytes:
    """Valid, but company questions D and G answered No: a weak program."""
    return valid_builder().company_answer("D", "No").company_answer("G", "No").to_bytes()


async def valid_after_correction(rig: SurveyRig) -> list[str]:
    """A reminder, an invalid file, a note, a pause and resume, a reminder now, then a valid but weak one."""
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(SHORT)
    await rig.skip(days=12)
    await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(invalid_cmrt())))
    await h.execute_update(SupplierSurveyWorkflow.add_note, AddNote(text="called Jane about D16", by="ana"))
    await h.execute_update(SupplierSurveyWorkflow.pause_reminders, ComplianceAction(by="ana"))
    await rig.skip(days=3)
    await h.execute_update(SupplierSurveyWorkflow.resume_reminders, ComplianceAction(by="ana"))
    await h.execute_update(SupplierSurveyWorkflow.remind_now, ComplianceAction(by="ana"))
    await rig.skip(days=5)
    v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(weak_cmrt())))
    assert v.verdict == "valid", v
    assert (await h.result()).outcome == SurveyOutcome.valid
    return [h.id]


async def non_responsive_suspended(rig: SurveyRig) -> list[str]:
    from workflows.escalation import EscalationWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(SHORT)
    await rig.skip(days=43)
    st = await h.query(SupplierSurveyWorkflow.status)
    await rig.skip(days=4)  # one VP reminder
    await rig.client.get_workflow_handle(st.open_escalation_id).execute_update(
        EscalationWorkflow.decide, VpDecision(decision=Decision.suspend, decided_by="vp@company.test", reason="no CMRT"))
    assert (await h.result()).outcome == SurveyOutcome.suspended
    return [h.id, st.open_escalation_id]


async def high_risk_cap_closed(rig: SurveyRig) -> list[str]:
    """High risk at company level, no product-level answer in time, a plan submitted, verified, closed."""
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(SHORT)
    await rig.skip(days=2)
    await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
    await rig.skip(days=11)  # the product-level window (10 days) passes
    st = await h.query(SupplierSurveyWorkflow.status)
    cap = rig.client.get_workflow_handle(st.open_cap_id)
    now = await rig.now()
    await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[
        PlannedAction(description="Drop the refinery", owner="Jane Doe", target_date=now + 8 * D)]))
    await rig.skip(days=6)  # the reminder 3 days before the target
    await cap.execute_update(CorrectiveActionWorkflow.report_action_status,
                             ActionStatusReport(number=1, status="reported_done"))
    await rig.skip(days=6)  # one review reminder to the compliance team
    await h.execute_update(SupplierSurveyWorkflow.verify_action, VerifyAction(number=1, verified_by="ana"))
    assert (await h.result()).outcome == SurveyOutcome.valid_with_cap
    return [h.id, st.open_cap_id]


async def invalid_vp_cap_overdue_disengaged(rig: SurveyRig) -> list[str]:
    """Invalid twice, escalated; the VP requires a plan; the plan is never sent; escalated again; disengaged."""
    from workflows.escalation import EscalationWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(SHORT)
    for problem in ("missing_q1", "malformed_email", "missing_smelters"):
        await rig.skip(days=1)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
            file_sha256=rig.store(invalid_cmrt(problem=problem))))
    st = await h.query(SupplierSurveyWorkflow.status)
    await h.execute_update(SupplierSurveyWorkflow.decide, VpDecision(
        decision=Decision.corrective_action, decided_by="vp@company.test", reason="one more chance"))
    await rig.skip(days=11)  # the plan window passes: overdue, escalated again
    st2 = await h.query(SupplierSurveyWorkflow.status)
    await rig.client.get_workflow_handle(st2.open_escalation_id).execute_update(
        EscalationWorkflow.decide, VpDecision(decision=Decision.disengage, decided_by="vp@company.test"))
    assert (await h.result()).outcome == SurveyOutcome.disengaged
    return [h.id, st.open_escalation_id, f"{h.id}/cap/1", st2.open_escalation_id]


async def bounce_then_new_contact_withdrawn(rig: SurveyRig) -> list[str]:
    from workflows.survey import SupplierSurveyWorkflow

    rig.smtp.refuse.add("supplier@acme.test")
    h = await rig.start(SHORT)
    await rig.skip(days=5)
    await h.execute_update(SupplierSurveyWorkflow.replace_contact, ReplaceContact(email="ken@acme.test", by="ana"))
    await rig.skip(days=11)
    await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="out of scope"))
    assert (await h.result()).outcome == SurveyOutcome.withdrawn
    rig.smtp.refuse.clear()
    return [h.id]


async def extended_correction_new_contact_product_risk(rig: SurveyRig) -> list[str]:
    """Release "one-truth": a correction round extended, the contact replaced without a bounce (the correction
    request goes to the new address), then a product-level declaration with a high-risk refinery: the plan."""
    from workflows.survey import SupplierSurveyWorkflow

    h = await rig.start(SHORT)
    await rig.skip(days=2)
    await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(invalid_cmrt())))
    await rig.skip(days=1)
    st = await h.query(SupplierSurveyWorkflow.status)
    await h.execute_update(SupplierSurveyWorkflow.extend_deadline, ExtendDeadline(
        new_due_at=st.answer_by + 5 * D, by="ana", reason="auditor away"))
    await h.execute_update(SupplierSurveyWorkflow.replace_contact, ReplaceContact(email="ken@acme.test", by="ana"))
    await rig.skip(days=5)  # a correction reminder, to the new contact
    v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(
        file_sha256=rig.store(high_risk_cmrt(scope=SCOPE_PRODUCT))))
    assert v.state.value == "corrective_action", v
    await rig.skip(days=1)
    await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="out of scope"))
    assert (await h.result()).outcome == SurveyOutcome.withdrawn
    return [h.id, f"{h.id}/cap/1"]


SCENARIOS: dict[str, Callable[[SurveyRig], Awaitable[list[str]]]] = {
    "valid_after_correction": valid_after_correction,
    "non_responsive_suspended": non_responsive_suspended,
    "high_risk_cap_closed": high_risk_cap_closed,
    "invalid_vp_cap_overdue_disengaged": invalid_vp_cap_overdue_disengaged,
    "bounce_then_new_contact_withdrawn": bounce_then_new_contact_withdrawn,
    "extended_correction_new_contact_product_risk": extended_correction_new_contact_product_risk,
}
