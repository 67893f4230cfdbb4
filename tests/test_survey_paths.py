"""The other paths: weak program guidance, review by hand, product-level answers, a refused plan, the VP's
corrective action through the survey, the status query on children."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.client import WorkflowUpdateFailedError

from cmrt.builder import DEFAULT_SMELTERS, SCOPE_PRODUCT, high_risk_cmrt, invalid_cmrt, valid_builder, valid_cmrt
from models.enums import Decision, SurveyOutcome, SurveyState
from models.survey import (
    ActionStatusReport,
    ManualReview,
    PlannedAction,
    SubmitCmrt,
    SubmitPlan,
    VerifyAction,
    VpDecision,
)
from models.tables import CorrectiveActionPlan, Escalation, Submission
from outreach.db import session_scope
from tests.survey_harness import COMPLIANCE, SUPPLIER, VP, dev_rig, rig, running  # noqa: F401 (fixtures)
from tests.survey_scenarios import SHORT, D, weak_cmrt


async def test_weak_program_gets_guidance_without_blocking(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(weak_cmrt())))
        assert (v.verdict, v.accepted, v.state) == ("valid", True, SurveyState.closed)
        assert (await h.result()).outcome == SurveyOutcome.valid
    assert rig.templates(SUPPLIER) == ["request", "weak_program_guidance", "accepted"]
    with session_scope(rig.engine) as s:
        assert s.get(Submission, f"{h.id}/submission/1").program_strength == "weak"


async def test_accept_by_hand_overrules_the_check(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(invalid_cmrt())))
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(SupplierSurveyWorkflow.accept_submission, ManualReview(
                submission_id="survey/x/submission/9", by="ana", reason="phone confirmation"))
        assert "latest submission" in str(err.value.cause)
        ack = await h.execute_update(SupplierSurveyWorkflow.accept_submission, ManualReview(
            submission_id=v.submission_id, by="ana", reason="contact email confirmed by phone"))
        assert ack.state == SurveyState.closed
        assert (await h.result()).outcome == SurveyOutcome.valid
    assert rig.templates(SUPPLIER) == ["request", "correction_request", "accepted"]
    with session_scope(rig.engine) as s:
        sub = s.get(Submission, v.submission_id)
        assert (sub.verdict, sub.manual_decision) == ("invalid", "accepted") and "ana" in sub.manual_reason
    kinds = [e.kind for e in rig.events(h.id)]
    assert "submission_accepted_by_hand" in kinds and kinds[-1] == "declaration_valid"


async def test_product_level_clears_the_risk(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
        assert v.state == SurveyState.product_level_requested and "product-level" in v.message
        # An invalid product-level file: findings back, still waiting for a good one.
        bad = valid_builder(scope=SCOPE_PRODUCT).company(contact_email=None).to_bytes()
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(bad),
                                                                             purpose="product_level"))
        assert (v.verdict, v.state) == ("invalid", SurveyState.product_level_requested) and v.findings
        clean = valid_builder(scope=SCOPE_PRODUCT, smelters=list(DEFAULT_SMELTERS)).to_bytes()
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(clean),
                                                                             purpose="product_level"))
        assert (v.verdict, v.state) == ("valid", SurveyState.closed)
        assert (await h.result()).outcome == SurveyOutcome.valid
    assert rig.templates(SUPPLIER) == ["request", "product_level_request", "accepted"]
    assert "high-risk" in rig.smtp.to(SUPPLIER)[1].subject


async def test_refused_plan_escalates_and_vp_waives(rig):
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.escalation import EscalationWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
        await rig.skip(days=11)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.state == SurveyState.corrective_action and st.next_step.startswith("corrective action plan")
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        now = await rig.now()
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[
                PlannedAction(description="x", owner="y", target_date=now - D)]))
        assert "in the past" in str(err.value.cause)
        await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[
            PlannedAction(description="Replace the refinery", owner="Jane", target_date=now + 20 * D)]))
        cap_status = await cap.query(CorrectiveActionWorkflow.status)
        assert cap_status.next_step == "reminder before target of action 1"
        await cap.execute_update(CorrectiveActionWorkflow.report_action_status, ActionStatusReport(
            number=1, status="refused", note="the refinery is our only source"))
        await rig.skip(hours=1)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.state == SurveyState.escalated
        esc = rig.client.get_workflow_handle(st.open_escalation_id)
        assert (await esc.query(EscalationWorkflow.status)).reason == "cap_refused"
        await esc.execute_update(EscalationWorkflow.decide, VpDecision(
            decision=Decision.waive, decided_by=VP, reason="sole source; revisit next year"))
        assert (await h.result()).outcome == SurveyOutcome.waived
    with session_scope(rig.engine) as s:
        plan = s.exec(select(CorrectiveActionPlan)).one()
        assert plan.state == "refused"
        esc_row = s.exec(select(Escalation)).one()
        assert (esc_row.reason, esc_row.decision) == ("cap_refused", "waive")
    assert "sole source" in rig.smtp.to(COMPLIANCE)[-1].text


async def test_vp_requires_a_plan_through_the_survey(rig):
    """`decide` sent to the survey is forwarded to the open escalation; the plan it opens closes valid_with_cap
    only on a valid declaration, so a non-responsive supplier keeps its outcome."""
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(days=43)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert (st.state, st.outcome) == (SurveyState.escalated, SurveyOutcome.non_responsive)
        ack = await h.execute_update(SupplierSurveyWorkflow.decide, VpDecision(
            decision=Decision.corrective_action, decided_by=VP, reason="commit to a date"))
        assert st.open_escalation_id in ack.message
        await rig.skip(hours=1)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.state == SurveyState.corrective_action
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        now = await rig.now()
        await cap.execute_update(CorrectiveActionWorkflow.submit_plan, SubmitPlan(actions=[
            PlannedAction(description="Send the CMRT", owner="Jane", target_date=now + 5 * D)]))
        await cap.execute_update(CorrectiveActionWorkflow.verify_action, VerifyAction(number=1, verified_by="ana"))
        result = await h.result()
    assert result.outcome == SurveyOutcome.non_responsive
    assert rig.templates(SUPPLIER)[-2:] == ["cap_request", "accepted"]
    assert rig.smtp.to(SUPPLIER)[-1].subject == "Corrective action plan closed"
    with session_scope(rig.engine) as s:
        assert s.exec(select(Escalation)).one().decision == "corrective_action"


async def test_late_answer_while_the_vp_decides_withdraws_the_escalation(rig):
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(days=43)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert (st.state, st.outcome) == (SurveyState.escalated, SurveyOutcome.non_responsive)
        v = await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(valid_cmrt())))
        assert (v.verdict, v.state) == ("valid", SurveyState.closed)
        assert (await h.result()).outcome == SurveyOutcome.valid
        esc = await rig.client.get_workflow_handle(st.open_escalation_id).describe()
        assert esc.status.name == "CANCELED"
    kinds = [e.kind for e in rig.events(h.id)]
    after = kinds[kinds.index("escalated"):]
    # The check of the file and the cancelled escalation's end are two things the workflow waits on at once:
    # either may be recorded first (a loaded machine shows both orders); the rest is in order.
    assert [k for k in after if k != "escalation_withdrawn"] == ["escalated", "submission_received",
                                                                  "submission_checked", "risk_review", "declaration_valid"]
    assert after.count("escalation_withdrawn") == 1
    assert after.index("escalation_withdrawn") > after.index("submission_received")
    assert rig.templates(SUPPLIER)[-1] == "accepted"
    assert rig.templates(VP) == ["escalation_to_vp"]
    with session_scope(rig.engine) as s:  # no longer on the VP's desk, and not lapsed either
        esc = s.exec(select(Escalation)).one()
        assert (esc.decision, esc.closed_as) == (None, "withdrawn")


async def test_withdrawn_with_an_open_plan_cancels_it(rig):
    from workflows.survey import SupplierSurveyWorkflow
    from models.survey import Withdraw

    async with running(rig):
        h = await rig.start(SHORT)
        await rig.skip(hours=2)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
        await rig.skip(days=11)
        st = await h.query(SupplierSurveyWorkflow.status)
        assert st.state == SurveyState.corrective_action
        await h.execute_update(SupplierSurveyWorkflow.withdraw, Withdraw(by="ana", reason="supplier sold"))
        assert (await h.result()).outcome == SurveyOutcome.withdrawn
        await rig.skip(hours=1)
        assert (await rig.client.get_workflow_handle(st.open_cap_id).describe()).status.name == "CANCELED"
    with session_scope(rig.engine) as s:
        assert s.exec(select(CorrectiveActionPlan)).one().state == "cancelled"


async def test_a_long_plan_continues_as_new_and_the_survey_still_gets_its_result(rig):
    """The plan child continues as new (carrying its actions and update IDs); its parent awaits the chain."""
    from workflows.corrective_action import CorrectiveActionWorkflow
    from workflows.survey import SupplierSurveyWorkflow

    async with running(rig):
        h = await rig.start(SHORT, continue_as_new_at_events=40)
        await rig.skip(hours=2)
        await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig.store(high_risk_cmrt())))
        await rig.skip(days=11)
        st = await h.query(SupplierSurveyWorkflow.status)
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        first_run = (await cap.describe()).run_id
        now = await rig.now()
        plan = SubmitPlan(actions=[PlannedAction(description=f"Action {i}", owner="Jane", target_date=now + (5 + i) * D)
                                   for i in range(1, 5)])
        await cap.execute_update(CorrectiveActionWorkflow.submit_plan, plan, id="plan-1")
        await rig.skip(days=10)  # reminders before and after four targets: the history passes 40 events
        cap = rig.client.get_workflow_handle(st.open_cap_id)
        assert (await cap.describe()).run_id != first_run
        again = await cap.execute_update(CorrectiveActionWorkflow.submit_plan, plan, id="plan-1")  # a duplicate
        assert [a.number for a in again.actions] == [1, 2, 3, 4]
        for n in range(1, 5):
            await cap.execute_update(CorrectiveActionWorkflow.verify_action, VerifyAction(number=n, verified_by="ana"))
        assert (await h.result()).outcome == SurveyOutcome.valid_with_cap
    reminders = [m.subject for m in rig.smtp.to(SUPPLIER) if m.template == "cap_reminder"]
    assert len(reminders) == len(set(reminders)) == 4  # one before each target, none twice across runs


async def test_a_correction_round_on_each_database(ts_env, smtp, any_db_url, settings_for):
    """The same lifecycle writes the same read model on SQLite and PostgreSQL (scorecards included)."""
    from outreach.db import make_engine
    from tests.survey_harness import SurveyRig
    from workflows.survey import SupplierSurveyWorkflow

    engine = make_engine(any_db_url)
    rig_ = SurveyRig(ts_env, smtp, engine, settings_for(smtp_port=smtp.port, db_url=any_db_url))
    try:
        async with running(rig_):
            h = await rig_.start(SHORT)
            await rig_.skip(days=12)
            await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig_.store(invalid_cmrt())))
            await rig_.skip(days=5)
            await h.execute_update(SupplierSurveyWorkflow.submit, SubmitCmrt(file_sha256=rig_.store(valid_cmrt())))
            assert (await h.result()).outcome == SurveyOutcome.valid
        assert rig_.templates(SUPPLIER) == ["request", "reminder", "correction_request", "correction_reminder",
                                            "accepted"]
        kinds = [e.kind for e in rig_.events(h.id)]
        assert kinds.count("submission_checked") == 2 and kinds[-1] == "declaration_valid"
        with session_scope(engine) as s:
            from models.tables import Survey

            row = s.get(Survey, h.id)
            assert (row.outcome, row.correction_round, row.reminders_sent) == ("valid", 1, 2)
            assert len(s.exec(select(Submission)).all()) == 2
    finally:
        await rig_.terminate_leftovers()
        engine.dispose()


async def test_an_escalation_terminated_by_hand_lapses_instead_of_failing_the_survey(dev_rig):
    """On the dev server: the time-skipping server does not tell a parent that its child was terminated."""
    import asyncio
    from datetime import timedelta

    from models.policy import CampaignPolicy
    from workflows.survey import SupplierSurveyWorkflow

    rig = dev_rig
    s = timedelta(seconds=1)
    policy = CampaignPolicy(reminder_offsets=[s], response_due=2 * s, chase_reminder_every=s, grace_period=2 * s)
    async with running(rig):
        h = await rig.start(policy, search_attributes=True)
        for _ in range(100):
            st = await h.query(SupplierSurveyWorkflow.status)
            if st.open_escalation_id:
                break
            await asyncio.sleep(0.2)
        await rig.client.get_workflow_handle(st.open_escalation_id).terminate("cleaned up by an operator")
        result = await h.result()
    assert result.outcome == SurveyOutcome.non_responsive
    assert [e.kind for e in rig.events(h.id)][-1] == "escalation_lapsed"
    with session_scope(rig.engine) as s:
        assert s.exec(select(Escalation)).one().closed_as == "lapsed"


@pytest.mark.parametrize("started_by_campaign", [True, False], ids=["by a campaign", "by hand"])
async def test_the_request_costs_one_workflow_task_and_upserts_only_what_changed(dev_rig, started_by_campaign):
    """On the dev server (search attributes registered): the request is one workflow task with three local
    activities (the survey row, the email, the next row with its scorecard event) and no activity task. A
    campaign sets the search attributes as it starts the survey, so the survey upserts only its new state."""
    import asyncio

    from temporalio.api.enums.v1 import EventType
    from temporalio.common import SearchAttributePair, TypedSearchAttributes

    from models.policy import CampaignPolicy
    from models.search_attributes import CAMPAIGN, STATE
    from models.search_attributes import SUPPLIER as SUPPLIER_ATTR
    from models.survey import survey_workflow_id
    from models.scorecards import Scorecard
    from tests.survey_harness import survey_input
    from workflows.survey import SupplierSurveyWorkflow

    rig = dev_rig
    inp = survey_input(rig.campaign_id, policy=CampaignPolicy.annual(), search_attributes=True)
    attrs = TypedSearchAttributes([SearchAttributePair(CAMPAIGN, rig.campaign_id), SearchAttributePair(
        SUPPLIER_ATTR, inp.supplier_id), SearchAttributePair(STATE, "requested")]) if started_by_campaign else None
    async with running(rig):
        h = await rig.client.start_workflow(SupplierSurveyWorkflow.run, inp, id=survey_workflow_id(inp.campaign_id, inp.supplier_id),
                                            task_queue=rig.settings.task_queue, search_attributes=attrs)
        rig.started.append(inp.survey_id)
        await rig.smtp.wait_for(1)
        for _ in range(100):
            if (await h.query(SupplierSurveyWorkflow.status)).state == SurveyState.awaiting_response:
                break
            await asyncio.sleep(0.1)
        events = [e async for e in h.fetch_history_events()]
        desc = await h.describe()
    types = [e.event_type for e in events]
    assert types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 1
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
    markers = [e.marker_recorded_event_attributes.marker_name for e in events
               if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert markers.count("core_local_activity") == 3
    assert markers.count("core_patch") == 1  # one release marker: each also upserts TemporalChangeVersion
    upserts = [sorted(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
               for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    ours = [u for u in upserts if u != ["TemporalChangeVersion"]]
    assert len(upserts) - len(ours) == 1
    assert len(ours) == (1 if started_by_campaign else 2)
    assert desc.typed_search_attributes.get(STATE) == "awaiting_response"
    assert desc.typed_search_attributes.get(CAMPAIGN) == rig.campaign_id
    assert rig.templates(SUPPLIER) == ["request"]
    assert [e.kind for e in rig.events(h.id)] == ["survey_started", "request_sent"]
    with session_scope(rig.engine) as s:
        card = s.exec(select(Scorecard).where(Scorecard.supplier_id == inp.supplier_id)).one()
        assert card.events_by_kind == {"request_sent": 1}
